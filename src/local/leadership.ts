import type { EventEmitter } from 'node:events'
import { chmod, unlink } from 'node:fs/promises'
import { type Server, type Socket, createServer } from 'node:net'
import { pipeline } from 'readable-stream'
import type { AbstractBatchOptions } from 'abstract-level'
import type { ClassicLevel } from 'classic-level'
import { ManyLevelHost } from 'many-level'
import { type Key, type KeyRange, type Op, type WriteId, bytesToKey } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { Replicator } from '../replicator/replicator.js'
import type { ReplicatorOptions } from '../replicator/options.js'
import { WRITE_ID } from '../replicator/write-id-option.js'
import { type AppliedListener, ON_APPLIED } from '../replicator/applied-option.js'
import { EventRelayServer, RELAYED_EVENTS } from './event-relay.js'
import { type FeedReply, type FeedRequest, readShifted, shiftRange } from '../feed/feed-source.js'
import { rangeOf } from '../replicator/wrap-db.js'
import { FEED_SOURCE } from '../feed/feed-source-option.js'
import { FENCE, READ_STRONG } from '../replicator/read-strong-option.js'
import type { ReplicatorStatus } from '../replicator/status.js'
import type { MembersChange, MembershipReport } from '../replicator/members.js'
import { asBuffer } from '../replicator/bytes.js'
import { BYTES, type ReadCallback, type Route, type RouteDatabase, type WriteCallback } from './route.js'
import type { SocketPaths } from './socket-path.js'
import { type BatchOp, readWriteId } from './write-ids.js'

/** Attempts to bind the replication port while a dying leader still holds it. */
const LISTEN_ATTEMPTS_MAX = 100
const LISTEN_RETRY_MS = 50

/** The sublevel that holds users' data: its range never includes quorum-level's records. */
const DATA_SUBLEVEL = 'data'

/**
 * classic-level's read hooks, which abstract-level calls once it has checked and encoded a
 * read (its .d.ts does not declare them). The front has done that already: a read by key
 * goes straight to them, as many-level's `forward()` does, for it costs a sublevel's and a
 * root's checks again otherwise, about a third of the speed of a get.
 */
interface ReadHooks {
  _get: (key: Buffer, options: typeof BYTES, callback: ReadCallback<Buffer>) => void
  _getMany: (keys: Buffer[], options: typeof BYTES, callback: ReadCallback<Array<Buffer | undefined>>) => void
}

export interface LeadershipOptions {
  readonly paths: SocketPaths
  readonly replicator: ReplicatorOptions
  /** Where the Replicator's events are re-emitted in this process. */
  readonly cluster: EventEmitter
  /** Called once when storage fails: the leader must step down (SPEC §12.1). */
  readonly stepDown: () => void
  /** Another host's write, durable here, as operations on the data sublevel's keys. */
  readonly onChange: (ops: Op[]) => void
  /** The host's change feed advanced. */
  readonly onFeed: () => void
}

/**
 * This process holds the LevelDB lock (SPEC §12.1): it replicates through a Replicator,
 * serves the other processes of the host over the leader socket, relays events, and reads
 * and writes the database directly for itself.
 */
export class Leadership implements Route {
  readonly kind = 'leader'
  readonly db: RouteDatabase
  readonly #root: ClassicLevel<Buffer, Buffer>
  /** The data sublevel's prefix, for reads by key that skip the sublevel. */
  readonly #prefix: Buffer
  readonly #replicator: Replicator
  readonly #relay: EventRelayServer
  /** The data sublevel's prefix as a core key: the feed's keys lose it on their way to readers. */
  readonly #dataPrefix: string
  readonly #unwatchFeed: () => void
  readonly #servers: Server[] = []
  readonly #sockets = new Set<Socket>()
  #closing: Promise<void> | null = null

  private constructor (root: ClassicLevel<Buffer, Buffer>, options: LeadershipOptions) {
    this.#root = root
    const data = root.sublevel<Buffer, Buffer>(DATA_SUBLEVEL, BYTES)
    this.db = data as unknown as RouteDatabase
    this.#prefix = Buffer.from(data.prefix)
    const dataPrefix = bytesToKey(this.#prefix)
    this.#dataPrefix = dataPrefix
    const onApplied: AppliedListener = (changes) => {
      for (const change of changes) {
        // Only user data: the data sublevel's keys, without its prefix, as guests name them.
        const ops = change.ops.filter((op) => op.key.startsWith(dataPrefix)).map((op) => ({ ...op, key: op.key.slice(dataPrefix.length) }))
        if (ops.length === 0) continue
        options.onChange(ops)
        this.#relay.publishChange(ops)
      }
    }
    this.#replicator = Replicator(root, { ...options.replicator, [ON_APPLIED]: onApplied } as ReplicatorOptions)
    this.#relay = new EventRelayServer(options.paths.events, {
      feed: async (request) => await this.#readFeed(request),
      read: async (keys) => await this.#readStrong(keys),
      fence: async (range) => { await this.#fence(range) },
      status: async () => this.#replicator.status(),
      changeMembers: async (change) => await this.#replicator.changeMembers(change)
    })
    this.#unwatchFeed = this.#replicator[FEED_SOURCE].watch(() => {
      options.onFeed()
      this.#relay.publishFeed()
    })
    this.#servers.push(this.#relay.server)
    for (const event of RELAYED_EVENTS) {
      this.#replicator.on(event, (...args: Array<string | number>) => {
        options.cluster.emit(event, ...args)
        this.#relay.publish(event, args)
      })
    }
    this.#replicator.on('membership', (membership) => {
      options.cluster.emit('membership', membership)
      this.#relay.publish('membership', [JSON.stringify(membership)])
    })
    let steppedDown = false
    this.#replicator.on('error', (error) => {
      options.cluster.emit('error', error)
      // LevelDB refuses every write after an I/O error until it is reopened: whoever leads
      // next reopens it, and pending operations are retried there under their write ids.
      if ((error as { code?: string }).code === CODES.IO_ERROR && !steppedDown) {
        steppedDown = true
        options.stepDown()
      }
    })
  }

  /**
   * Leads with `root`, an open classic-level database whose lock this process holds. On
   * failure everything started is stopped and `root` is closed.
   */
  static async start (root: ClassicLevel<Buffer, Buffer>, options: LeadershipOptions): Promise<Leadership> {
    // Holding the lock proves any socket file left here belongs to a dead leader.
    try {
      await Promise.all([options.paths.leader, options.paths.events].map(removeStaleSocket))
    } catch (error) {
      await root.close()
      throw error
    }
    let leadership: Leadership
    try {
      // The Replicator checks its options here: one it refuses must not leave the lock held.
      leadership = new Leadership(root, options)
    } catch (error) {
      await root.close()
      throw error
    }
    try {
      await leadership.#listen(options)
    } catch (error) {
      await leadership.close()
      throw error
    }
    return leadership
  }

  get (key: Buffer, callback: ReadCallback<Buffer>): void {
    // The hooks skip abstract-level's check that the database is open: check here.
    if (this.lost) {
      process.nextTick(callback, resigned())
      return
    }
    (this.#root as unknown as ReadHooks)._get(Buffer.concat([this.#prefix, key]), BYTES, callback)
  }

  getMany (keys: Buffer[], callback: ReadCallback<Array<Buffer | undefined>>): void {
    if (this.lost) {
      process.nextTick(callback, resigned())
      return
    }
    (this.#root as unknown as ReadHooks)._getMany(keys.map((key) => Buffer.concat([this.#prefix, key])), BYTES, callback)
  }

  status (callback: ReadCallback<ReplicatorStatus>): void {
    if (this.lost) process.nextTick(callback, resigned())
    else process.nextTick(callback, null, this.#replicator.status())
  }

  changeMembers (change: MembersChange, callback: ReadCallback<MembershipReport>): void {
    if (this.lost) process.nextTick(callback, resigned())
    else this.#replicator.changeMembers(change).then((membership) => { callback(null, membership) }, callback)
  }

  readFeed (request: FeedRequest, callback: ReadCallback<FeedReply>): void {
    this.#readFeed(request).then((reply) => { callback(null, reply) }, callback)
  }

  readStrong (keys: Buffer[], callback: ReadCallback<Array<Buffer | undefined>>): void {
    this.#readStrong(keys.map(bytesToKey)).then((values) => { callback(null, values.map((value) => value === undefined ? undefined : asBuffer(value))) }, callback)
  }

  fence (range: { gt?: Buffer, gte?: Buffer, lt?: Buffer, lte?: Buffer }, callback: WriteCallback): void {
    this.#fence(rangeOf(range)).then(() => { callback() }, callback)
  }

  /** A fence over a range of data keys (latin1, without the data sublevel's prefix): the range shifted into the sublevel. */
  async #fence (range: KeyRange): Promise<void> {
    if (this.lost) throw resigned()
    const shifted: { gt?: Key, gte?: Key, lt?: Key, lte?: Key } = { ...shiftRange(range, this.#dataPrefix) }
    // Unbounded ends stay within the sublevel: its prefix, up to the next one.
    if (shifted.gt === undefined && shifted.gte === undefined) shifted.gte = this.#dataPrefix
    if (shifted.lt === undefined && shifted.lte === undefined) shifted.lt = this.#dataPrefix.slice(0, -1) + String.fromCharCode(this.#dataPrefix.charCodeAt(this.#dataPrefix.length - 1) + 1)
    await this.#replicator[FENCE](shifted)
  }

  /** A strong read of data keys (latin1, without the data sublevel's prefix). */
  async #readStrong (keys: Key[]): Promise<Array<Uint8Array | undefined>> {
    if (this.lost) throw resigned()
    return await this.#replicator[READ_STRONG](keys.map((key) => this.#dataPrefix + key))
  }

  async #readFeed (request: FeedRequest): Promise<FeedReply> {
    if (this.lost) throw resigned()
    return await readShifted(this.#replicator[FEED_SOURCE].read, this.#dataPrefix, request)
  }

  write (ops: readonly BatchOp[], id: WriteId, callback: WriteCallback): void {
    // The data sublevel passes options through to the root, where the Replicator reads the id.
    this.db.batch(ops as BatchOp[], { ...BYTES, [WRITE_ID]: id } as AbstractBatchOptions<Buffer, Buffer>, callback)
  }

  get lost (): boolean {
    return this.#closing !== null
  }

  isLoss (): boolean {
    return this.lost
  }

  /**
   * Resigns: stops serving guests first (each reconnects at once, and a connection accepted
   * after the sockets were destroyed would hold the close open), then settles the
   * Replicator's writes and closes the database, releasing the lock.
   */
  close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    const closed = this.#servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
    for (const socket of this.#sockets) socket.destroy()
    this.#unwatchFeed()
    await this.#replicator.close()
    await this.#relay.close()
    await Promise.all(closed)
    await this.#root.close()
  }

  async #listen (options: LeadershipOptions): Promise<void> {
    const host = new ManyLevelHost(servedDatabase(this) as ConstructorParameters<typeof ManyLevelHost>[0])
    const local = createServer((socket) => {
      socket.unref()
      this.#sockets.add(socket)
      pipeline(socket, host.createRpcStream(), socket, () => { this.#sockets.delete(socket) })
    })
    local.unref()
    this.#servers.push(local)
    await listen(local, options.paths.leader)
    // Owner only: the sockets give full read and write access to the database.
    await Promise.all([chmod(options.paths.leader, 0o600), chmod(options.paths.events, 0o600).catch(() => {})])
    if (options.replicator.port === undefined) return
    await listenWithRetry(async () => { await this.#replicator.listen() })
  }
}

/**
 * What many-level's host serves the guests: the data sublevel, except that reads by key take
 * the leader's short way, and a batch carries its write id as a last marker operation (SPEC
 * §12.5), read back here into the batch option the Replicator takes.
 */
function servedDatabase (leadership: Leadership): unknown {
  const data = leadership.db
  return {
    supports: data.supports,
    open: data.open.bind(data),
    // many-level's host asks for bytes, as the leader's own reads do: the same short way.
    get: (key: Buffer, _options: unknown, callback: ReadCallback<Buffer>) => { leadership.get(key, callback) },
    getMany: (keys: Buffer[], _options: unknown, callback: ReadCallback<Array<Buffer | undefined>>) => { leadership.getMany(keys, callback) },
    put: data.put.bind(data),
    del: data.del.bind(data),
    clear: data.clear.bind(data),
    iterator: data.iterator.bind(data),
    keys: data.keys.bind(data),
    values: data.values.bind(data),
    batch: (ops: BatchOp[], options: object, callback: WriteCallback): void => {
      let read: ReturnType<typeof readWriteId>
      try {
        read = readWriteId(ops)
      } catch (error) {
        process.nextTick(callback, error)
        return
      }
      const { ops: written, id } = read
      data.batch(written as BatchOp[], id === null ? options : { ...options, [WRITE_ID]: id }, callback)
    }
  }
}

function resigned (): Error {
  return createError('The local leader resigned', CODES.DATABASE_NOT_OPEN)
}

async function removeStaleSocket (path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error
  }
}

/** Listens on a socket path: resolves once listening. */
function listen (server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** A leader that just died may hold the replication port a moment longer. */
async function listenWithRetry (listen: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await listen()
      return
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= LISTEN_ATTEMPTS_MAX) throw error
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS))
    }
  }
}
