import { Packr } from 'msgpackr'
import type { CopyProgress, DataRecord, FailedRun, FailureReason, HostId, Key, LogEntry, Membership, Op, Version } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { bytesToKey, keyToBytes } from '../core/index.js'

/*
 * Stored records are msgpack arrays in a fixed order, never maps: msgpackr renames
 * `__proto__` map keys, and core keys are byte strings, so keys travel as msgpack bin.
 * Numbers stay numbers: msgpackr writes integers beyond 32 bits as float64, which holds
 * every safe integer exactly. Records carry no origin or seq that their key already holds,
 * so the two can never disagree.
 */

// useRecords: false: msgpackr's record extension would make a stored value depend on
// structures kept elsewhere; every record here must decode on its own.
const packr = new Packr({ useRecords: false })

const OP_PUT = 0
const OP_DEL = 1
const ENTRY_COMMIT = 0
const ENTRY_ABORT = 1

/** A data record's version as stored, with whether the record is a tombstone. */
interface StoredVersion {
  readonly version: Version
  readonly deleted: boolean
}

/** Encodes the meta record of a data record: `[ts, origin, seq, deleted]`. */
export function encodeVersion (version: Version, deleted: boolean): Uint8Array {
  return packr.pack([version.ts, version.origin, version.seq, deleted])
}

/** Decodes a record written by {@link encodeVersion}. */
export function decodeVersion (bytes: Uint8Array): StoredVersion {
  const record = unpackArray(bytes, 'version')
  const [ts, origin, seq, deleted] = record
  if (record.length !== 4 || !isNumber(ts) || typeof origin !== 'string' || !isNumber(seq) || typeof deleted !== 'boolean') {
    throw damaged('version')
  }
  return { version: { ts, origin, seq }, deleted }
}

/** Encodes a staged record of a full copy: `[ts, origin, seq, value]`, `value` null for a tombstone. */
export function encodeStaged (record: DataRecord): Uint8Array {
  const { version, value } = record
  return packr.pack([version.ts, version.origin, version.seq, value])
}

/** Decodes a record written by {@link encodeStaged}. */
export function decodeStaged (bytes: Uint8Array): DataRecord {
  const record = unpackArray(bytes, 'staged')
  const [ts, origin, seq, value] = record
  if (record.length !== 4 || !isNumber(ts) || typeof origin !== 'string' || !isNumber(seq) || !(value === null || value instanceof Uint8Array)) {
    throw damaged('staged')
  }
  return { value: value === null ? null : plainBytes(value), version: { ts, origin, seq } }
}

/** Encodes the staging header: `[from, session, nextPart, marks, membership, horizon, applying, after]`. */
export function encodeCopyProgress (progress: CopyProgress): Uint8Array {
  const { from, session, nextPart, marks, membership, horizon, applying, after } = progress
  return packr.pack([from, session, nextPart, Object.entries(marks), membership === null ? null : membershipTuple(membership), horizon, applying, after])
}

export function decodeCopyProgress (bytes: Uint8Array): CopyProgress {
  const record = unpackArray(bytes, 'copy')
  const [from, session, nextPart, marks, membership, horizon, applying, after] = record
  if (record.length !== 8 || typeof from !== 'string' || !isNumber(session) || !isNumber(nextPart) || !Array.isArray(marks) || !isNumber(horizon) ||
    typeof applying !== 'boolean' || !(after === null || typeof after === 'string') || !(membership === null || Array.isArray(membership))) throw damaged('copy')
  const entries = marks as unknown[]
  if (!entries.every((entry) => Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && isNumber(entry[1]))) throw damaged('copy')
  return {
    from,
    session,
    nextPart,
    // fromEntries defines own properties, so an origin named "__proto__" stays a key.
    marks: Object.fromEntries(entries as Array<[string, number]>),
    membership: membership === null ? null : membershipOf(membership as unknown[]),
    horizon,
    applying,
    after
  }
}

/** Encodes a prepared transaction: `[clock, ops]`, the clock its yes vote carries. */
export function encodePrepare (ops: readonly Op[], clock: number): Uint8Array {
  return packr.pack([clock, opsToTuples(ops)])
}

/** Decodes a record written by {@link encodePrepare}. */
export function decodePrepare (bytes: Uint8Array): { ops: Op[], clock: number } {
  const record = unpackArray(bytes, 'prepare')
  const [clock, ops] = record
  if (record.length !== 2 || !isNumber(clock) || !Array.isArray(ops)) throw damaged('prepare')
  return { ops: tuplesToOps(ops, 'prepare'), clock }
}

/** Encodes a writer's committed record: `[counter, seq]`. */
export function encodeWriterCommitted (counter: number, seq: number): Uint8Array {
  return packr.pack([counter, seq])
}

/** Decodes a record written by {@link encodeWriterCommitted}. */
export function decodeWriterCommitted (bytes: Uint8Array): { counter: number, seq: number } {
  const record = unpackArray(bytes, 'writer')
  const [counter, seq] = record
  if (record.length !== 2 || !isNumber(counter) || !isNumber(seq)) throw damaged('writer')
  return { counter, seq }
}

/** Encodes a writer's failed runs: `[[from, to, reason], ...]`. */
export function encodeWriterFailed (failed: readonly FailedRun[]): Uint8Array {
  return packr.pack(failed.map((run) => [run.from, run.to, run.reason]))
}

const REASONS: ReadonlySet<string> = new Set<FailureReason>(['not-ready', 'conflict', 'no-quorum', 'timeout', 'storage', 'recovering', 'closed', 'unconfirmed'])

/** Decodes a record written by {@link encodeWriterFailed}. */
export function decodeWriterFailed (bytes: Uint8Array): FailedRun[] {
  return unpackArray(bytes, 'writer failures').map((run): FailedRun => {
    if (!Array.isArray(run) || run.length !== 3) throw damaged('writer failures')
    const [from, to, reason] = run as unknown[]
    if (!isNumber(from) || !isNumber(to) || typeof reason !== 'string' || !REASONS.has(reason)) throw damaged('writer failures')
    return { from, to, reason: reason as FailureReason }
  })
}

/** Encodes a log entry without its origin and seq, which its key holds. */
export function encodeLogEntry (entry: LogEntry): Uint8Array {
  return entry.kind === 'commit'
    ? packr.pack([ENTRY_COMMIT, entry.ts, opsToTuples(entry.ops)])
    : packr.pack([ENTRY_ABORT])
}

/** Decodes a record written by {@link encodeLogEntry}, given the origin and seq of its key. */
export function decodeLogEntry (origin: HostId, seq: number, bytes: Uint8Array): LogEntry {
  const record = unpackArray(bytes, 'log')
  const [kind, a, b] = record
  if (kind === ENTRY_COMMIT && record.length === 3 && isNumber(a) && Array.isArray(b)) {
    return { kind: 'commit', origin, seq, ts: a, ops: tuplesToOps(b, 'log') }
  }
  if (kind === ENTRY_ABORT && record.length === 1) return { kind: 'abort', origin, seq }
  throw damaged('log')
}

/** A change as a feed record holds it: the key, and the version the change wrote. Values live elsewhere (feed.ts). */
export interface FeedItem {
  readonly key: Key
  readonly version: Version
  readonly deleted: boolean
}

/** Encodes a feed record: `[[key, ts, origin, seq, deleted], ...]`, in change order. */
export function encodeFeedRecord (items: readonly FeedItem[]): Uint8Array {
  return packr.pack(items.map(({ key, version, deleted }) => [keyToBytes(key), version.ts, version.origin, version.seq, deleted]))
}

/** Decodes a record written by {@link encodeFeedRecord}. */
export function decodeFeedRecord (bytes: Uint8Array): FeedItem[] {
  return unpackArray(bytes, 'feed').map((item): FeedItem => {
    if (!Array.isArray(item) || item.length !== 5) throw damaged('feed')
    const [key, ts, origin, seq, deleted] = item as unknown[]
    if (!(key instanceof Uint8Array) || !isNumber(ts) || typeof origin !== 'string' || !isNumber(seq) || typeof deleted !== 'boolean') throw damaged('feed')
    return { key: bytesToKey(key), version: { ts, origin, seq }, deleted }
  })
}

/** Encodes a number record (mark, floor, clock, reserved seq). */
export function encodeNumber (value: number): Uint8Array {
  return packr.pack(value)
}

/** Decodes a record written by {@link encodeNumber}. */
export function decodeNumber (bytes: Uint8Array, what: string): number {
  const value = unpack(bytes, what)
  if (!isNumber(value)) throw damaged(what)
  return value
}

/** Encodes a string record (the host id). */
export function encodeString (value: string): Uint8Array {
  return packr.pack(value)
}

/** Decodes a record written by {@link encodeString}. */
export function decodeString (bytes: Uint8Array, what: string): string {
  const value = unpack(bytes, what)
  if (typeof value !== 'string') throw damaged(what)
  return value
}

/**
 * A plain Uint8Array over the same memory: msgpackr and classic-level hand out Node
 * Buffers, and the core should see the same type in every environment. No copy is made.
 */
export function plainBytes (bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

type OpTuple = readonly [typeof OP_PUT, Uint8Array, Uint8Array] | readonly [typeof OP_DEL, Uint8Array]

function opsToTuples (ops: readonly Op[]): OpTuple[] {
  return ops.map((op): OpTuple => op.type === 'put'
    ? [OP_PUT, keyToBytes(op.key), op.value]
    : [OP_DEL, keyToBytes(op.key)])
}

function tuplesToOps (tuples: unknown[], what: string): Op[] {
  return tuples.map((tuple): Op => {
    if (!Array.isArray(tuple)) throw damaged(what)
    const [type, key, value] = tuple as unknown[]
    if (!(key instanceof Uint8Array)) throw damaged(what)
    if (type === OP_PUT && tuple.length === 3 && value instanceof Uint8Array) {
      return { type: 'put', key: bytesToKey(key), value: plainBytes(value) }
    }
    if (type === OP_DEL && tuple.length === 2) return { type: 'del', key: bytesToKey(key) }
    throw damaged(what)
  })
}

/** The membership record: `[epoch, members, minConsensus]`. */
export function encodeMembership (membership: Membership): Uint8Array {
  return packr.pack(membershipTuple(membership))
}

function membershipTuple (membership: Membership): [number, string[], number] {
  return [membership.epoch, [...membership.members], membership.minConsensus]
}

export function decodeMembership (bytes: Uint8Array): Membership {
  return membershipOf(unpackArray(bytes, 'membership'))
}

function membershipOf ([epoch, members, minConsensus]: unknown[]): Membership {
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || typeof minConsensus !== 'number' || !Number.isSafeInteger(minConsensus) ||
    !Array.isArray(members) || !members.every((member) => typeof member === 'string')) throw damaged('membership')
  return { epoch, members: members as string[], minConsensus }
}

function unpack (bytes: Uint8Array, what: string): unknown {
  try {
    return packr.unpack(bytes) as unknown
  } catch (err) {
    throw createError(`Unreadable ${what} record: not msgpack`, CODES.CORRUPTION, { cause: err instanceof Error ? err : undefined })
  }
}

function unpackArray (bytes: Uint8Array, what: string): unknown[] {
  const value = unpack(bytes, what)
  if (!Array.isArray(value)) throw damaged(what)
  return value
}

function isNumber (value: unknown): value is number {
  return typeof value === 'number'
}

function damaged (what: string): Error {
  // No LEVEL_CORRUPTION code in the catalogue: an unknown shape is reported as a record
  // format this version does not support, which is also what a newer writer would cause.
  return createError(`Unreadable ${what} record: unsupported format or damage`, CODES.CORRUPTION)
}
