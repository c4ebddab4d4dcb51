import { EventEmitter } from 'node:events'
import { chmod, unlink } from 'node:fs/promises'
import { type Server, type Socket, connect, createServer } from 'node:net'
import { resolve as resolvePath } from 'node:path'
import { randomBytes } from 'node:crypto'
import { pipeline } from 'readable-stream'
import { ClassicLevel } from 'classic-level'
import { ManyLevelGuest, ManyLevelHost } from 'many-level'
import type { AbstractDatabaseOptions, AbstractOpenOptions } from 'abstract-level'
import { CODES, createError } from './errors.js'
import { EventRelayServer, RELAYED_EVENTS, followEvents } from './local/event-relay.js'
import { socketPath } from './local/socket-path.js'
import { Replicator } from './replicator/replicator.js'
import type { ReplicatorOptions } from './replicator/options.js'
import { writerKey, writerOfKey } from './storage/keys.js'

/** Options of `new QuorumLevel(location, options)`: abstract-level's, the Replicator's, and these. */
export interface QuorumLevelOptions<K = string, V = string> extends AbstractDatabaseOptions<K, V>, ReplicatorOptions {
  /** Retry operations across a local failover instead of failing them. @default true */
  retry?: boolean
  /**
   * Milliseconds `open()` waits while the database is locked by something that serves no
   * quorum-level socket, before it fails with `LEVEL_LOCKED`. @default 10000
   */
  lockWait?: number
}

type Callback = (error?: Error | null) => void
type BatchOperation = { type: 'put', key: Buffer, value: Buffer } | { type: 'del', key: Buffer }

type NextCallback = (error?: Error | null, key?: Buffer, value?: Buffer) => void

interface GuestIterator {
  _next: (callback: NextCallback) => void
}

/** many-level's private hooks, which its .d.ts does not declare. */
const guestHooks = ManyLevelGuest.prototype as unknown as {
  _close: (this: unknown, callback: Callback) => void
  _batch: (this: unknown, operations: BatchOperation[], options: unknown, callback: Callback) => void
  _iterator: (this: unknown, options: { reverse?: boolean, keys?: boolean }) => GuestIterator
}

/** What many-level's guest resends to resume an iterator after a reconnect. */
interface ResumeRequest {
  seek: Buffer | null
  bookmark: Buffer | null
}

/** Between attempts to reach a leader while the lock is held. */
const LEADER_RETRY_MS = 50
/** Attempts to bind the replication port while a dying leader still holds it. */
const LISTEN_ATTEMPTS_MAX = 100
const LISTEN_RETRY_MS = 50

interface Leadership {
  readonly db: ClassicLevel<Buffer, Buffer>
  readonly replicator: ReturnType<typeof Replicator>
  readonly servers: Server[]
  readonly sockets: Set<Socket>
  readonly relay: EventRelayServer
}

/**
 * One logical database for any number of processes on a host and any number of hosts: the
 * first process to take the LevelDB lock is the host's leader and serves the others over a
 * unix socket (many-level); its Replicator commits every write with the cluster's peers.
 */
export class QuorumLevel<K = string, V = string> extends ManyLevelGuest<K, V> {
  /** Replicator events, in every process of the host. */
  readonly cluster = new EventEmitter()
  readonly #location: string
  readonly #options: QuorumLevelOptions<K, V>
  readonly #socketPath: string
  readonly #eventsPath: string
  #writer = ''
  #counter = 0
  #active = false
  #leadership: Leadership | null = null
  #events: Socket | null = null
  #opening: Callback | null = null
  #lockedSince: number | null = null

  constructor (location: string, options: QuorumLevelOptions<K, V> = {}) {
    const { retry = true, ...rest } = options
    super({ ...rest, retry })
    if (typeof location !== 'string' || location === '') throw createError('location must be a non-empty string', CODES.INVALID_OPTION, { expected: true })
    this.#location = resolvePath(location)
    this.#options = options
    this.#socketPath = socketPath(this.#location, 'leader')
    this.#eventsPath = socketPath(this.#location, 'events')
    // Cluster errors are reported only to listeners; an unlistened one must not throw.
    this.cluster.on('error', () => {})
  }

  get type (): string {
    return 'quorum-level'
  }

  /** Whether this process is its host's local leader right now. */
  get isLeader (): boolean {
    return this.#leadership !== null
  }

  _open (_options: AbstractOpenOptions, callback: Callback): void {
    // Each open gets a new writer identity: counters restart, so ids never collide.
    this.#writer = randomBytes(16).toString('hex')
    this.#counter = 0
    this.#active = true
    this.#lockedSince = null
    this.#opening = callback
    this.#connect()
  }

  _close (callback: Callback): void {
    this.#active = false
    this.#opening?.(createError('Database closed while opening', CODES.DATABASE_NOT_OPEN))
    this.#opening = null
    this.#events?.destroy()
    this.#events = null
    guestHooks._close.call(this, (error) => {
      this.#resign().then(() => { callback(error) }, callback)
    })
  }

  /** Every write carries this process's write id, so a retry after failover applies once. */
  _put (key: Buffer, value: Buffer, options: unknown, callback: Callback): void {
    this._batch([{ type: 'put', key, value }], options, callback)
  }

  _del (key: Buffer, options: unknown, callback: Callback): void {
    this._batch([{ type: 'del', key }], options, callback)
  }

  _batch (operations: BatchOperation[], options: unknown, callback: Callback): void {
    const marker: BatchOperation = { type: 'put', key: Buffer.from(writerKey(this.#writer)), value: Buffer.from(String(++this.#counter)) }
    guestHooks._batch.call(this, [...operations, marker], options, callback)
  }

  /**
   * Iterators resume across a failover yielding each key once. many-level resumes after a
   * "bookmark" that skips keys in reverse (it decrements the last byte: after `b` it lands on
   * `a`, missing `az`) and replays entries it had buffered. Here the resume point is an exact
   * seek to the last key yielded, and any key not strictly past it is dropped.
   */
  _iterator (options: { reverse?: boolean, keys?: boolean }): GuestIterator {
    // Read first: with retry on, many-level turns keys on in `options` to resume by key.
    const keys = options.keys !== false
    const iterator = guestHooks._iterator.call(this, options)
    const symbol = Object.getOwnPropertySymbols(iterator).find((candidate) => candidate.description === 'request')
    const request = symbol === undefined ? undefined : (iterator as unknown as Record<symbol, ResumeRequest>)[symbol]
    if (request === undefined) return iterator
    const next = iterator._next.bind(iterator)
    const direction = options.reverse === true ? -1 : 1
    let last: Buffer | undefined
    const filters = new WeakSet<NextCallback>()
    iterator._next = (callback) => {
      // many-level calls _next again itself, with the callback it parked: already filtered.
      if (filters.has(callback)) {
        next(callback)
        return
      }
      const onNext: NextCallback = (error, key, value) => {
        if (error != null || key === undefined) {
          callback(error, keys ? key : undefined, value)
          return
        }
        if (last !== undefined && Buffer.compare(key, last) * direction <= 0) {
          next(onNext)
          return
        }
        last = key
        request.seek = key
        request.bookmark = null
        callback(error, keys ? key : undefined, value)
      }
      filters.add(onNext)
      next(onNext)
    }
    return iterator
  }

  #connect (): void {
    if (!this.#active) return
    const socket = connect(this.#socketPath)
    let connected = false
    socket.once('connect', () => {
      connected = true
      this.#lockedSince = null
      if (this.#leadership === null) this.#followLeaderEvents()
      this.#opened()
    })
    pipeline(socket, this.createRpcStream({ ref: socket }), socket, () => {
      if (!this.#active) return
      this.#tryLead(connected)
    })
  }

  #opened (error?: Error): void {
    const callback = this.#opening
    this.#opening = null
    callback?.(error)
  }

  #followLeaderEvents (): void {
    this.#events?.destroy()
    this.#events = followEvents(this.#eventsPath, this.cluster)
  }

  /** The leader's socket is gone: take the lock and lead, or follow whoever took it. */
  #tryLead (wasConnected: boolean): void {
    const db = new ClassicLevel<Buffer, Buffer>(this.#location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    db.open((error) => {
      if (!this.#active) {
        db.close(() => {})
        return
      }
      const cause = (error as { cause?: { code?: string } } | undefined)?.cause
      if (error != null && cause?.code === 'LEVEL_LOCKED') {
        // Another process leads, or is about to: follow it.
        if (wasConnected) {
          this.#connect()
          return
        }
        this.#lockedSince ??= Date.now()
        if (Date.now() - this.#lockedSince > (this.#options.lockWait ?? 10_000)) {
          this.#fail(createError('Database is locked by a process that serves no quorum-level socket', CODES.LOCKED, { cause: error }))
          return
        }
        setTimeout(() => { this.#connect() }, LEADER_RETRY_MS).unref()
        return
      }
      if (error != null) {
        this.#fail(error)
        return
      }
      this.#lead(db).then(() => { this.#connect() }, (failure: unknown) => {
        this.#fail(failure instanceof Error ? failure : new Error(String(failure)))
      })
    })
  }

  async #lead (db: ClassicLevel<Buffer, Buffer>): Promise<void> {
    // Holding the lock proves any socket file left here belongs to a dead leader.
    await Promise.all([this.#socketPath, this.#eventsPath].map((path) => unlink(path).catch((error: { code?: string }) => {
      if (error.code !== 'ENOENT') throw error
    })))
    const { retry: _retry, lockWait: _lockWait, keyEncoding: _keyEncoding, valueEncoding: _valueEncoding, ...replicatorOptions } = this.#options
    const replicator = Replicator(db, replicatorOptions)
    const relay = new EventRelayServer(this.#eventsPath)
    for (const event of RELAYED_EVENTS) {
      replicator.on(event, (...args: Array<string | number>) => {
        this.cluster.emit(event, ...args)
        relay.publish(event, args)
      })
    }
    replicator.on('error', (error) => {
      this.cluster.emit('error', error)
      // SPEC §12.1: LevelDB refuses every write after an I/O error until it is reopened. The
      // leader steps down; whoever leads next (this process or another) reopens the database,
      // and pending operations are retried there under their write ids.
      if ((error as { code?: string }).code === CODES.IO_ERROR) this.#stepDown()
    })
    const host = new ManyLevelHost(userData(db) as unknown as ConstructorParameters<typeof ManyLevelHost>[0])
    const sockets = new Set<Socket>()
    const local = createServer((socket) => {
      socket.unref()
      sockets.add(socket)
      pipeline(socket, host.createRpcStream(), socket, () => { sockets.delete(socket) })
    })
    local.unref()
    await listen(local, this.#socketPath)
    // Owner only: the socket gives full read and write access to the database.
    await Promise.all([chmod(this.#socketPath, 0o600), chmod(this.#eventsPath, 0o600).catch(() => {})])
    const servers = [local, relay.server]
    if (this.#options.port !== undefined) {
      const cluster = createServer((socket) => {
        socket.setNoDelay(true)
        socket.on('error', () => {})
        const stream = replicator.createServer()
        stream.pipe(socket).pipe(stream)
      })
      await listenWithRetry(cluster, this.#options.port, this.#options.host)
      servers.push(cluster)
    }
    this.#leadership = { db, replicator, servers, sockets, relay }
    this.#events?.destroy()
    this.#events = null
    if (!this.#active) {
      await this.#resign()
      return
    }
    this.emit('leader')
  }

  #stepDown (): void {
    this.#resign().catch((error: unknown) => { this.cluster.emit('error', error) })
  }

  async #resign (): Promise<void> {
    const leadership = this.#leadership
    if (leadership === null) return
    this.#leadership = null
    // Stop accepting first: a guest that lost its connection reconnects at once, and a
    // connection accepted after the sockets were destroyed would hold the close open.
    const closed = leadership.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
    for (const socket of leadership.sockets) socket.destroy()
    await leadership.replicator.close()
    await leadership.relay.close()
    await Promise.all(closed)
    await leadership.db.close()
  }

  #fail (error: Error): void {
    if (this.#opening !== null) {
      this.#active = false
      this.#opened(error)
      return
    }
    // After open, a failover that cannot complete leaves operations to fail with it.
    this.cluster.emit('error', error)
    this.close().catch(() => {})
  }
}

/** The sublevel that holds users' data: its range never includes quorum-level's records. */
const DATA_SUBLEVEL = 'data'

/**
 * The database guests see: the `data` sublevel, so iterators, clear and every range stay
 * clear of the reserved records. A write-id marker is the one key that must reach the root,
 * where the Replicator recognizes it, so its sublevel prefix is taken off again.
 */
function userData (db: ClassicLevel<Buffer, Buffer>): unknown {
  const data = db.sublevel<Buffer, Buffer>(DATA_SUBLEVEL, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  const prefix = Buffer.from(`!${DATA_SUBLEVEL}!`)
  const hooks = data as unknown as { _batch: (ops: BatchOperation[], options: unknown, callback: Callback) => void }
  const prefixed = hooks._batch.bind(data)
  hooks._batch = (operations, options, callback) => {
    prefixed(operations.map((op) => {
      const unprefixed = op.key.subarray(prefix.length)
      return op.key.subarray(0, prefix.length).equals(prefix) && writerOfKey(unprefixed) !== null ? { ...op, key: unprefixed } : op
    }), options, callback)
  }
  return data
}

/** Listens on a socket path, or on a port (and host): resolves once listening. */
function listen (server: Server, ...where: [path: string] | [port: number, host: string | undefined]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(...(where as [number, string]), () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** A leader that just died may hold the replication port a moment longer. */
async function listenWithRetry (server: Server, port: number, host: string | undefined): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await listen(server, port, host)
      return
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= LISTEN_ATTEMPTS_MAX) throw error
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS))
    }
  }
}
