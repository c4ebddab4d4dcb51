import { EventEmitter } from 'events'
import type { Duplex as ByteStream } from 'node:stream'
import type { Duplex } from 'readable-stream'
import { assert } from '../core/index.js'
import { CODES } from '../errors.js'
import type { HostId, Message } from '../core/index.js'
import { Dialer, type DialerOptions } from '../transport/dialer.js'
import { type PeerAddress, PeerConnection, type PeerConnectionOptions } from '../transport/peer-connection.js'
import { serverStreamPair } from '../transport/server-stream.js'
import { overStream } from '../transport/stream-channel.js'

/** What the registry tells its owner, in the order it happens. */
interface PeerHooks {
  /** The first authenticated connection to this configured peer is up. */
  readonly connected: (id: HostId) => void
  /** The last connection to this peer is gone. */
  readonly disconnected: (id: HostId) => void
  /** A message from a configured peer; held connections deliver nothing. */
  readonly message: (from: HostId, message: Message) => void
  /** A connection ended badly (a bad frame, a failed handshake): why. */
  readonly error: (error: Error) => void
  /**
   * A connection ended as networks end them (a call unanswered, the stream lost): no fault of
   * the peer's, and the dialer tries again.
   */
  readonly dropped: (error: Error) => void
}

/** The Replicator's connection events, each naming the peer's address. */
/** One configured peer as `status()` shows it. */
export interface PeerStatus {
  readonly host: string
  readonly port: number
  /** Its cluster identity, once a connection proved it. */
  readonly id: string | null
  readonly connected: boolean
  /** When a frame last came from it (ms since the epoch), over any of its connections. */
  readonly lastContactAt: number | null
  /** How long its last answered ping took, in ms. */
  readonly roundTripMs: number | null
  /** Whether this host dials it (false for a peer that only dials in). */
  readonly dialed: boolean
}

export interface PeerEvents {
  /** The first authenticated connection to a configured peer is up. */
  connect: [host: string, port: number]
  /** The last connection to a peer is gone; not emitted once a closing Replicator stopped accepting. */
  disconnect: [host: string, port: number]
  /** A new connection attempt to a configured peer starts. */
  reconnect: [host: string, port: number]
  /** `failAfter` attempts in a row failed; attempts go on at the longest backoff. */
  fail: [host: string, port: number]
}

interface PeerRegistryOptions {
  /** For every connection; the local identity comes with `start`. */
  readonly connection: Omit<PeerConnectionOptions, 'localId'>
  readonly dial: DialerOptions
}

interface ConfiguredPeer {
  readonly address: PeerAddress
  /** Null for a peer that only dials in. */
  readonly dialer: Dialer | null
  /** Who is at this address, once a connection proved it. */
  id: HostId | null
}

/**
 * The hosts this host replicates with, and its connections to them (SPEC §7). Membership is
 * the configured peers: an inbound connection whose identity no configured peer has shown
 * is held, delivering nothing, until a dial to a configured address reveals that identity.
 * Membership never grows from what another host says. Connections open only after `start`;
 * `createServer()` streams made before wait for it.
 */
export class PeerRegistry extends EventEmitter<PeerEvents> {
  readonly #options: PeerRegistryOptions
  readonly #hooks: PeerHooks
  readonly #configured: ConfiguredPeer[] = []
  /** Authenticated connections of configured peers, by identity; the first carries what we send. */
  readonly #byId = new Map<HostId, PeerConnection[]>()
  /** Authenticated inbound connections whose identity no configured peer has shown yet. */
  readonly #held = new Set<PeerConnection>()
  readonly #connections = new Set<PeerConnection>()
  /** `createServer()` streams made before `start`. */
  readonly #waiting = new Set<ByteStream>()
  #localId: HostId | null = null
  /** `draining`: no new connection, while those open carry the last writes (SPEC §4.6). */
  #state: 'waiting' | 'open' | 'draining' | 'closed' = 'waiting'

  constructor (peers: readonly PeerAddress[], options: PeerRegistryOptions, hooks: PeerHooks) {
    super()
    this.#options = options
    this.#hooks = hooks
    for (const address of peers) this.#configure(address)
  }

  /** How many peers are configured: the cluster, less this host. */
  get size (): number {
    return this.#configured.length
  }

  /** Whether a peer is configured at `address`; the loopback names are one host. */
  knows (address: PeerAddress): boolean {
    return this.#configured.some((peer) => sameAddress(peer.address, address))
  }

  /** Every configured peer, with its connection's state. */
  status (): PeerStatus[] {
    return this.#configured.map((peer) => {
      const connections = peer.id === null ? [] : this.#byId.get(peer.id) ?? []
      const contacts = connections.map((connection) => connection.lastContactAt).filter((at): at is number => at !== null)
      const trips = connections.map((connection) => connection.roundTripMs).filter((ms): ms is number => ms !== null)
      return {
        host: peer.address.host,
        port: peer.address.port,
        id: peer.id,
        connected: connections.length > 0,
        lastContactAt: contacts.length === 0 ? null : Math.max(...contacts),
        roundTripMs: trips.length === 0 ? null : Math.round(Math.min(...trips) * 1000) / 1000,
        dialed: peer.dialer !== null
      }
    })
  }

  /**
   * The membership changed (SPEC §15.4): peers no longer members are dropped (dialer and
   * connections), new ones configured and dialed, and held connections that announce one of
   * them counted. The core forgot every connection: those of the peers kept are reported
   * connected again.
   */
  reconfigure (addresses: readonly PeerAddress[]): void {
    const kept = this.#configured.filter((peer) => addresses.some((address) => sameAddress(address, peer.address)))
    for (const peer of this.#configured) {
      if (kept.includes(peer)) continue
      peer.dialer?.stop()
      if (peer.id !== null) for (const connection of [...this.#byId.get(peer.id) ?? []]) connection.close()
    }
    this.#configured.splice(0, this.#configured.length, ...kept)
    for (const address of addresses) {
      if (kept.some((peer) => sameAddress(peer.address, address))) continue
      const peer = this.#configure(address)
      if (this.#state === 'open') peer.dialer?.start()
      for (const connection of [...this.#held]) {
        const announced = connection.remote?.address
        if (announced !== undefined && announced !== null && sameAddress(announced, address) && connection.remote !== null) this.#bind(peer, connection.remote.id)
      }
    }
    if (this.#state !== 'open') return
    for (const peer of kept) {
      if (peer.id !== null && (this.#byId.get(peer.id)?.length ?? 0) > 0) this.#hooks.connected(peer.id)
    }
  }

  /** Opens for connections as `localId`: dials every configured peer, then serves waiting streams. */
  start (localId: HostId): void {
    if (this.#state !== 'waiting') return
    this.#localId = localId
    this.#state = 'open'
    for (const peer of this.#configured) peer.dialer?.start()
    for (const stream of this.#waiting) this.#accept(stream)
    this.#waiting.clear()
  }

  /** A stream for a connection a peer opened; see `Replicator.createServer`. */
  createServer (): Duplex {
    const { outer, inner } = serverStreamPair()
    if (this.#state === 'open') {
      this.#accept(inner)
    } else if (this.#state === 'waiting') {
      this.#waiting.add(inner)
      inner.once('close', () => { this.#waiting.delete(inner) })
    } else {
      inner.destroy()
    }
    return outer
  }

  /** Sends over the peer's first connection, if it has one; the core never relies on delivery. */
  send (to: HostId, message: Message): void {
    this.#byId.get(to)?.[0]?.send(message)
  }

  /** Refuses new connections and stops `disconnect` events; open connections stay. */
  stopAccepting (): void {
    if (this.#state === 'closed' || this.#state === 'draining') return
    this.#state = 'draining'
    for (const stream of this.#waiting) stream.destroy()
    this.#waiting.clear()
  }

  /** Stops dialing and ends every connection and stream. */
  close (): void {
    if (this.#state === 'closed') return
    this.stopAccepting()
    this.#state = 'closed'
    for (const peer of this.#configured) peer.dialer?.stop()
    for (const connection of [...this.#connections]) connection.close()
  }

  #configure (address: PeerAddress): ConfiguredPeer {
    // A peer that only dials in is known by the address it announces, and never dialed.
    if (address.dial === false) {
      const peer: ConfiguredPeer = { address, dialer: null, id: null }
      this.#configured.push(peer)
      return peer
    }
    const dialer = new Dialer(address, this.#options.dial)
    const peer: ConfiguredPeer = { address, dialer, id: null }
    dialer.on('stream', (stream) => {
      if (this.#state !== 'open') {
        stream.destroy()
        return
      }
      const connection = this.#connect(stream)
      connection.once('open', (hello) => {
        dialer.markHealthy()
        this.#bind(peer, hello.id)
        this.#register(connection, hello.id, 'dialed')
      })
    })
    dialer.on('reconnect', () => { this.emit('reconnect', address.host, address.port) })
    dialer.on('fail', () => { this.emit('fail', address.host, address.port) })
    this.#configured.push(peer)
    return peer
  }

  #accept (stream: ByteStream): void {
    const connection = this.#connect(stream)
    connection.once('open', (hello) => {
      const announced = hello.address
      const peer = this.#configured.find((candidate) => candidate.id === hello.id) ??
        (announced === null ? undefined : this.#configured.find((candidate) => sameAddress(candidate.address, announced)))
      if (peer === undefined) {
        this.#held.add(connection)
        return
      }
      this.#bind(peer, hello.id)
      this.#register(connection, hello.id, 'accepted')
    })
  }

  #connect (stream: ByteStream): PeerConnection {
    const localId = this.#localId
    assert(localId !== null, 'connections open only once the registry has started')
    const connection = overStream(stream, (channel) => new PeerConnection(channel, { ...this.#options.connection, localId }))
    this.#connections.add(connection)
    connection.on('message', (message) => {
      const from = connection.remote?.id
      if (from !== undefined && this.#byId.get(from)?.includes(connection) === true) this.#hooks.message(from, message)
    })
    connection.once('close', (error) => {
      this.#unregister(connection)
      if (error === null) return
      const code = (error as { code?: unknown }).code
      if (code === CODES.TIMEOUT || code === CODES.CONNECTION_LOST) this.#hooks.dropped(error)
      else this.#hooks.error(error)
    })
    return connection
  }

  /** `peer` is `id`: connections from `id` held until now count from now on. */
  #bind (peer: ConfiguredPeer, id: HostId): void {
    peer.id = id
    for (const connection of this.#held) {
      if (connection.remote?.id !== id) continue
      this.#held.delete(connection)
      this.#register(connection, id, 'accepted')
    }
  }

  #register (connection: PeerConnection, id: HostId, direction: 'dialed' | 'accepted'): void {
    const list = this.#byId.get(id) ?? []
    // Send over our own dialed connection when there is one: its socket is ours to tune
    // (TCP_NODELAY), while an inbound one comes from the user's server, often with Nagle on.
    if (direction === 'dialed') list.unshift(connection)
    else list.push(connection)
    this.#byId.set(id, list)
    if (list.length > 1) return
    const address = this.#addressOf(id, connection)
    this.#hooks.connected(id)
    this.emit('connect', address.host, address.port)
  }

  #unregister (connection: PeerConnection): void {
    this.#connections.delete(connection)
    this.#held.delete(connection)
    const id = connection.remote?.id
    if (id === undefined) return
    const list = this.#byId.get(id)
    const index = list?.indexOf(connection) ?? -1
    if (list === undefined || index === -1) return
    list.splice(index, 1)
    if (list.length > 0) return
    this.#byId.delete(id)
    const address = this.#addressOf(id, connection)
    this.#hooks.disconnected(id)
    if (this.#state === 'open') this.emit('disconnect', address.host, address.port)
  }

  #addressOf (id: HostId, connection: PeerConnection): PeerAddress {
    return this.#configured.find((peer) => peer.id === id)?.address ?? connection.remote?.address ?? { host: 'unknown', port: 0 }
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1'])

function sameAddress (a: PeerAddress, b: PeerAddress): boolean {
  const [hostA, hostB] = [a.host.toLowerCase(), b.host.toLowerCase()]
  return a.port === b.port && (hostA === hostB || (LOOPBACK.has(hostA) && LOOPBACK.has(hostB)))
}
