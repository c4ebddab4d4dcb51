import { EventEmitter } from 'events'
import type { Duplex } from 'readable-stream'
import { opsBytes } from '../core/index.js'
import { OPS_PER_MESSAGE_MAX } from '../wire/limits.js'
import type { Key, KeyRange, Membership, Op, WriteId } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { LevelStore, type StoreDatabase } from '../storage/store.js'
import { bytesOverStrings } from '../storage/string-store.js'
import type { PeerAddress } from '../transport/peer-connection.js'
import type { Listening } from '../transport/listen.js'
import { CoreDriver } from './driver.js'
import { type ReplicatorOptions, type ResolvedOptions, checkAddress, resolveOptions } from './options.js'
import { type PeerEvents, PeerRegistry } from './peers.js'
import { type WrappedDatabase, wrapDatabase } from './wrap-db.js'
import { type AnnouncingDatabase, announce } from './peer-events.js'
import { type AppliedListener, ON_APPLIED } from './applied-option.js'
import { FeedLog } from '../feed/feed-log.js'
import { type FeedReply, type FeedRequest, type FeedSource, lastPositionOf, readFeedLog } from '../feed/feed-source.js'
import { ChangeFeed, type ChangesOptions, feedTarget } from '../feed/change-feed.js'
import { FEED_SOURCE } from '../feed/feed-source-option.js'
import { FENCE, READ_STRONG } from './read-strong-option.js'
import { PeerMarks, type ReplicatorStatus, buildStatus } from './status.js'
import { ReadGate } from './read-gate.js'
import { type LogLevel, log } from './logger.js'
import { type MembersChange, type MembershipReport, addressOfMember, coreChange, memberName, report } from './members.js'

/** Events of a Replicator, with level-2pc's meanings; `connect` to `fail` come from its peers. */
export interface ReplicatorEvents extends PeerEvents {
  /** At least `minConsensus` peers are connected: writes can commit. */
  ready: []
  /** Fewer than `minConsensus` peers are connected: writes wait, up to `writeTimeout`. */
  notready: []
  /** Emitted only while someone listens: a bad peer never crashes the process. */
  error: [error: Error]
  /** A membership is in force here (SPEC §15): after a change, or a full copy that brought one. */
  membership: [membership: MembershipReport]
}

const TOMBSTONE_RECOUNT_MS_MIN = 1_000
/** Above every key: user keys and the reserved ones (`\xff\xffql`...) alike. */
const ALL_KEYS_END = new Uint8Array(64).fill(0xff)
const PEER_EVENTS = ['connect', 'disconnect', 'reconnect', 'fail'] as const satisfies ReadonlyArray<keyof PeerEvents>
const PEER_LEVELS: Record<typeof PEER_EVENTS[number], LogLevel> = { connect: 'info', disconnect: 'warn', reconnect: 'debug', fail: 'warn' }

/**
 * The database a Replicator wraps: an abstract-level 1, 2 or 3 database (classic-level,
 * memory-level, browser-level). The rest of what it must be is checked when the Replicator
 * is made, which throws `LEVEL_NOT_SUPPORTED` otherwise.
 */
export interface ReplicatedDatabase {
  open: () => Promise<void>
}

/** What the Replicator calls on its database, once checked. */
type Database = ReplicatedDatabase & StoreDatabase & AnnouncingDatabase

export interface Replicator extends EventEmitter<ReplicatorEvents> {
  /** This host's cluster identity, once the database is open. */
  readonly id: string | null
  /** A stream to pipe to a connection a peer opened: `server.pipe(socket).pipe(server)`. */
  createServer: () => Duplex
  /**
   * Accepts peers on this host's `port` (and `host`; every interface without it) with the
   * `listen` option (TCP by default), until `close()`: the same as piping each connection
   * through `createServer()`.
   */
  listen: () => Promise<void>
  /** Adds a host to the cluster and dials it. */
  addPeer: (peer: PeerAddress) => void
  /**
   * Adds or removes one member, and or sets `minConsensus`, for the whole cluster: decided by
   * a quorum, stored, and in force on every host once applied there (README, Membership).
   * Resolves with the membership in force here once the change is.
   */
  changeMembers: (change: MembersChange) => Promise<MembershipReport>
  /** The membership in force here. */
  members: () => MembershipReport
  /**
   * The committed changes of the database on this host, from every process and every host, as
   * a readable stream and an async iterable of {@link Change}s (README, Change feed). With
   * `sublevel`, that sublevel's changes in its encodings.
   */
  changes: <K = unknown, V = unknown>(options?: ChangesOptions<K> & { sublevel?: object }) => ChangeFeed<K, V>
  /** The position of the last change recorded on this host: `changes({ since })` goes on after it. */
  lastPosition: () => Promise<string>
  /** This host's replication state now: identity, readiness, peers, writes in flight, log, feed (README, Status). */
  status: () => ReplicatorStatus
  /** Ends every peer connection and stops reconnecting; leaves the database open. */
  close: () => Promise<void>
  /** The host's feed as QuorumLevel's leader serves it to its guests. */
  readonly [FEED_SOURCE]: FeedSource
  /** Strong reads of core keys, as QuorumLevel's leader serves them to its processes. */
  readonly [READ_STRONG]: (keys: Key[]) => Promise<Array<Uint8Array | undefined>>
  /** Fences over ranges of core keys, for strong iterators (SPEC §14.1). */
  readonly [FENCE]: (range: KeyRange) => Promise<void>
}

interface ReplicatorConstructor {
  new (db: ReplicatedDatabase, options?: ReplicatorOptions): Replicator
  (db: ReplicatedDatabase, options?: ReplicatorOptions): Replicator
}

class ReplicatorImpl extends EventEmitter<ReplicatorEvents> implements Replicator {
  readonly #db: Database
  readonly #options: ResolvedOptions
  readonly #wrapped: WrappedDatabase
  readonly #peers: PeerRegistry
  readonly #started: Promise<void>
  /** Writes made before the core existed, with their promises: submitted once it does. */
  readonly #beforeStart: Array<{ ops: Op[], id: WriteId, resolve: () => void, reject: (error: Error) => void }> = []
  /** Names the writes made through `db` itself (QuorumLevel's carry their own ids). */
  readonly #writer = `r${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`
  #counter = 0
  #store: LevelStore | null = null
  #feed: FeedLog | null = null
  readonly #peerMarks = new PeerMarks()
  #driver: CoreDriver | null = null
  #id: string | null = null
  #state: 'opening' | 'open' | 'failed' | 'closing' | 'closed' = 'opening'
  /** Why the Replicator could not start, if it could not: every write is refused with it. */
  #failure: Error | null = null
  #closing: Promise<void> | null = null
  readonly #listening: Listening[] = []
  readonly #onApplied: AppliedListener | undefined
  /** Local reads wait until the core has started, and while it applies a full copy (SPEC §6.3). */
  readonly #readGate = new ReadGate()
  #tombstones: ReplicatorStatus['tombstones'] = null
  /** This host's name in memberships: its announced `host:port` (SPEC §15). */
  readonly #name: string
  /** The membership the options describe: where a host without a stored one starts. */
  readonly #initial: Membership
  /** The tombstone count under way: close waits for it, so that it never reads a closed store. */
  #counting: Promise<void> | null = null
  #disk: ReplicatorStatus['disk'] = null
  #countedAt = -Infinity
  /** The membership last put in force, by a change or as stored at start. */
  #stored: Membership | null = null
  #countTook = 0

  constructor (db: ReplicatedDatabase, options?: ReplicatorOptions) {
    super()
    this.#options = resolveOptions(options)
    this.#onApplied = (options as { [ON_APPLIED]?: AppliedListener } | undefined)?.[ON_APPLIED]
    this.#readGate.hold()
    this.#db = db as Database
    this.#wrapped = wrapDatabase(db, (ops, writeId) => this.#write(ops, writeId ?? { writer: this.#writer, counter: ++this.#counter }), {
      read: async (keys) => await this.#readStrong(keys),
      fence: async (range) => { await this.#fence(range) },
      localReady: () => this.#readGate.waiting
    })
    const { peers, address, secret, frameBytesMax, callTimeoutMs, pingIntervalMs, transport, reconnectMsMin, reconnectMsMax, failAfter } = this.#options
    this.#peers = new PeerRegistry(peers, {
      connection: { address, secret, frameBytesMax, callTimeoutMs, pingIntervalMs },
      dial: { transport: transport ?? noTransport, backoffMsMin: reconnectMsMin, backoffMsMax: reconnectMsMax, failAfter }
    }, {
      connected: (id) => { this.#driver?.connected(id) },
      disconnected: (id) => { this.#driver?.disconnected(id) },
      message: (from, message) => {
        this.#peerMarks.observe(from, message)
        this.#driver?.message(from, message)
      },
      error: (error) => { this.#report(error) },
      // Every few seconds for a peer whose packets vanish: worth a debug record, not an error.
      dropped: (error) => { this.#log('debug', 'disconnect', `peer connection dropped: ${error.message}`, { code: (error as { code?: string }).code ?? CODES.CONNECTION_LOST }) }
    })
    for (const event of PEER_EVENTS) {
      this.#peers.on(event, (host, port) => {
        this.#log(PEER_LEVELS[event], event, `peer ${host}:${port}: ${event}`, { peer: { host, port } })
        this.emit(event, host, port)
      })
    }
    this.#name = address === null ? `local:${this.#writer}` : memberName(address)
    this.#initial = { epoch: 0, members: [...new Set([this.#name, ...this.#options.peers.map(memberName)])].sort(), minConsensus: this.#options.minConsensus }
    this.#started = this.#start().catch((error: unknown) => {
      // It cannot replicate: it refuses writes and connections and says why, and stays
      // wrapped (fail closed) until the user closes it.
      const cause = error instanceof Error ? error : new Error(String(error))
      this.#failure = createError(`Replicator failed to start: ${cause.message}`, CODES.DATABASE_NOT_OPEN, { cause })
      if (this.#state === 'opening') this.#state = 'failed'
      this.#readGate.open()
      this.#peers.close()
      for (const { reject } of this.#beforeStart.splice(0)) reject(this.#failure)
      this.#report(cause)
    })
  }

  get id (): string | null {
    return this.#id
  }

  createServer (): Duplex {
    return this.#peers.createServer()
  }

  async listen (): Promise<void> {
    const { address, listenHost, listen } = this.#options
    if (address === null) throw createError('listen() needs the port option', CODES.INVALID_OPTION, { expected: true })
    if (this.#isClosing()) throw createError('Replicator is closed', CODES.DATABASE_NOT_OPEN)
    const listening = await listen(address.port, listenHost, (stream) => {
      stream.on('error', () => {})
      const server = this.createServer()
      server.pipe(stream).pipe(server)
    })
    if (this.#isClosing()) {
      await listening.close()
      throw createError('Replicator closed while it started listening', CODES.DATABASE_NOT_OPEN)
    }
    this.#listening.push(listening)
  }

  #isClosing (): boolean {
    return this.#state === 'closing' || this.#state === 'closed'
  }

  /** level-2pc's `addPeer`: a membership change that adds the peer, its failure reported as an `error`. */
  addPeer (peer: PeerAddress): void {
    const address = checkAddress(peer, 'peer')
    if (this.#options.transport === null) throw createError('addPeer() needs the transport option here (no TCP in a browser)', CODES.INVALID_OPTION, { expected: true })
    if (this.#isClosing()) throw createError('Replicator is closed', CODES.DATABASE_NOT_OPEN)
    this.changeMembers({ add: address }).catch((error: unknown) => { this.#report(error instanceof Error ? error : new Error(String(error))) })
  }

  async changeMembers (change: MembersChange): Promise<MembershipReport> {
    const wanted = coreChange(change)
    if (wanted.add !== undefined && this.#options.transport === null) throw createError('Adding a member needs the transport option here (no TCP in a browser)', CODES.INVALID_OPTION, { expected: true })
    await this.#started
    if (this.#failure !== null) throw this.#failure
    const driver = this.#driver
    if (driver === null || this.#isClosing()) throw createError('Replicator is closed', CODES.DATABASE_NOT_OPEN)
    return report(await driver.changeMembership(wanted))
  }

  members (): MembershipReport {
    return report(this.#driver?.inspect()?.membership ?? this.#stored ?? this.#initial)
  }

  close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #start (): Promise<void> {
    await this.#db.open()
    if (this.#state !== 'opening') return
    const options = this.#options
    let driver: CoreDriver | null = null
    const storage = this.#wrapped.format === 'utf8' ? bytesOverStrings(this.#db) : this.#db
    const feed = new FeedLog(storage)
    const store = new LevelStore(storage, {
      batch: this.#wrapped.rawBatch,
      sync: options.sync,
      onHealth: (error) => { driver?.storage(error) },
      feed: { sink: feed, retention: options.feedRetention }
    })
    this.#feed = feed
    const id = await store.hostId()
    if (this.#state !== 'opening') return
    this.#store = store
    this.#id = id
    // A stored membership is the one in force: the options only said where it started.
    const stored = await store.membership()
    if (this.#state !== 'opening') return
    if (stored !== null) this.#useMembership(stored)
    driver = new CoreDriver(store, options.witness, {
      id,
      name: this.#name,
      members: this.#initial.members,
      minConsensus: options.minConsensus,
      writeTimeoutMs: options.writeTimeoutMs,
      logRetention: options.logRetention,
      logRetentionBytes: options.logRetentionBytes,
      collectIntervalMs: options.tombstoneIntervalMs,
      // A quarter of a frame: a full group or catch-up message fits with room to spare.
      messageBytesMax: Math.floor(options.frameBytesMax / 4),
      tickIntervalMs: options.tickIntervalMs,
      sync: options.sync,
      wall: options.now
    }, {
      send: (to, message) => { this.#peers.send(to, message) },
      event: (event) => {
        this.#log(event === 'ready' ? 'info' : 'warn', event, event === 'ready' ? 'ready: writes can start' : 'not ready: writes wait')
        this.emit(event)
      },
      applied: (changes) => {
        announce(this.#db, changes.map((change) => change.ops))
        this.#onApplied?.(changes)
      },
      error: (error) => { this.#report(error) },
      membership: (membership) => {
        this.#useMembership(membership)
        this.#log('info', 'membership', `membership epoch ${membership.epoch}: ${membership.members.join(', ')}; minConsensus ${membership.minConsensus}`)
        this.emit('membership', report(membership))
      },
      applyingCopy: (applying) => {
        this.#log('info', 'copy', applying ? 'applying a full copy: local reads wait' : 'full copy applied')
        if (applying) this.#readGate.hold()
        else this.#readGate.open()
      }
    })
    this.#driver = driver
    this.#state = 'open'
    this.#log('info', 'start', `started as ${id}`)
    await driver.start()
    // A copy a stop cut short is being finished now: the hook opens the gate once it is done.
    if (!driver.applyingCopy) this.#readGate.open()
    this.#countTombstones()
    for (const { ops, id: writeId, resolve, reject } of this.#beforeStart.splice(0)) driver.write(ops, writeId).then(resolve, reject)
    this.#peers.start(id)
  }

  /** Dials the members of `membership` and drops the others (SPEC §15.4). */
  #useMembership (membership: Membership): void {
    this.#stored = membership
    const peers: PeerAddress[] = []
    for (const name of membership.members) {
      const address = name === this.#name ? null : addressOfMember(name)
      // A peer that only dials in keeps its configuration.
      if (address !== null) peers.push(this.#options.peers.find((peer) => memberName(peer) === name) ?? address)
    }
    this.#peers.reconfigure(peers)
  }

  status (): ReplicatorStatus {
    this.#countTombstones()
    const membership = this.members()
    return buildStatus({
      id: this.#id,
      state: this.#state,
      address: this.#options.address,
      membership,
      peers: this.#peers.status(),
      peerMarks: this.#peerMarks,
      inspection: this.#driver?.inspect() ?? null,
      feed: this.#feed === null ? { oldest: 1, last: 0 } : this.#feed.bounds,
      counters: this.#driver?.counters() ?? { writes: {}, strongReads: {} },
      tombstones: this.#tombstones,
      disk: this.#disk
    })
  }

  /**
   * Counts tombstones again when status is asked for and the last count is old: older than a
   * second, and than 20 times what that count took, so that scans take at most about 5% of
   * the time however large the database is.
   */
  #countTombstones (): void {
    const store = this.#store
    if (store === null || this.#state !== 'open' || this.#counting !== null) return
    const now = Date.now()
    if (now - this.#countedAt < Math.max(TOMBSTONE_RECOUNT_MS_MIN, 20 * this.#countTook)) return
    this.#counting = Promise.all([store.countTombstones(), this.#diskBytes()]).then(([count, bytes]) => {
      this.#countedAt = Date.now()
      this.#countTook = this.#countedAt - now
      this.#tombstones = { count, countedAt: this.#countedAt }
      this.#disk = bytes === null ? null : { bytes, measuredAt: this.#countedAt }
    }, noop).finally(() => { this.#counting = null })
  }

  /** What the database takes on disk, as the store estimates it (classic-level's `approximateSize`); null for a store that cannot say. */
  async #diskBytes (): Promise<number | null> {
    const sized = this.#db as { approximateSize?: (start: Uint8Array, end: Uint8Array, options: object) => Promise<number> }
    if (typeof sized.approximateSize !== 'function') return null
    return await sized.approximateSize(new Uint8Array(0), ALL_KEYS_END, { keyEncoding: 'view' })
  }

  changes<K = unknown, V = unknown> (options: ChangesOptions<K> & { sublevel?: object } = {}): ChangeFeed<K, V> {
    const { sublevel, ...rest } = options
    return new ChangeFeed<K, V>(this[FEED_SOURCE], feedTarget(sublevel, this.#db), rest)
  }

  async lastPosition (): Promise<string> {
    return await lastPositionOf(this[FEED_SOURCE])
  }

  get [FEED_SOURCE] (): FeedSource {
    return {
      read: async (request) => await this.#readFeed(request),
      watch: (listener) => {
        let stop: (() => void) | null = null
        let stopped = false
        // The feed exists once the database is open; a watcher may come before.
        this.#started.then(() => { if (!stopped && this.#feed !== null) stop = this.#feed.watch(listener) }, noop)
        return () => {
          stopped = true
          stop?.()
        }
      }
    }
  }

  async #readFeed (request: FeedRequest): Promise<FeedReply> {
    await this.#started
    if (this.#failure !== null) throw this.#failure
    const feed = this.#feed
    const id = this.#id
    if (feed === null || id === null || this.#state !== 'open') throw createError('Replicator is closed', CODES.DATABASE_NOT_OPEN)
    return await readFeedLog(feed, id, request)
  }

  /** The values of `keys` as strong reads see them (SPEC §14), for the database's read methods and QuorumLevel's leader. */
  async #readStrong (keys: Key[]): Promise<Array<Uint8Array | undefined>> {
    await this.#started
    if (this.#failure !== null) throw this.#failure
    const driver = this.#driver
    if (driver === null || this.#state !== 'open') throw createError('Replicator is closed', CODES.DATABASE_NOT_OPEN)
    // A read that cannot fit a peer message could never be answered.
    if (keys.length > OPS_PER_MESSAGE_MAX || keys.reduce((bytes, key) => bytes + key.length, 0) > this.#options.frameBytesMax / 2) {
      throw createError('Strong read is too large: read fewer keys at once', CODES.NOT_SUPPORTED, { expected: true })
    }
    const records = await driver.strongRead(keys)
    return records.map((record) => record?.value ?? undefined)
  }

  get [READ_STRONG] (): (keys: Key[]) => Promise<Array<Uint8Array | undefined>> {
    return async (keys) => await this.#readStrong(keys)
  }

  get [FENCE] (): (range: KeyRange) => Promise<void> {
    return async (range) => await this.#fence(range)
  }

  async #fence (range: KeyRange): Promise<void> {
    await this.#started
    if (this.#failure !== null) throw this.#failure
    const driver = this.#driver
    if (driver === null || this.#state !== 'open') throw createError('Replicator is closed', CODES.DATABASE_NOT_OPEN)
    await driver.fence(range)
  }

  #write (ops: Op[], id: WriteId): Promise<void> {
    if (this.#isClosing()) {
      return Promise.reject(createError('Replicator is closed', CODES.DATABASE_NOT_OPEN))
    }
    if (this.#failure !== null) return Promise.reject(this.#failure)
    // A write is one transaction; one that cannot fit a peer message can never replicate.
    if (ops.length > OPS_PER_MESSAGE_MAX || opsBytes(ops) > this.#options.frameBytesMax / 2) {
      return Promise.reject(createError('Write is too large to replicate: split it, or raise frameBytesMax on every host', CODES.NOT_SUPPORTED, { expected: true }))
    }
    const driver = this.#driver
    if (driver !== null && this.#state === 'open') return driver.write(ops, id)
    return new Promise((resolve, reject) => { this.#beforeStart.push({ ops, id, resolve, reject }) })
  }

  #report (error: Error): void {
    // Logged whether or not anyone listens: an operator sees what an unlistened error hides.
    const code = (error as { code?: unknown }).code
    this.#log('error', 'error', error.message, typeof code === 'string' ? { code } : {})
    if (this.listenerCount('error') > 0) this.emit('error', error)
  }

  #log (level: LogLevel, event: string, message: string, details: { peer?: { host: string, port: number }, code?: string } = {}): void {
    log(this.#options.logger, { level, event, message, host: this.#id, ...details })
  }

  async #close (): Promise<void> {
    this.#state = 'closing'
    this.#feed?.wake()
    this.#peers.stopAccepting()
    const closed = createError('Replicator closed before the write was submitted; nothing was written', CODES.DATABASE_NOT_OPEN)
    for (const { reject } of this.#beforeStart.splice(0)) reject(closed)
    await this.#started
    // Writes settle first, with connections still up: aborts and commits can still be told.
    await this.#driver?.close()
    await this.#counting
    this.#peers.close()
    await Promise.all(this.#listening.splice(0).map(async (listening) => { await listening.close() }))
    await this.#store?.close()
    // Nothing may stay pending: reads held for a copy cut short by the close go on now.
    this.#readGate.open()
    this.#wrapped.unwrap()
    this.#driver = null
    this.#state = 'closed'
    this.#log('info', 'close', 'closed')
  }
}

/**
 * Replicates every write made through `db` to a cluster of peers by quorum two-phase commit.
 * Callable with or without `new`, as level-2pc's `Replicator(db, opts)`.
 */
// The value and the instance type share one name, as a class would; `new` is optional here.
// eslint-disable-next-line @typescript-eslint/no-redeclare
export const Replicator = function Replicator (db: ReplicatedDatabase, options?: ReplicatorOptions): Replicator {
  return new ReplicatorImpl(db, options)
} as unknown as ReplicatorConstructor

/** Never called: without a transport there are no peers to dial (checked in the options and addPeer). */
function noTransport (): never {
  throw createError('No transport to dial peers with', CODES.INVALID_OPTION)
}

function noop (): void {}
