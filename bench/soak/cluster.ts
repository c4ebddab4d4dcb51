/**
 * The soak's cluster: hosts of QuorumLevel processes on 127.0.0.1, each host's database in a
 * directory of its own, every host reaching the others through cut-able proxies. It starts,
 * kills and closes processes, one life ("incarnation") at a time, and notices a process that
 * ends without being asked to.
 */
import { lstat, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Child } from '../../src/cli/child.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { ProxyMesh } from '../../test/helpers/cut-proxy.js'
import type { SoakCommand, SoakCounts, SoakLoad, SoakReply } from './protocol.js'

const SCRIPT = fileURLToPath(new URL('./soak-process.js', import.meta.url))
/** How long a process may take to open: a host restarted may first wait for its peers (SPEC §2.6). */
const READY_MS = 30_000
/** How long a graceful close may take (pending writes settle within writeTimeout) before SIGKILL. */
const CLOSE_MS = 15_000

type SoakProcess = Child<SoakCommand, SoakReply>

/** One life of one process: from its start to its exit. */
export interface Incarnation {
  /** `h1/p0`: host 1, its process 0. */
  readonly name: string
  readonly host: number
  readonly number: number
  readonly child: SoakProcess
  ready: boolean
  /** Set before the soak ends it: an exit without it is a crash. */
  ending: boolean
  exited: boolean
  /** Its counts, from its last sample (or its drain). */
  counts: SoakCounts | null
  /** Its change feed's last position, from its last sample: where its successor resumes. */
  position: string | null
  /** Replies already looked through for failures. */
  seen: number
}

interface ClusterSettings {
  readonly hosts: number
  readonly processesPerHost: number
  readonly options: Record<string, unknown>
  readonly load: SoakLoad
  /** Whether process `index` of each host follows the change feed. */
  readonly follows: (index: number) => boolean
  /** Called when a process ends without being asked to, or cannot open. */
  readonly onIncident: (incarnation: Incarnation, what: string) => void
}

export class SoakCluster {
  readonly #settings: ClusterSettings
  readonly #root: string
  readonly #ports: number[]
  readonly #mesh: ProxyMesh
  /** Per host, per process slot: its current life, or null while it is down. */
  readonly #slots: Array<Array<Incarnation | null>>
  readonly #all: Incarnation[] = []
  /** Once the load began, a process offers it as soon as it opens. */
  #loading = false

  private constructor (settings: ClusterSettings, root: string, ports: number[], mesh: ProxyMesh) {
    this.#settings = settings
    this.#root = root
    this.#ports = ports
    this.#mesh = mesh
    this.#slots = Array.from({ length: settings.hosts }, () => Array.from({ length: settings.processesPerHost }, () => null))
  }

  /** Free ports, proxies and directories under `root`; no process yet. */
  static async create (settings: ClusterSettings, root: string): Promise<SoakCluster> {
    const ports = await freePorts(settings.hosts)
    const mesh = await ProxyMesh.start(ports)
    const cluster = new SoakCluster(settings, root, ports, mesh)
    for (let host = 0; host < settings.hosts; host++) await mkdir(cluster.location(host), { recursive: true })
    return cluster
  }

  location (host: number): string {
    return join(this.#root, `h${host}`)
  }

  /** Every life so far, in the order they began. */
  get incarnations (): readonly Incarnation[] {
    return this.#all
  }

  /** The live, opened processes of `host` (every host's without one). */
  live (host?: number): Incarnation[] {
    return this.#slots.flatMap((slots, h) => host === undefined || h === host ? slots : []).filter((i): i is Incarnation => i !== null && i.ready && !i.exited)
  }

  /**
   * Starts process `index` of `host` and waits until it opened; resolves false (and reports
   * an incident) if it could not. Its feed, if it has one, resumes where its predecessor's was.
   */
  async start (host: number, index: number): Promise<boolean> {
    const slots = this.#slots[host] as Array<Incarnation | null>
    const before = slots[index] ?? null
    if (before !== null && !before.exited) throw new Error(`h${host}/p${index} is still running`)
    const follow = this.#settings.follows(index) ? before?.position ?? 'now' : null
    const setup = { location: this.location(host), options: this.#optionsOf(host), load: this.#settings.load, follow }
    const name = `h${host}/p${index}`
    // --expose-gc: each sample is taken after a full collection (soak-process.ts).
    const child = new Child<SoakCommand, SoakReply>(SCRIPT, [JSON.stringify(setup)], ['--expose-gc'])
    const incarnation: Incarnation = { name, host, number: this.#all.filter((i) => i.name === name).length + 1, child, ready: false, ending: false, exited: false, counts: null, position: before?.position ?? null, seen: 0 }
    this.#all.push(incarnation)
    slots[index] = incarnation
    child.exited().then(() => {
      incarnation.exited = true
      if (!incarnation.ending) this.#settings.onIncident(incarnation, 'exited without being asked to')
    }, () => {})
    try {
      const reply = await child.waitFor(['ready', 'open-failed'], undefined, READY_MS)
      if (reply.type === 'open-failed') throw new Error(reply.message)
      incarnation.ready = true
      if (this.#loading) child.send({ type: 'load' })
      return true
    } catch (error) {
      incarnation.ending = true
      child.kill()
      this.#settings.onIncident(incarnation, `did not open: ${(error as Error).message}`)
      return false
    }
  }

  /** Every live process starts its load (and its feed), and every process started from now on does at once. */
  startLoad (): void {
    this.#loading = true
    for (const incarnation of this.live()) incarnation.child.send({ type: 'load' })
  }

  /** Ends `incarnation` with SIGKILL, as a crash would, and waits for its exit. */
  async kill (incarnation: Incarnation): Promise<void> {
    incarnation.ending = true
    incarnation.child.kill()
    await incarnation.child.exited()
    incarnation.exited = true
  }

  /** Asks `incarnation` to close its database and exit; SIGKILL if it takes too long. */
  async close (incarnation: Incarnation): Promise<void> {
    incarnation.ending = true
    await incarnation.child.stop({ type: 'close' }, CLOSE_MS)
    incarnation.exited = true
  }

  /** The slot `incarnation` lives in. */
  indexOf (incarnation: Incarnation): number {
    return (this.#slots[incarnation.host] as Array<Incarnation | null>).indexOf(incarnation)
  }

  /** Cuts (or heals) every link of `host` to the others. */
  isolate (host: number, cut: boolean): void {
    this.#mesh.isolate(host, cut)
  }

  /**
   * The size on disk of `host`'s database: the sum of its files' sizes. LevelDB deletes files
   * as it compacts: one gone between the listing and its stat counts as nothing.
   */
  async databaseBytes (host: number): Promise<number> {
    const sizeOf = async (path: string): Promise<number> => {
      try {
        const stat = await lstat(path)
        if (stat.isFile()) return stat.size
        if (!stat.isDirectory()) return 0
        let total = 0
        for (const entry of await readdir(path)) total += await sizeOf(join(path, entry))
        return total
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') return 0
        throw error
      }
    }
    return await sizeOf(this.location(host))
  }

  /** Ends every process still running (SIGKILL) and closes the proxies; the caller removes `root`. */
  async destroy (): Promise<void> {
    await Promise.all(this.#all.filter((i) => !i.exited).map(async (i) => { await this.kill(i) }))
    await this.#mesh.close()
  }

  #optionsOf (host: number): Record<string, unknown> {
    return { ...this.#settings.options, host: '127.0.0.1', port: this.#ports[host], peers: this.#mesh.peersOf(host) }
  }
}
