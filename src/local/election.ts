import { type Socket, connect } from 'node:net'
import { ClassicLevel } from 'classic-level'
import { CODES, createError } from '../errors.js'
import type { Route } from './route.js'
import type { SocketPaths } from './socket-path.js'

/** Between attempts to reach a leader while the lock is held. */
const LEADER_RETRY_MS = 50

export interface ElectionOptions {
  /** The data directory, absolute. */
  readonly location: string
  readonly paths: SocketPaths
  /**
   * How long the search may go on without a leader socket answering: while the lock is held by
   * something that serves none, or, for a process that may not lead, at all.
   */
  readonly lockWaitMs: number
  /**
   * Whether this process may take the lock and lead. One that may not only ever follows a
   * leader: it never opens the database itself, so it never replicates or holds the lock.
   */
  readonly mayLead: boolean
  /** Leads with `root`, whose lock this process now holds; `stepDown` ends it. */
  readonly lead: (root: ClassicLevel<Buffer, Buffer>, stepDown: () => void) => Promise<Route>
  /** Follows the leader over `socket`, just connected; `onLost` is called once it closes. */
  readonly follow: (socket: Socket, onLost: () => void) => Route
}

export interface ElectionHooks {
  /** The process can reach its data again, as leader or guest. */
  readonly route: (route: Route) => void
  /** The current route is gone; another is being found. */
  readonly lost: (route: Route) => void
  /** No route can be found: the lock is held by something that is not a leader, or storage failed. */
  readonly fatal: (error: Error) => void
}

/**
 * Finds this process a way to its host's data, again whenever the way is lost (SPEC §12.1):
 * follow the leader through its socket, or take the LevelDB lock and lead. One search at a
 * time; `stop` ends the search and the current route.
 */
export class Election {
  readonly #options: ElectionOptions
  readonly #hooks: ElectionHooks
  #route: Route | null = null
  #searching: Promise<void> | null = null
  #closing: Promise<void> | null = null
  /** Bumped by `stop`: a search that started before is stale and undoes what it finds. */
  #generation = 0
  #stopped = false
  /** Since when no leader socket has answered, this search (monotonic ms). */
  #waitingSince: number | null = null
  /** A leader just went away: its successor is probably up already, so look at once. */
  #lookAtOnce = false

  constructor (options: ElectionOptions, hooks: ElectionHooks) {
    this.#options = options
    this.#hooks = hooks
  }

  start (): void {
    if (this.#stopped || this.#route !== null || this.#searching !== null || this.#closing !== null) return
    const generation = this.#generation
    const search = this.#search(generation).catch((error: unknown) => {
      if (generation === this.#generation) this.#hooks.fatal(error instanceof Error ? error : new Error(String(error)))
    }).finally(() => {
      if (this.#searching === search) this.#searching = null
    })
    this.#searching = search
  }

  /** `route` is gone (its connection closed, or its leader steps down): end it, find another. */
  drop (route: Route): void {
    if (route !== this.#route) return
    this.#route = null
    if (route.kind === 'guest') this.#lookAtOnce = true
    this.#hooks.lost(route)
    const closing = route.close().catch(() => {}).finally(() => {
      if (this.#closing === closing) this.#closing = null
      this.start()
    })
    this.#closing = closing
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#generation++
    const route = this.#route
    this.#route = null
    await Promise.all([route?.close(), this.#closing, this.#searching])
  }

  async #search (generation: number): Promise<void> {
    for (;;) {
      const socket = await connectTo(this.#options.paths.leader)
      if (generation !== this.#generation) {
        socket?.destroy()
        return
      }
      if (socket !== null) {
        this.#lookAtOnce = false
        let route: Route | null = null
        route = this.#options.follow(socket, () => { if (route !== null) this.drop(route) })
        this.#use(route)
        return
      }
      const root = this.#options.mayLead ? await lock(this.#options.location) : null
      if (generation !== this.#generation) {
        await root?.close()
        return
      }
      if (root !== null) {
        await this.#lead(root, generation)
        return
      }
      const now = performance.now()
      this.#waitingSince ??= now
      if (now - this.#waitingSince > this.#options.lockWaitMs) throw this.#notFound()
      if (!this.#lookAtOnce) await delay(LEADER_RETRY_MS)
      this.#lookAtOnce = false
    }
  }

  async #lead (root: ClassicLevel<Buffer, Buffer>, generation: number): Promise<void> {
    let route: Route | null = null
    let steppedDown = false
    const stepDown = (): void => {
      if (route === null) steppedDown = true
      else this.drop(route)
    }
    route = await this.#options.lead(root, stepDown)
    if (generation !== this.#generation) {
      await route.close()
      return
    }
    this.#use(route)
    if (steppedDown) this.drop(route)
  }

  /** Why the search gave up: the lock is held by something else, or no leader came. */
  #notFound (): Error {
    if (this.#options.mayLead) return createError('Database is locked by a process that serves no quorum-level socket', CODES.LOCKED)
    return createError(`No quorum-level host serves ${this.#options.location} (waited ${this.#options.lockWaitMs} ms for its leader; this process does not lead): start one, e.g. with \`quorum-level serve\``, CODES.NOT_READY, { transient: true, expected: true })
  }

  #use (route: Route): void {
    // Found: a later search, after this route is lost, waits its own full time.
    this.#waitingSince = null
    this.#route = route
    this.#hooks.route(route)
  }
}

/** A connection to the leader socket, or null when nobody listens there. */
function connectTo (path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.unref()
    const onError = (): void => {
      socket.destroy()
      resolve(null)
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      socket.off('error', onError)
      resolve(socket)
    })
  })
}

/** The database, opened with its lock held here; null while another process holds the lock. */
async function lock (location: string): Promise<ClassicLevel<Buffer, Buffer> | null> {
  const root = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  try {
    await root.open()
    return root
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') return null
    throw error
  }
}

function delay (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
