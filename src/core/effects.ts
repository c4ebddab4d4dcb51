import type { DataRecord, HostId, Key, LogEntry, Op, Version } from './types.js'
import type { Message } from './messages.js'

export type RequestId = number

/** Why a write failed. Whatever the reason, a failed write changed nothing on any host. */
export type FailureReason =
  /** Fewer than `minConsensus` peers were connected until the deadline. */
  | 'not-ready'
  /** Conflicting transactions held the keys until the deadline. */
  | 'conflict'
  /** Too few peers voted yes in time, until the deadline. */
  | 'no-quorum'
  /** The deadline passed with no more specific reason. */
  | 'timeout'

export type WriteResult = { readonly ok: true } | { readonly ok: false, readonly reason: FailureReason }

/** What the core's host must durably write, in one atomic batch, in the order given. */
export type StorageWrite =
  | { readonly type: 'data', readonly key: Key, readonly record: DataRecord }
  | { readonly type: 'prepare', readonly origin: HostId, readonly seq: number, readonly ops: readonly Op[] }
  | { readonly type: 'unprepare', readonly origin: HostId, readonly seq: number }
  | { readonly type: 'log', readonly entry: LogEntry }
  /** Deletes the log entries of `origin` that start below `before`. */
  | { readonly type: 'truncate-log', readonly origin: HostId, readonly before: number }
  | { readonly type: 'mark', readonly origin: HostId, readonly contiguous: number }
  | { readonly type: 'floor', readonly origin: HostId, readonly floor: number }
  | { readonly type: 'clock', readonly ts: number }
  | { readonly type: 'reserved', readonly seq: number }

/**
 * Reads the core asks of storage. Storage executes reads and writes in the order they were
 * issued, so a read sees every write issued before it.
 */
export type Query =
  | { readonly type: 'versions', readonly keys: readonly Key[] }
  /**
   * Log entries with `seq > after[origin]` for each origin named, in (origin, seq) order: at
   * most `limit`, cut by `takeWithinBytes` to `bytesMax`. `snapshot-read` is cut the same way.
   */
  | { readonly type: 'log', readonly after: Readonly<Record<HostId, number>>, readonly limit: number, readonly bytesMax: number }
  /**
   * The next `limit` data records (tombstones included) of a consistent snapshot; the first
   * read of a session opens it, the read that returns `done` closes it.
   */
  | { readonly type: 'snapshot-read', readonly session: number, readonly limit: number, readonly bytesMax: number }
  | { readonly type: 'snapshot-close', readonly session: number }

export type QueryResult =
  | { readonly type: 'versions', readonly versions: ReadonlyArray<Version | undefined> }
  | { readonly type: 'log', readonly entries: readonly LogEntry[] }
  | { readonly type: 'snapshot-read', readonly records: ReadonlyArray<readonly [Key, DataRecord]>, readonly done: boolean }
  | { readonly type: 'snapshot-close' }

export type Input =
  | { readonly type: 'write', readonly now: number, readonly request: RequestId, readonly ops: readonly Op[] }
  | { readonly type: 'message', readonly now: number, readonly from: HostId, readonly message: Message }
  | { readonly type: 'persisted', readonly now: number, readonly id: number }
  | { readonly type: 'read', readonly now: number, readonly id: number, readonly result: QueryResult }
  | { readonly type: 'connected', readonly now: number, readonly peer: HostId }
  | { readonly type: 'disconnected', readonly now: number, readonly peer: HostId }
  /** The cluster gained a configured peer (its identity is learned when it connects). */
  | { readonly type: 'peer-added', readonly now: number }
  | { readonly type: 'tick', readonly now: number }

export type Effect =
  | { readonly type: 'send', readonly to: HostId, readonly message: Message }
  | { readonly type: 'persist', readonly id: number, readonly writes: readonly StorageWrite[] }
  | { readonly type: 'read', readonly id: number, readonly query: Query }
  | { readonly type: 'reply', readonly request: RequestId, readonly result: WriteResult }
  | { readonly type: 'event', readonly event: 'ready' | 'notready' }

/** What a host had durably written, handed to the core when it starts. */
export interface DurableState {
  readonly clock: number
  /** Highest own sequence number reserved before sending a prepare. */
  readonly reserved: number
  readonly marks: Readonly<Record<HostId, number>>
  readonly floors: Readonly<Record<HostId, number>>
  /** Spans of log entries applied above the contiguous mark of their origin. */
  readonly above: ReadonlyArray<{ readonly origin: HostId, readonly seq: number, readonly last: number }>
  readonly prepared: ReadonlyArray<{ readonly origin: HostId, readonly seq: number, readonly ops: readonly Op[] }>
}

export const EMPTY_DURABLE_STATE: DurableState = {
  clock: 0,
  reserved: 0,
  marks: {},
  floors: {},
  above: [],
  prepared: []
}
