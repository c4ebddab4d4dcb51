import { readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir, uptime } from 'node:os'
import { join } from 'node:path'
import type { DurableState } from '../core/index.js'
import { type DurabilityWitness, type Progress, holdsNoted } from './durability.js'

export type { DurabilityWitness, Progress } from './durability.js'

interface Note extends Progress {
  readonly hostId: string
  /** Which boot of the operating system wrote it: a power loss always comes with a reboot. */
  readonly boot: string
}

/**
 * The witness in Node: a small file per host identity in the temporary directory, outside the
 * data directory, so that a copy of the data directory does not carry it along. Written
 * without fsync: it only has to survive what the page cache survives (a killed process),
 * and after a reboot (when an unsynced database may have lost writes) its boot id no longer
 * matches, whatever it says. Written at most once a second, and at close: a note that lags
 * only makes a restore of a copy taken in that second go unnoticed, and a copy is taken of a
 * stopped host (LevelDB's files are not consistent while it runs).
 */
export class FileWitness implements DurabilityWitness {
  readonly #directory: string
  readonly #pending = new Map<string, Note>()
  #writing: Promise<void> = Promise.resolve()
  #timer: ReturnType<typeof setTimeout> | null = null

  constructor (directory = join(tmpdir(), 'quorum-level-witness')) {
    this.#directory = directory
  }

  async check (hostId: string, durable: Omit<DurableState, 'intact'>, synced: boolean): Promise<boolean> {
    await this.flush()
    const note = await this.#read(hostId)
    if (note !== null && (note.hostId !== hostId || (!synced && note.boot !== bootId()))) return false
    return holdsNoted(hostId, durable, note)
  }

  note (hostId: string, progress: Progress): void {
    this.#pending.set(hostId, { hostId, boot: bootId(), ...progress })
    if (this.#timer !== null) return
    this.#timer = setTimeout(() => { this.#write() }, NOTE_INTERVAL_MS)
    // A note never holds the process open: one not written only makes the next start ask.
    this.#timer.unref?.()
  }

  flush (): Promise<void> {
    this.#write()
    return this.#writing
  }

  /** One write in flight at a time; notes taken meanwhile are merged into the next. */
  #write (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#pending.size === 0) return
    const notes = [...this.#pending.values()]
    this.#pending.clear()
    this.#writing = this.#writing.then(async () => {
      await mkdir(this.#directory, { recursive: true })
      await Promise.all(notes.map((note) => writeFile(this.#path(note.hostId), JSON.stringify(note))))
    }).catch(() => {
      // An unwritten note only makes the next start ask its peers first.
    })
  }

  #path (hostId: string): string {
    // Host ids are 32 hex characters (storage/store.ts); anything else is kept out of the path.
    return join(this.#directory, `${hostId.replace(/[^0-9a-z]/gi, '_')}.json`)
  }

  async #read (hostId: string): Promise<Note | null> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.#path(hostId), 'utf8'))
      if (typeof parsed !== 'object' || parsed === null) return null
      const { hostId: id, boot, reserved, decided } = parsed as Record<string, unknown>
      if (typeof id !== 'string' || typeof boot !== 'string' || typeof reserved !== 'number' || typeof decided !== 'number') return null
      return { hostId: id, boot, reserved, decided }
    } catch {
      return null
    }
  }
}

/** The longest a note waits before it is written. */
const NOTE_INTERVAL_MS = 1_000

let boot: string | undefined

/** An id of the operating system's current boot: Linux's own, else the boot time to the minute. */
function bootId (): string {
  if (boot !== undefined) return boot
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    // A clock step may change it: then the next start merely asks its peers first.
    boot = String(Math.round((Date.now() - uptime() * 1000) / 60_000))
  }
  return boot
}
