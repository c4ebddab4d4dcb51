import { EventEmitter } from 'events'
import type { Duplex as ByteStream } from 'node:stream'
import type { Duplex } from 'readable-stream'
import type { AbstractLevel } from 'abstract-level'
import { assert, opsBytes } from '../core/index.js'
import { OPS_PER_MESSAGE_MAX } from '../wire/limits.js'
import type { HostId, Op, WriteId } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { LevelStore } from '../storage/store.js'
import { Dialer } from '../transport/dialer.js'
import { type PeerAddress, PeerConnection } from '../transport/peer-connection.js'
import { serverStreamPair } from '../transport/server-stream.js'
import { overStream } from '../transport/stream-channel.js'
import { CoreDriver } from './driver.js'
import { type ReplicatorOptions, type ResolvedOptions, checkAddress, resolveOptions } from './options.js'
import { type WrappedDatabase, wrapDatabase } from './wrap-db.js'

/** Events of a Replicator, with level-2pc's meanings. */
export interface ReplicatorEvents {
  /** At least `minConsensus` peers are connected: writes can commit. */
  ready: []
  /** Fewer than `minConsensus` peers are connected: writes wait, up to `writeTimeout`. */
  notready: []
  connect: [host: string, port: number]
  disconnect: [host: string, port: number]
  /** A new connection attempt to a configured peer starts. */
  reconnect: [host: string, port: number]
  /** `failAfter` attempts in a row failed; attempts go on at the longest backoff. */
  fail: [host: string, port: number]
  /** Emitted only while someone listens: a bad peer never crashes the process. */
  error: [error: Error]
}

/** The database a Replicator wraps: any abstract-level@1 database, classic-level in Node. */
export type ReplicatedDatabase = AbstractLevel<any, any, any> // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Replicator extends EventEmitter<ReplicatorEvents> {
  /** This host's cluster identity, once the database is open. */
  readonly id: string | null
  /** A stream to pipe to a connection a peer opened: `server.pipe(socket).pipe(server)`. */
  createServer: () => Duplex
  /** Adds a host to the cluster and dials it. */
  addPeer: (peer: PeerAddress) => void
  /** Ends every peer connection and stops reconnecting; leaves the database open. */
  close: () => Promise<void>
}

interface ReplicatorConstructor {
  new (db: ReplicatedDatabase, options?: ReplicatorOptions): Replicator
  (db: ReplicatedDatabase, options?: ReplicatorOptions): Replicator
}

interface Slot {
  readonly address: PeerAddress
  readonly dialer: Dialer
  id: HostId | null
}

class ReplicatorImpl extends EventEmitter<ReplicatorEvents> implements Replicator {
  readonly #db: ReplicatedDatabase
  readonly #options: ResolvedOptions
  readonly #wrapped: WrappedDatabase
  readonly #slots: Slot[] = []
  /** Open, authenticated connections by peer identity; the first carries what we send. */
  readonly #connections = new Map<HostId, PeerConnection[]>()
  /** Authenticated inbound connections from identities not yet tied to a configured peer. */
  readonly #unbound = new Set<PeerConnection>()
  readonly #all = new Set<PeerConnection>()
  /** The inner ends of `createServer()` streams, ended at close. */
  readonly #serverStreams = new Set<ByteStream>()
  readonly #started: Promise<void>
  /** Writes made before the core existed, with their promises: submitted once it does. */
  readonly #beforeStart: Array<{ ops: Op[], id: WriteId, resolve: () => void, reject: (error: Error) => void }> = []
  /** Names the writes made through `db` itself (QuorumLevel's carry their own ids). */
  readonly #writer = `r${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`
  #counter = 0
  #store: LevelStore | null = null
  #driver: CoreDriver | null = null
  #id: string | null = null
  #state: 'opening' | 'open' | 'failed' | 'closing' | 'closed' = 'opening'
  /** Why the Replicator could not start, if it could not: every write is refused with it. */
  #failure: Error | null = null
  #closing: Promise<void> | null = null

  constructor (db: ReplicatedDatabase, options?: ReplicatorOptions) {
    super()
    this.#options = resolveOptions(options)
    this.#db = db
    this.#wrapped = wrapDatabase(db, (ops, writeId) => this.#write(ops, writeId ?? { writer: this.#writer, counter: ++this.#counter }))
    for (const address of this.#options.peers) this.#addSlot(address)
    this.#started = this.#start().catch((error: unknown) => {
      // It cannot replicate: it refuses writes and says why, and stays wrapped (fail closed)
      // until the user closes it.
      const cause = error instanceof Error ? error : new Error(String(error))
      this.#failure = createError(`Replicator failed to start: ${cause.message}`, CODES.DATABASE_NOT_OPEN, { cause })
      if (this.#state === 'opening') this.#state = 'failed'
      for (const { reject } of this.#beforeStart.splice(0)) reject(this.#failure)
      this.#report(cause)
    })
  }

  get id (): string | null {
    return this.#id
  }

  createServer (): Duplex {
    const { outer, inner } = serverStreamPair()
    this.#serverStreams.add(inner)
    inner.once('close', () => { this.#serverStreams.delete(inner) })
    this.#started.then(() => {
      if (this.#state !== 'open') {
        inner.destroy()
        return
      }
      const connection = this.#connect(inner)
      connection.once('open', (hello) => { this.#onInboundOpen(connection, hello.id, hello.address) })
    }, () => {})
    return outer
  }

  addPeer (peer: PeerAddress): void {
    const address = checkAddress(peer, 'peer')
    if (this.#state === 'closing' || this.#state === 'closed') throw createError('Replicator is closed', CODES.DATABASE_NOT_OPEN)
    if (this.#slots.some((slot) => sameAddress(slot.address, address))) return
    const slot = this.#addSlot(address)
    if (this.#driver !== null) {
      this.#driver.peerAdded()
      slot.dialer.start()
    }
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
    const store = new LevelStore(this.#db, {
      batch: this.#wrapped.rawBatch,
      sync: options.sync,
      onHealth: (error) => { driver?.storage(error) }
    })
    const id = await store.hostId()
    if (this.#state !== 'opening') return
    this.#store = store
    this.#id = id
    driver = new CoreDriver(store, options.witness, {
      id,
      peerCount: this.#slots.length,
      minConsensus: options.minConsensus,
      writeTimeoutMs: options.writeTimeoutMs,
      logRetention: options.logRetention,
      // A quarter of a frame: a full group or catch-up message fits with room to spare.
      messageBytesMax: Math.floor(options.frameBytesMax / 4),
      tickIntervalMs: options.tickIntervalMs,
      sync: options.sync,
      wall: options.now
    }, {
      send: (to, message) => { this.#connections.get(to)?.[0]?.send(message) },
      event: (event) => { this.emit(event) },
      error: (error) => { this.#report(error) }
    })
    this.#driver = driver
    this.#state = 'open'
    await driver.start()
    for (const { ops, id: writeId, resolve, reject } of this.#beforeStart.splice(0)) driver.write(ops, writeId).then(resolve, reject)
    for (const slot of this.#slots) slot.dialer.start()
  }

  #write (ops: Op[], id: WriteId): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
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

  #addSlot (address: PeerAddress): Slot {
    const { transport, reconnectMsMin, reconnectMsMax, failAfter } = this.#options
    const dialer = new Dialer(address, { transport, backoffMsMin: reconnectMsMin, backoffMsMax: reconnectMsMax, failAfter })
    const slot: Slot = { address, dialer, id: null }
    dialer.on('stream', (stream) => {
      if (this.#state !== 'open') {
        stream.destroy()
        return
      }
      const connection = this.#connect(stream)
      connection.once('open', (hello) => {
        dialer.markHealthy()
        this.#bind(slot, hello.id)
        this.#register(connection, hello.id, true)
      })
    })
    dialer.on('reconnect', () => { this.emit('reconnect', address.host, address.port) })
    dialer.on('fail', () => { this.emit('fail', address.host, address.port) })
    this.#slots.push(slot)
    return slot
  }

  #connect (stream: ByteStream): PeerConnection {
    const id = this.#id
    assert(id !== null, 'connections start after the identity is loaded')
    const { address, secret, frameBytesMax, callTimeoutMs, pingIntervalMs } = this.#options
    const connection = overStream(stream, (channel) => new PeerConnection(channel, { localId: id, address, secret, frameBytesMax, callTimeoutMs, pingIntervalMs }))
    this.#all.add(connection)
    connection.on('message', (message) => {
      const from = connection.remote?.id
      if (from !== undefined && this.#connections.get(from)?.includes(connection) === true) this.#driver?.message(from, message)
    })
    connection.once('close', (error) => {
      this.#unregister(connection)
      if (error !== null) this.#report(error)
    })
    return connection
  }

  #onInboundOpen (connection: PeerConnection, id: HostId, announced: PeerAddress | null): void {
    const slot = this.#slots.find((candidate) => candidate.id === id) ??
      (announced === null ? undefined : this.#slots.find((candidate) => sameAddress(candidate.address, announced)))
    if (slot === undefined) {
      // Not (yet) known as a configured peer: held until a dial to a configured address
      // reveals this identity. Membership never grows from what another host says.
      this.#unbound.add(connection)
      return
    }
    this.#bind(slot, id)
    this.#register(connection, id, false)
  }

  #bind (slot: Slot, id: HostId): void {
    slot.id = id
    for (const connection of this.#unbound) {
      if (connection.remote?.id !== id) continue
      this.#unbound.delete(connection)
      this.#register(connection, id, false)
    }
  }

  #register (connection: PeerConnection, id: HostId, outbound: boolean): void {
    const list = this.#connections.get(id) ?? []
    // Send over our own dialed connection when there is one: its socket is ours to tune
    // (TCP_NODELAY), while an inbound one comes from the user's server, often with Nagle on.
    if (outbound) list.unshift(connection)
    else list.push(connection)
    this.#connections.set(id, list)
    if (list.length > 1) return
    const address = this.#addressOf(id, connection)
    this.#driver?.connected(id)
    this.emit('connect', address.host, address.port)
  }

  #unregister (connection: PeerConnection): void {
    this.#all.delete(connection)
    this.#unbound.delete(connection)
    const id = connection.remote?.id
    if (id === undefined) return
    const list = this.#connections.get(id)
    const index = list?.indexOf(connection) ?? -1
    if (list === undefined || index === -1) return
    list.splice(index, 1)
    if (list.length > 0) return
    this.#connections.delete(id)
    const address = this.#addressOf(id, connection)
    this.#driver?.disconnected(id)
    if (this.#state === 'open') this.emit('disconnect', address.host, address.port)
  }

  #addressOf (id: HostId, connection: PeerConnection): PeerAddress {
    return this.#slots.find((slot) => slot.id === id)?.address ?? connection.remote?.address ?? { host: 'unknown', port: 0 }
  }

  #report (error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error)
  }

  async #close (): Promise<void> {
    this.#state = 'closing'
    const closed = createError('Replicator closed before the write was submitted; nothing was written', CODES.DATABASE_NOT_OPEN)
    for (const { reject } of this.#beforeStart.splice(0)) reject(closed)
    await this.#started
    // Writes settle first, with connections still up: aborts and commits can still be told.
    await this.#driver?.close()
    for (const slot of this.#slots) slot.dialer.stop()
    for (const connection of [...this.#all]) connection.close()
    for (const stream of this.#serverStreams) stream.destroy()
    await this.#store?.close()
    this.#wrapped.unwrap()
    this.#driver = null
    this.#state = 'closed'
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1'])

function sameAddress (a: PeerAddress, b: PeerAddress): boolean {
  return a.port === b.port && (a.host === b.host || (LOOPBACK.has(a.host) && LOOPBACK.has(b.host)))
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
