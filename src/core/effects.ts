import type { DataRecord, HostId, Key, KeyRange, LogEntry, Op, Version, WriteId } from './types.js'
import type { Message } from './messages.js'
import type { Membership, MembershipChange } from './membership.js'

export type RequestId = number

/** A run of one origin's sequence numbers, inclusive. */
export interface LogRange {
  readonly origin: HostId
  readonly from: number
  readonly to: number
}

/**
 * Why a write did not resolve. Every reason but `unconfirmed` means the write changed nothing
 * on any host, and never will.
 */
export type FailureReason =
  /** Fewer than `minConsensus` peers were connected until the deadline. */
  | 'not-ready'
  /** Conflicting transactions held the keys until the deadline. */
  | 'conflict'
  /** Too few peers voted yes in time, until the deadline. */
  | 'no-quorum'
  /** The deadline passed with no more specific reason. */
  | 'timeout'
  /** Storage failed until the deadline. */
  | 'storage'
  /** The host was still recovering from a restart that may have lost data (SPEC §5.4). */
  | 'recovering'
  /** The node was closed before the write committed. */
  | 'closed'
  /**
   * The write IS committed at its origin (and will reach every host), but fewer than
   * `minConsensus` peers confirmed holding it by the deadline, or before a close.
   */
  | 'unconfirmed'

/** Why a strong read did not answer (SPEC §14). */
export type ReadFailure =
  /** Fewer peers than it needs were connected until the deadline. */
  | 'not-ready'
  /** The deadline passed: transactions held the keys, or peers did not answer. */
  | 'timeout'
  /** `minConsensus` is not a majority: no set of answers is sure to meet every write quorum. */
  | 'not-majority'
  /** The records do not fit a message. */
  | 'too-large'
  | 'closed'

export type ReadResult =
  | { readonly ok: true, readonly records: ReadonlyArray<DataRecord | undefined> }
  | { readonly ok: false, readonly reason: ReadFailure }

/** Why a membership change did not happen. */
export type ChangeFailure =
  /** The change breaks a rule (SPEC §15.1); `message` says which. */
  | 'invalid'
  /** Another change is under way on this host. */
  | 'busy'
  | 'not-ready'
  | 'timeout'
  | 'closed'

export type ChangeResult =
  | { readonly ok: true, readonly membership: Membership }
  | { readonly ok: false, readonly reason: ChangeFailure, readonly message?: string }

export type WriteResult = { readonly ok: true } | { readonly ok: false, readonly reason: FailureReason }

/** What the failed-writes record of a writer holds: runs of counters that failed, with why. */
export interface FailedRun {
  readonly from: number
  readonly to: number
  readonly reason: FailureReason
}

/** What a host knows of one writer's writes (SPEC §4.7), as stored and as read back. */
export interface WriterRecord {
  /** The highest counter committed, and the own transaction that committed it (0, 0: none). */
  readonly counter: number
  readonly seq: number
  /** Counters whose writes failed, so a retry of one is answered with the same failure. */
  readonly failed: readonly FailedRun[]
}

/** What the core's host must durably write, in one atomic batch, in the order given. */
export type StorageWrite =
  | { readonly type: 'data', readonly key: Key, readonly record: DataRecord }
  /** `clock` is the voter's clock when it took the locks: what its yes vote carries (SPEC §3). */
  | { readonly type: 'prepare', readonly origin: HostId, readonly seq: number, readonly ops: readonly Op[], readonly clock: number }
  | { readonly type: 'unprepare', readonly origin: HostId, readonly seq: number }
  | { readonly type: 'log', readonly entry: LogEntry }
  /** Deletes the log entries of `origin` that start below `before`. */
  | { readonly type: 'truncate-log', readonly origin: HostId, readonly before: number }
  | { readonly type: 'mark', readonly origin: HostId, readonly contiguous: number }
  | { readonly type: 'floor', readonly origin: HostId, readonly floor: number }
  | { readonly type: 'clock', readonly ts: number }
  | { readonly type: 'reserved', readonly seq: number }
  /** A writer's highest committed counter; local to this host, never replicated. */
  | { readonly type: 'writer-committed', readonly writer: string, readonly counter: number, readonly seq: number }
  /** A writer's failed counters; local to this host, never replicated. */
  | { readonly type: 'writer-failed', readonly writer: string, readonly failed: readonly FailedRun[] }
  /** The membership in force from this batch on (SPEC §15). */
  | { readonly type: 'membership', readonly membership: Membership }
  /** Deletes a key's data record, value and version: a tombstone collected (SPEC §6.5). */
  | { readonly type: 'delete', readonly key: Key }
  /** The collection horizon (SPEC §6.5): every commit at or below it is reflected here. */
  | { readonly type: 'horizon', readonly ts: number }
  /**
   * Deletes every data record whose key lies in `range` (a page's: above one key, up to
   * another), whose version's `ts` is at most `through` and whose key is not in `keep`, as
   * stored before this batch: the keys a page of a full copy lacks because its sender
   * collected their tombstones (SPEC §6.3). Comes before the batch's data writes.
   */
  | { readonly type: 'drop-absent', readonly through: number, readonly keep: ReadonlySet<Key>, readonly range: KeyRange }
  /** Puts records of a full copy in the staging area, apart from the data (SPEC §6.3). */
  | { readonly type: 'stage', readonly records: ReadonlyArray<readonly [Key, DataRecord]> }
  /** Deletes staged records: applied to the data in the same batch. */
  | { readonly type: 'unstage', readonly keys: readonly Key[] }
  /**
   * The staging header: where the copy being received or applied stands. `null` deletes it
   * and every staged record; nothing is staged after it in the same batch.
   */
  | { readonly type: 'copy', readonly progress: CopyProgress | null }

/**
 * Reads the core asks of storage. Storage executes reads and writes in the order they were
 * issued, so a read sees every write issued before it.
 */
export type Query =
  | { readonly type: 'versions', readonly keys: readonly Key[] }
  /**
   * The log entries whose seq lies in one of `ranges` (`from..to`, inclusive, of `origin`), in
   * the order of the ranges and then of seq: at most `limit`, cut by `takeWithinBytes` to
   * `bytesMax`. `snapshot-read` is cut the same way.
   */
  | { readonly type: 'log', readonly ranges: readonly LogRange[], readonly limit: number, readonly bytesMax: number }
  /**
   * The next `limit` data records (tombstones included) of a consistent snapshot; the first
   * read of a session opens it, the read that returns `done` closes it.
   */
  | { readonly type: 'snapshot-read', readonly session: number, readonly limit: number, readonly bytesMax: number }
  | { readonly type: 'snapshot-close', readonly session: number }
  /** The writer's records; absent ones read as counter 0, seq 0, no failures. */
  | { readonly type: 'writer', readonly writer: string }
  /** The data record (value or tombstone, and version) of each key, or undefined. */
  | { readonly type: 'records', readonly keys: readonly Key[] }
  /**
   * Of the next `limit` data records after key `after` (from the first if null), in key
   * order, the tombstones whose version's `ts` is at most `through` (SPEC §6.5).
   */
  | { readonly type: 'tombstones', readonly through: number, readonly after: Key | null, readonly limit: number }
  /** The first staged records in key order: at most `limit`, cut like `log` to `bytesMax`, and their keys' stored versions. */
  | { readonly type: 'staged', readonly limit: number, readonly bytesMax: number }

export type QueryResult =
  | { readonly type: 'versions', readonly versions: ReadonlyArray<Version | undefined> }
  | { readonly type: 'log', readonly entries: readonly LogEntry[] }
  | { readonly type: 'snapshot-read', readonly records: ReadonlyArray<readonly [Key, DataRecord]>, readonly done: boolean }
  | { readonly type: 'snapshot-close' }
  | { readonly type: 'writer', readonly record: WriterRecord }
  | { readonly type: 'records', readonly records: ReadonlyArray<DataRecord | undefined> }
  /** `next`: the last key the read went through, to go on after; null when no record is left. */
  | { readonly type: 'tombstones', readonly keys: readonly Key[], readonly next: Key | null }
  /** With the stored version of each record's key (a page is applied with no other read); `done`: no staged record is left after these. */
  | { readonly type: 'staged', readonly records: ReadonlyArray<readonly [Key, DataRecord]>, readonly versions: ReadonlyArray<Version | undefined>, readonly done: boolean }

interface Timed {
  /** Monotonic milliseconds: every timeout is measured on it. Never decreases (asserted). */
  readonly now: number
  /** The host's wall clock in milliseconds: only a lower bound for commit timestamps. It may step. */
  readonly wall: number
}

export type Input = Timed & (
  /**
   * Client writes made together, queued in this order before a transaction starts, so that
   * one group can take them all. `id` names a write across retries (SPEC §4.7).
   */
  | { readonly type: 'write', readonly writes: ReadonlyArray<{ readonly request: RequestId, readonly ops: readonly Op[], readonly id?: WriteId | undefined }> }
  | { readonly type: 'message', readonly from: HostId, readonly message: Message }
  | { readonly type: 'persisted', readonly id: number }
  | { readonly type: 'read', readonly id: number, readonly result: QueryResult }
  | { readonly type: 'connected', readonly peer: HostId }
  | { readonly type: 'disconnected', readonly peer: HostId }
  /** The cluster gained a configured peer (its identity is learned when it connects). */
  | { readonly type: 'peer-added' }
  | { readonly type: 'tick' }
  /** Storage started failing (its operations are being retried) or works again. */
  | { readonly type: 'storage', readonly ok: boolean }
  /** Settle every write and start nothing new (SPEC §4.6). */
  | { readonly type: 'close' }
  /** A strong read of `keys` (SPEC §14), answered by one `read-result`. */
  | { readonly type: 'strong-read', readonly request: RequestId, readonly keys: readonly Key[] }
  /** A fence over `range` (SPEC §14.1), answered by one `read-result` with no records. */
  | { readonly type: 'fence', readonly request: RequestId, readonly range: KeyRange }
  /** A membership change (SPEC §15), answered by one `membership-result`. */
  | { readonly type: 'change-membership', readonly request: RequestId, readonly change: MembershipChange }
)

/** One transaction's operations as they took effect at a host. */
export interface Change {
  readonly origin: HostId
  readonly seq: number
  readonly ops: readonly Op[]
}

export type Effect =
  | { readonly type: 'send', readonly to: HostId, readonly message: Message }
  /** `sync`: the batch must survive a power loss before `persisted` is input, whatever the host's own setting. */
  | { readonly type: 'persist', readonly id: number, readonly writes: readonly StorageWrite[], readonly sync: boolean }
  | { readonly type: 'read', readonly id: number, readonly query: Query }
  | { readonly type: 'reply', readonly request: RequestId, readonly result: WriteResult }
  | { readonly type: 'event', readonly event: 'ready' | 'notready' }
  /**
   * Another origin's commits just became durable here (by decision, catch-up or a held
   * prepare), each with the operations that took effect: those a newer version did not
   * supersede. A full copy reports nothing.
   */
  | { readonly type: 'applied', readonly changes: readonly Change[] }
  /** The answer to a `strong-read`: the newest record of each key among enough hosts. */
  | { readonly type: 'read-result', readonly request: RequestId, readonly result: ReadResult }
  /** The answer to a `change-membership`: the membership now in force here, or why not. */
  | { readonly type: 'membership-result', readonly request: RequestId, readonly result: ChangeResult }
  /**
   * This host now runs under `membership` (SPEC §15.4): it forgot every peer connection, and
   * is told `connected` again for the members it is connected to.
   */
  | { readonly type: 'membership', readonly membership: Membership }

/** What a host had durably written, handed to the core when it starts. */
export interface DurableState {
  /**
   * Whether storage holds everything it ever reported durable: false after a power loss
   * that may have dropped unsynced writes, or a restore from a copy (SPEC §5.4).
   */
  readonly intact: boolean
  readonly clock: number
  /** Highest own sequence number reserved before sending a prepare. */
  readonly reserved: number
  readonly marks: Readonly<Record<HostId, number>>
  readonly floors: Readonly<Record<HostId, number>>
  /** The log entries applied above the contiguous mark of their origin. */
  readonly above: ReadonlyArray<{ readonly origin: HostId, readonly seq: number }>
  /** Every log entry held, with its weight (`entryBytes`): the log is cut by bytes too (SPEC §6.4). */
  readonly logWeights: ReadonlyArray<{ readonly origin: HostId, readonly seq: number, readonly bytes: number }>
  readonly prepared: ReadonlyArray<{ readonly origin: HostId, readonly seq: number, readonly ops: readonly Op[], readonly clock: number }>
  /** The membership last written, if a change was ever applied here. */
  readonly membership: Membership | null
  /** The collection horizon last written (SPEC §6.5); 0 if none. */
  readonly horizon: number
  /** The full copy being received or applied, if one was when the host stopped (SPEC §6.3). */
  readonly copy: CopyProgress | null
}

/** Where a full copy coming in stands, as its staging header holds it (SPEC §6.3). */
export interface CopyProgress {
  readonly from: HostId
  readonly session: number
  /** The chunk asked for next: every one below it is staged. */
  readonly nextPart: number
  /** What the copy stands for: its sender's marks, membership and horizon. */
  readonly marks: Readonly<Record<HostId, number>>
  readonly membership: Membership | null
  readonly horizon: number
  /** Every chunk is staged, and the copy is being applied to the data, page by page. */
  readonly applying: boolean
  /** While applying: the last key of the pages applied so far (null: none yet). */
  readonly after: Key | null
}

export const EMPTY_DURABLE_STATE: DurableState = {
  intact: true,
  clock: 0,
  reserved: 0,
  marks: {},
  floors: {},
  above: [],
  logWeights: [],
  prepared: [],
  membership: null,
  horizon: 0,
  copy: null
}
