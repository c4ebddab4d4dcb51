import type { DurableState } from '../core/index.js'
import { type DurabilityWitness, type Progress, holdsNoted } from './durability.js'

/** The part of the Web Storage API a witness uses: `localStorage` in a page. */
export interface NoteStorage {
  getItem: (key: string) => string | null
  setItem: (key: string, value: string) => void
}

/**
 * The witness in a browser: a note per host identity in Web Storage (`localStorage`), beside
 * the IndexedDB database but written apart from it, so that a database that lost its last
 * writes, or came back from a copy, is caught at the next start (SPEC §5.4). A page has no
 * boot to compare: a note that outlives the database's writes is what it checks.
 */
export class StorageWitness implements DurabilityWitness {
  readonly #storage: NoteStorage | null

  constructor (storage: NoteStorage | null = (globalThis as { localStorage?: NoteStorage }).localStorage ?? null) {
    this.#storage = storage
  }

  async check (hostId: string, durable: Omit<DurableState, 'intact'>): Promise<boolean> {
    return holdsNoted(hostId, durable, this.#read(hostId))
  }

  note (hostId: string, progress: Progress): void {
    try {
      this.#storage?.setItem(key(hostId), JSON.stringify({ reserved: progress.reserved, decided: progress.decided }))
    } catch {
      // Storage full or refused: the next start merely asks its peers first.
    }
  }

  async flush (): Promise<void> {}

  #read (hostId: string): Progress | null {
    try {
      const parsed: unknown = JSON.parse(this.#storage?.getItem(key(hostId)) ?? 'null')
      if (typeof parsed !== 'object' || parsed === null) return null
      const { reserved, decided } = parsed as Record<string, unknown>
      if (typeof reserved !== 'number' || typeof decided !== 'number') return null
      return { reserved, decided }
    } catch {
      return null
    }
  }
}

function key (hostId: string): string {
  return `quorum-level-witness:${hostId}`
}
