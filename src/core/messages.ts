import type { AppliedBefore, Membership } from './membership.js'
import type { DataRecord, HostId, Key, KeyRange, LogEntry, Op } from './types.js'

/**
 * Messages between hosts. The sender is known from the connection (an authenticated cluster
 * identity), so a transaction `(origin, seq)` travels as `seq` alone where the sender is its origin.
 */
export type Message =
  /**
   * Origin asks a participant to lock `ops`' keys and durably record them. `epoch` is the
   * origin's membership: a participant under another votes no (SPEC §15.2).
   */
  | { readonly type: 'prepare', readonly seq: number, readonly ops: readonly Op[], readonly clock: number, readonly epoch: number }
  /**
   * Participant's answer to `prepare`; `yes` is sent only once the prepare record is durable,
   * and carries the clock persisted with it. A yes to a membership change carries what the
   * voter has applied or decided (`before`, SPEC §15.3); null otherwise.
   */
  | { readonly type: 'vote', readonly seq: number, readonly yes: boolean, readonly clock: number, readonly before: AppliedBefore | null }
  /** Origin's durable commit decision; `ops` is left out for participants that voted yes. */
  | { readonly type: 'commit', readonly seq: number, readonly ts: number, readonly ops: readonly Op[] | null }
  /** Origin's durable abort decision. */
  | { readonly type: 'abort', readonly seq: number }
  /** Participant has durably applied the decision (commit or abort) of `seq`. */
  | { readonly type: 'ack', readonly seq: number }
  /**
   * "Send me what I miss": the sender's contiguous applied marks per origin, and the spans
   * `[start, last]` it applied above them (only for origins that have any). Also the
   * sender's report for tombstone collection (SPEC §6.5): its durable clock, and the highest
   * of its own sequence numbers it had decided.
   */
  | { readonly type: 'sync', readonly marks: Readonly<Record<HostId, number>>, readonly above: Readonly<Record<HostId, ReadonlyArray<readonly [number, number]>>>, readonly clock: number, readonly decided: number }
  /** Log entries the receiver of a `sync` lacked; `more` when the reply was cut at its limit. */
  | { readonly type: 'entries', readonly entries: readonly LogEntry[], readonly more: boolean }
  /**
   * One chunk of a full copy. `marks` (first chunk only) are the sender's applied marks, all
   * reflected in the copy; `done` on the last chunk.
   */
  | {
    readonly type: 'snapshot'
    readonly session: number
    /** Chunks are numbered from 0; a receiver that misses one abandons the copy. */
    readonly part: number
    readonly marks: Readonly<Record<HostId, number>> | null
    /** The sender's membership (first chunk only), as of the copy's marks (SPEC §15.4). */
    readonly membership: Membership | null
    /** The sender's collection horizon as of the copy (SPEC §6.5); first chunk only, else 0. */
    readonly horizon: number
    readonly records: ReadonlyArray<readonly [Key, DataRecord]>
    readonly done: boolean
  }
  /** Receiver of a snapshot chunk asks for chunk `part`; a repeated request is ignored. */
  | { readonly type: 'snapshot-next', readonly session: number, readonly part: number }
  /** The receiver of a chunk will not take that copy (it takes another): its sender drops it. */
  | { readonly type: 'snapshot-stop', readonly session: number }
  /** "Sync with me": the receiver answers with a `sync`, which tells the sender its marks. */
  | { readonly type: 'probe' }
  /**
   * A host that may have lost data asks what the receiver holds of the sender's own log.
   * `start` is chosen at random when the asker starts, so that a new start is told apart.
   */
  | { readonly type: 'recover', readonly start: number }
  /**
   * The answer to `recover`: which of the asker's sequence numbers this host has applied
   * (`contiguous`, then spans `[start, last]` above it) and which it holds prepared; and its
   * clock, which the asker's rises to (SPEC §3 rule 1).
   */
  | { readonly type: 'recovery', readonly contiguous: number, readonly above: ReadonlyArray<readonly [number, number]>, readonly prepared: readonly number[], readonly clock: number, readonly epoch: number }
  /** A strong read asks for the receiver's records of `keys`, once no transaction it knows of holds them (SPEC §14). */
  | { readonly type: 'read', readonly id: number, readonly keys: readonly Key[] }
  /**
   * The answer to `read`: a record per key, or null when they would not fit a message; the
   * epoch of the answering host's membership (SPEC §15.5); and its collection horizon as of
   * the records (§6.5), which an absent key's collected tombstone is at or below.
   */
  | { readonly type: 'read-answer', readonly id: number, readonly records: ReadonlyArray<DataRecord | undefined> | null, readonly epoch: number, readonly horizon: number }
  /** A fence asks what the receiver has applied, once no transaction it knows of holds a key of `range` (SPEC §14.1). */
  | { readonly type: 'fence', readonly id: number, readonly range: KeyRange }
  /** The answer to `fence`: the receiver's marks and spans above them; both null when it has too many spans to name. */
  | { readonly type: 'fence-answer', readonly id: number, readonly marks: Readonly<Record<HostId, number>> | null, readonly above: Readonly<Record<HostId, ReadonlyArray<readonly [number, number]>>> | null, readonly epoch: number }
