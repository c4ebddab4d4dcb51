import { EventEmitter } from 'node:events'
import { resolve as resolvePath } from 'node:path'
import { AbstractLevel, type AbstractDatabaseOptions, type AbstractOpenOptions } from 'abstract-level'
import { type Op, assert } from './core/index.js'
import { CODES, createError } from './errors.js'
import { GuestRoute } from './local/guest-route.js'
import { Leadership } from './local/leadership.js'
import { type IteratorOwner, type IteratorRange, ResumableIterator } from './local/resumable-iterator.js'
import { BYTES } from './local/route.js'
import { Session } from './local/session.js'
import { socketPaths } from './local/socket-path.js'
import type { BatchOp } from './local/write-ids.js'
import type { ReplicatorOptions } from './replicator/options.js'
import { type AnnouncingDatabase, announce } from './replicator/peer-events.js'
import { isStrong } from './replicator/wrap-db.js'
import ModuleError from 'module-error'
import { ChangeFeed, type ChangesOptions, feedTarget } from './feed/change-feed.js'
import { type FeedReply, type FeedSource, lastPositionOf } from './feed/feed-source.js'
import type { Route } from './local/route.js'
import { FEED_SOURCE } from './feed/feed-source-option.js'
import type { ReplicatorStatus } from './replicator/status.js'
import type { MembersChange, MembershipReport } from './replicator/members.js'
import { log } from './replicator/logger.js'

/** Options of `new QuorumLevel(location, options)`: abstract-level's, the Replicator's, and these. */
export interface QuorumLevelOptions<K = string, V = string> extends AbstractDatabaseOptions<K, V>, ReplicatorOptions {
  /** Retry operations across a local failover instead of failing them. @default true */
  retry?: boolean
  /**
   * Milliseconds `open()` waits while the database is locked by something that serves no
   * quorum-level socket, before it fails with `LEVEL_LOCKED`; with `lead: false`, how long it
   * waits for a leader at all (at `open()`, and after its leader goes away). @default 10000
   */
  lockWait?: number
  /**
   * Whether this process may become its host's leader. With `false` it only ever reaches the
   * database through a leader's socket: it never takes the LevelDB lock, so it never opens the
   * database itself nor replicates (a client such as the `quorum-level` command). With no
   * leader within `lockWait`, `open()` fails (`LEVEL_NOT_READY` as the cause); when its leader
   * goes away it waits as long for the next one, then fails its pending operations and closes.
   * @default true
   */
  lead?: boolean
}

type ReadOptions = { consistency?: unknown } | undefined

/** `db.cluster`: the Replicator's events in every process of the host, its status, and its membership. */
export class ClusterEmitter extends EventEmitter {
  readonly #status: () => Promise<ReplicatorStatus>
  readonly #change: (change: MembersChange) => Promise<MembershipReport>

  constructor (status: () => Promise<ReplicatorStatus>, change: (change: MembersChange) => Promise<MembershipReport>) {
    super()
    this.#status = status
    this.#change = change
  }

  /** The host's replication state, from its leader (README, Status). */
  async status (): Promise<ReplicatorStatus> {
    return await this.#status()
  }

  /** The membership in force on this host (README, Membership). */
  async members (): Promise<MembershipReport> {
    return (await this.#status()).membership
  }

  /** Adds or removes one member, and or sets `minConsensus`, for the whole cluster, through the host's leader (README, Membership). */
  async changeMembers (change: MembersChange): Promise<MembershipReport> {
    return await this.#change(change)
  }
}
type Callback<T = void> = (error?: Error | null, result?: T) => void
type EncodedOp = { type: 'put', key: Buffer, value: Buffer } | { type: 'del', key: Buffer }

/**
 * One logical database for any number of processes on a host and any number of hosts: the
 * first process to take the LevelDB lock is the host's leader, reads and writes it directly,
 * and serves the others over a unix socket (many-level); its Replicator commits every write
 * with the cluster's peers (SPEC §12).
 */
export class QuorumLevel<K = string, V = string> extends AbstractLevel<Buffer, K, V> {
  /** Replicator events, and the host's replication state, in every process of the host. */
  readonly cluster: ClusterEmitter = new ClusterEmitter(async () => await this.#status(), async (change) => await this.#changeMembers(change))
  readonly #location: string
  readonly #options: QuorumLevelOptions<K, V>
  #session: Session | null = null
  /** Change feeds of this process waiting for the host's feed to advance. */
  readonly #feedWatchers = new Set<() => void>()

  constructor (location: string, options: QuorumLevelOptions<K, V> = {}) {
    // Before super(), which schedules the open: a bad argument must not start one (it would
    // throw on the next tick, out of anyone's reach).
    if (typeof location !== 'string' || location === '') throw createError('location must be a non-empty string', CODES.INVALID_OPTION, { expected: true })
    if (options.lead !== undefined && typeof options.lead !== 'boolean') throw createError('lead must be a boolean', CODES.INVALID_OPTION, { expected: true })
    super({
      encodings: { buffer: true },
      // An iterator resumed on another route reads what is there then.
      snapshots: false,
      permanence: true,
      seek: true,
      createIfMissing: false,
      errorIfExists: false,
      events: { leader: true }
    }, options)
    this.#location = resolvePath(location)
    this.#options = options
    // Cluster errors are reported only to listeners; an unlistened one must not throw.
    this.cluster.on('error', () => {})
  }

  get type (): string {
    return 'quorum-level'
  }

  /** Whether this process is its host's local leader right now. */
  get isLeader (): boolean {
    return this.#session?.route?.kind === 'leader'
  }

  /**
   * The committed changes of the database on this host, from every process and every host, as
   * a readable stream and an async iterable of {@link Change}s (README, Change feed). With
   * `sublevel` (a sublevel of this database), that sublevel's changes in its encodings.
   */
  changes<KC = K, VC = V> (options: ChangesOptions<KC> & { sublevel?: object } = {}): ChangeFeed<KC, VC> {
    const { sublevel, ...rest } = options
    return new ChangeFeed<KC, VC>(this[FEED_SOURCE], feedTarget(sublevel, this), rest)
  }

  /** The position of the last change recorded on this host: `changes({ since })` goes on after it. */
  async lastPosition (): Promise<string> {
    return await lastPositionOf(this[FEED_SOURCE])
  }

  async #status (): Promise<ReplicatorStatus> {
    return await this.#onRoute<ReplicatorStatus>((route, done) => { route.status(done) })
  }

  // Tried again on the next route if its route is lost: a change already made answers at once.
  async #changeMembers (change: MembersChange): Promise<MembershipReport> {
    return await this.#onRoute<MembershipReport>((route, done) => { route.changeMembers(change, done) })
  }

  /**
   * Runs `attempt` on this process's route, as an operation (SPEC §12.4), once the database
   * is open: for what abstract-level has no hook of its own (the feed, status).
   */
  async #onRoute<T> (attempt: (route: Route, done: (error?: Error | null, result?: T) => void) => void): Promise<T> {
    if (this.status === 'opening') await new Promise<void>((resolve) => { this.defer(resolve) })
    if (this.status !== 'open') throw createError('Database is not open', CODES.DATABASE_NOT_OPEN)
    return await new Promise<T>((resolve, reject) => {
      this.#live.run<T>(attempt, (error, result) => {
        if (error != null || result === undefined) reject(error ?? new Error('the route answered nothing'))
        else resolve(result)
      })
    })
  }

  /** The host's feed, read through this process's route: for this database's feeds and its sublevels'. */
  get [FEED_SOURCE] (): FeedSource {
    return {
      read: async (request) => await this.#onRoute<FeedReply>((route, done) => { route.readFeed(request, done) }),
      watch: (listener) => {
        this.#feedWatchers.add(listener)
        return () => { this.#feedWatchers.delete(listener) }
      }
    }
  }

  _open (_options: AbstractOpenOptions, callback: Callback): void {
    const paths = socketPaths(this.#location)
    // Other hosts' writes, durable on this host: announced as a local write would be.
    const onChange = (ops: Op[]): void => { announce(this as unknown as AnnouncingDatabase, [ops]) }
    const onFeed = (): void => { for (const watcher of this.#feedWatchers) watcher() }
    const { retry = true, lockWait = 10_000, lead = true, keyEncoding: _keyEncoding, valueEncoding: _valueEncoding, ...replicator } = this.#options
    // Each open is a new session, with a new writer: counters restart, so ids never collide.
    const session = new Session({
      location: this.#location,
      paths,
      lockWaitMs: lockWait,
      mayLead: lead,
      retry,
      lead: async (root, stepDown) => await Leadership.start(root, { paths, replicator, cluster: this.cluster, stepDown, onChange, onFeed }),
      follow: (socket, onLost) => new GuestRoute(socket, paths, this.cluster, onChange, onFeed, onLost)
    }, {
      leader: () => {
        log(this.#options.logger, { level: 'info', event: 'leader', message: 'this process leads its host now', host: null })
        this.emit('leader')
      },
      fatal: (error) => {
        // A failover that cannot complete: what was pending failed with it, and the database
        // closes, as a classic-level database does not outlive its storage.
        this.cluster.emit('error', error)
        this.close().catch(() => {})
      }
    })
    this.#session = session
    session.open(callback)
  }

  _close (callback: Callback): void {
    const session = this.#session
    this.#session = null
    // Waiting feeds read once more, find the database closing, and end.
    for (const watcher of this.#feedWatchers) watcher()
    if (session === null) {
      this.nextTick(callback)
      return
    }
    session.close().then(() => { callback() }, callback)
  }

  _get (key: Buffer, options: ReadOptions, callback: Callback<Buffer>): void {
    const strong = this.#strong(options, callback)
    if (strong === null) return
    if (!strong) {
      this.#live.run<Buffer>((route, done) => { route.get(key, done) }, callback)
      return
    }
    this.#live.run<Array<Buffer | undefined>>((route, done) => { route.readStrong([key], done) }, (error, values) => {
      const value = values?.[0]
      if (error != null) callback(error)
      // abstract-level 1 reports a missing key as an error from _get.
      else if (value === undefined) callback(new ModuleError('Entry not found', { code: 'LEVEL_NOT_FOUND' }))
      else callback(null, value)
    })
  }

  _getMany (keys: Buffer[], options: ReadOptions, callback: Callback<Array<Buffer | undefined>>): void {
    const strong = this.#strong(options, callback)
    if (strong === null) return
    if (!strong) {
      this.#live.run<Array<Buffer | undefined>>((route, done) => { route.getMany(keys, done) }, callback)
      return
    }
    this.#live.run<Array<Buffer | undefined>>((route, done) => { route.readStrong(keys, done) }, callback)
  }

  /** Whether a read asks for `consistency: 'strong'`; a bad value fails it through its callback. */
  #strong (options: ReadOptions, callback: Callback<never>): boolean | null {
    try {
      return isStrong(options)
    } catch (error) {
      this.nextTick(callback, error)
      return null
    }
  }

  _put (key: Buffer, value: Buffer, _options: unknown, callback: Callback): void {
    this.#live.write([{ type: 'put', key, value }], callback)
  }

  _del (key: Buffer, _options: unknown, callback: Callback): void {
    this.#live.write([{ type: 'del', key }], callback)
  }

  _batch (operations: EncodedOp[], _options: unknown, callback: Callback): void {
    const ops = operations.map((op): BatchOp => op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : { type: 'del', key: op.key })
    this.#live.write(ops, callback)
  }

  _clear (options: IteratorRange & { limit?: number }, callback: Callback): void {
    const { gt, gte, lt, lte, reverse, limit } = options
    const range = Object.fromEntries(Object.entries({ gt, gte, lt, lte, reverse, limit }).filter(([, value]) => value !== undefined))
    this.#live.run<void>((route, done) => { route.db.clear({ ...range, ...BYTES }, done) }, callback)
  }

  _iterator (options: IteratorRange & { keys?: boolean, values?: boolean, limit?: number }): ResumableIterator {
    // Typed by its formats only: the iterator never sees K and V, abstract-level decodes them.
    return new ResumableIterator(this as unknown as IteratorOwner, this.#live, options, isStrong(options as ReadOptions))
  }

  /** abstract-level calls the hooks above only while the database is open. */
  get #live (): Session {
    const session = this.#session
    assert(session !== null, 'an operation reached a closed database')
    return session
  }
}
