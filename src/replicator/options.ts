import { CODES, createError } from '../errors.js'
import type { PeerAddress } from '../transport/peer-connection.js'
import type { Listen } from '../transport/listen.js'
import { defaultListen, defaultTransport, defaultWitness } from '../platform/node.js'
import type { Transport } from '../transport/dialer.js'
import { FRAME_BYTES_MAX_DEFAULT } from '../wire/limits.js'
import type { DurabilityWitness } from '../storage/durability.js'
import type { Logger } from './logger.js'

/** Options of `Replicator(db, options)`. */
export interface ReplicatorOptions {
  /** This host's endpoint as peers dial it; announced in the handshake. */
  host?: string
  port?: number
  /**
   * The interface `listen()` (and a QuorumLevel leader) accepts peers on, when it is not the
   * announced `host`: `'0.0.0.0'` or `'::'` for every one. @default `host` (every interface without it)
   */
  listenHost?: string
  /**
   * The hosts of the cluster. Membership is exactly these plus `addPeer()`. The same list may
   * be given to every host: an entry equal to this host's own `host` and `port` is skipped, and
   * an entry given twice counts once.
   */
  peers?: PeerAddress[]
  /**
   * Peers (not counting this host) that must be connected for writes to start, and must vote
   * yes and apply a write before it resolves. @default all peers
   */
  minConsensus?: number
  /** Consecutive failed connection attempts to a peer before `fail` is emitted. @default 16 */
  failAfter?: number
  /** Opens a stream to a peer. @default TCP */
  transport?: Transport
  /** Accepts peers' streams, for `listen()` (and a QuorumLevel's leader). @default TCP */
  listen?: Listen
  /** Shared by the cluster; peers must prove they know it. Never sent over the wire. */
  secret?: string
  /** Milliseconds a write waits for readiness, votes and conflict retries before it fails. @default 10000 */
  writeTimeout?: number
  /** Milliseconds a peer call (handshake, ping) may take before the connection is dropped. @default 5000 */
  callTimeout?: number
  /** fsync every internal write batch. Without it, writes survive a killed process but not a power loss. @default false */
  sync?: boolean
  /** Committed transactions kept per origin for catch-up; a host further behind gets a full copy. @default 100000 */
  logRetention?: number
  /**
   * Most bytes of committed transactions (their keys and values, and 32 each) kept per origin
   * for catch-up; the newest is always kept. @default 268435456 (256 MiB)
   */
  logRetentionBytes?: number
  /**
   * Milliseconds between passes that delete the tombstones every member has passed (README,
   * Deletes); 0: keep every tombstone. @default 60000
   */
  tombstoneInterval?: number
  /**
   * Changes the change feed keeps at least, for consumers resuming from a position; one
   * further back gets `LEVEL_FEED_COMPACTED`. @default 100000
   */
  feedRetention?: number
  /** Largest frame accepted from a peer, in bytes. */
  frameBytesMax?: number
  /** Reconnection backoff bounds, in milliseconds. @default 100 and 10000 */
  reconnectMsMin?: number
  reconnectMsMax?: number
  /** Milliseconds between protocol timer ticks. @default 10 */
  tickInterval?: number
  /**
   * The wall clock, used only as a lower bound for the timestamps of versions: it may step
   * back or forward without harm (timeouts run on a monotonic clock). @default Date.now
   */
  now?: () => number
  /** Called with a structured record of what the host does (README, Logging). @default none: silent */
  logger?: Logger
  /**
   * Tells at start whether the database may have gone back in time (a power loss without
   * `sync`, a restore from a copy), in which case the host asks every peer before it decides
   * anything. @default a note per host in the temporary directory
   */
  witness?: DurabilityWitness
}

export interface ResolvedOptions {
  readonly address: PeerAddress | null
  readonly peers: PeerAddress[]
  readonly minConsensus: number
  readonly failAfter: number
  /** Null where there is no default (a browser) and none was given: nothing can be dialed. */
  readonly transport: Transport | null
  readonly listen: Listen
  /** Where `listen()` listens: the `host` option as given (undefined: every interface). */
  readonly listenHost: string | undefined
  readonly secret: string | null
  readonly writeTimeoutMs: number
  readonly callTimeoutMs: number
  readonly pingIntervalMs: number
  readonly sync: boolean
  readonly logRetention: number
  readonly logRetentionBytes: number
  readonly tombstoneIntervalMs: number
  readonly feedRetention: number
  readonly frameBytesMax: number
  readonly reconnectMsMin: number
  readonly reconnectMsMax: number
  readonly tickIntervalMs: number
  readonly now: () => number
  readonly witness: DurabilityWitness
  readonly logger: Logger | undefined
}

export function resolveOptions (options: ReplicatorOptions | undefined): ResolvedOptions {
  const o = options ?? {}
  if (typeof o !== 'object') throw invalid('options must be an object')
  const address = o.port === undefined && o.host === undefined ? null : checkAddress({ host: o.host ?? 'localhost', port: o.port as number }, 'host/port')
  const peers = otherHosts((o.peers ?? []).map((peer, i) => checkAddress(peer, `peers[${i}]`)), address)
  if (o.listenHost !== undefined && (typeof o.listenHost !== 'string' || o.listenHost.length === 0)) throw invalid('listenHost must be a non-empty string')
  const minConsensus = o.minConsensus ?? peers.length
  if (!Number.isInteger(minConsensus) || minConsensus < 0 || minConsensus > peers.length) {
    throw invalid(`minConsensus must be an integer from 0 to the number of peers (${peers.length})`)
  }
  if (o.transport !== undefined && typeof o.transport !== 'function') throw invalid('transport must be a function (port, host) => Duplex')
  if (o.listen !== undefined && typeof o.listen !== 'function') throw invalid('listen must be a function (port, host, accept) => Promise<{ close }>')
  if (o.secret !== undefined && (typeof o.secret !== 'string' || o.secret.length === 0)) throw invalid('secret must be a non-empty string')
  if (o.sync !== undefined && typeof o.sync !== 'boolean') throw invalid('sync must be a boolean')
  if (o.now !== undefined && typeof o.now !== 'function') throw invalid('now must be a function')
  if (o.logger !== undefined && typeof o.logger !== 'function') throw invalid('logger must be a function (record) => void')
  if (o.witness !== undefined && (typeof o.witness !== 'object' || o.witness === null || typeof o.witness.check !== 'function')) throw invalid('witness must be a DurabilityWitness')
  const callTimeoutMs = positive(o.callTimeout, 5_000, 'callTimeout')
  const transport = o.transport ?? defaultTransport
  if (transport === null && peers.length > 0) throw invalid('transport is required here (no TCP in a browser): give webSocketTransport()')
  return {
    address,
    peers,
    minConsensus,
    failAfter: positive(o.failAfter, 16, 'failAfter'),
    transport,
    listen: o.listen ?? defaultListen ?? cannotListen,
    listenHost: o.listenHost ?? o.host,
    secret: o.secret ?? null,
    writeTimeoutMs: positive(o.writeTimeout, 10_000, 'writeTimeout'),
    callTimeoutMs,
    pingIntervalMs: callTimeoutMs,
    sync: o.sync ?? false,
    logRetention: positive(o.logRetention, 100_000, 'logRetention'),
    logRetentionBytes: positive(o.logRetentionBytes, 256 * 1024 * 1024, 'logRetentionBytes'),
    tombstoneIntervalMs: nonNegative(o.tombstoneInterval, 60_000, 'tombstoneInterval'),
    feedRetention: positive(o.feedRetention, 100_000, 'feedRetention'),
    frameBytesMax: positive(o.frameBytesMax, FRAME_BYTES_MAX_DEFAULT, 'frameBytesMax'),
    reconnectMsMin: positive(o.reconnectMsMin, 100, 'reconnectMsMin'),
    reconnectMsMax: positive(o.reconnectMsMax, 10_000, 'reconnectMsMax'),
    tickIntervalMs: positive(o.tickInterval, 10, 'tickInterval'),
    now: o.now ?? Date.now,
    witness: o.witness ?? defaultWitness,
    logger: o.logger
  }
}

export function checkAddress (peer: unknown, name: string): PeerAddress {
  if (typeof peer !== 'object' || peer === null) throw invalid(`${name} must be { host, port }`)
  const { host, port } = peer as Record<string, unknown>
  if (typeof host !== 'string' || host.length === 0) throw invalid(`${name}.host must be a non-empty string`)
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535) throw invalid(`${name}.port must be a port number`)
  const { dial } = peer as Record<string, unknown>
  if (dial !== undefined && typeof dial !== 'boolean') throw invalid(`${name}.dial must be a boolean`)
  return dial === false ? { host, port: port as number, dial } : { host, port: port as number }
}

/**
 * The peers other than this host, each once: one member list can serve every host. Names are
 * compared as given (a host named two ways is two entries), without resolving them.
 */
function otherHosts (peers: PeerAddress[], self: PeerAddress | null): PeerAddress[] {
  const seen = new Set<string>()
  if (self !== null) seen.add(`${self.host.toLowerCase()}:${self.port}`)
  return peers.filter((peer) => {
    const name = `${peer.host.toLowerCase()}:${peer.port}`
    if (seen.has(name)) return false
    seen.add(name)
    return true
  })
}

function positive (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw invalid(`${name} must be a positive integer`)
  return value
}

function nonNegative (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 0) throw invalid(`${name} must be a non-negative integer`)
  return value
}

function invalid (message: string): Error {
  return createError(message, CODES.INVALID_OPTION, { expected: true })
}

/** Where there is no default way to accept peers (a browser), `listen()` says so. */
const cannotListen: Listen = async () => {
  throw createError('listen() cannot accept peers here (a browser): give the listen option', CODES.NOT_SUPPORTED, { expected: true })
}
