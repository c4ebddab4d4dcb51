/** A host's cluster identity: stable across restarts, never a socket address. */
export type HostId = string

/**
 * A key as the core sees it: a binary-safe string with one character per byte
 * (adapters convert with latin1), so keys of any encoding compare and hash exactly.
 */
export type Key = string

export type Value = Uint8Array

/**
 * Names one write of one writer (a local process), so that the write retried after a failover
 * or a restart of the core is recognized: applied at most once, answered as the first try was.
 * A writer's counters start at 1 and grow by one per write, in the order it submits them.
 */
export interface WriteId {
  readonly writer: string
  readonly counter: number
}

export type Op =
  | { readonly type: 'put', readonly key: Key, readonly value: Value }
  | { readonly type: 'del', readonly key: Key }

/**
 * The version of a committed write: the commit timestamp, then the transaction id as a
 * tie-breaker, so that every pair of distinct transactions is ordered the same way everywhere.
 */
export interface Version {
  readonly ts: number
  readonly origin: HostId
  readonly seq: number
}

/** A range of keys, as iterators take it: each bound optional. Keys compare as their bytes do. */
export interface KeyRange {
  readonly gt?: Key | undefined
  readonly gte?: Key | undefined
  readonly lt?: Key | undefined
  readonly lte?: Key | undefined
}

/** Whether `key` lies in `range`. */
export function inRange (key: Key, range: KeyRange): boolean {
  return (range.gt === undefined || key > range.gt) && (range.gte === undefined || key >= range.gte) &&
    (range.lt === undefined || key < range.lt) && (range.lte === undefined || key <= range.lte)
}

/** The stored state of one user key: a value, or a tombstone (`value: null`). */
export interface DataRecord {
  readonly value: Value | null
  readonly version: Version
}

/**
 * One decision in an origin's log, on one sequence number. Only the origin writes entries to
 * its own log; every other host copies them unchanged. An abort carries nothing but its
 * number, so an origin that must abort a number again (SPEC §5.4) writes the same entry.
 */
export type LogEntry =
  | { readonly kind: 'commit', readonly origin: HostId, readonly seq: number, readonly ts: number, readonly ops: readonly Op[] }
  | { readonly kind: 'abort', readonly origin: HostId, readonly seq: number }

export function txnKey (origin: HostId, seq: number): string {
  return `${origin}#${seq}`
}

/** Bytes of keys and values in `ops`: what a message carrying them weighs, near enough. */
export function opsBytes (ops: readonly Op[]): number {
  let bytes = 0
  for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.byteLength : 0)
  return bytes
}

/** The weight of a log entry or a data record in a message, for byte budgets. */
export function entryBytes (entry: LogEntry): number {
  return ENTRY_OVERHEAD_BYTES + (entry.kind === 'commit' ? opsBytes(entry.ops) : 0)
}

export function recordBytes (key: Key, record: DataRecord): number {
  return ENTRY_OVERHEAD_BYTES + key.length + (record.value?.byteLength ?? 0)
}

/** Rough per-item framing and header cost: ids, numbers and msgpack tags. */
const ENTRY_OVERHEAD_BYTES = 32

/**
 * Keeps items from the front while their weight stays within `bytesMax`, and always the
 * first: a single item heavier than the budget still goes, alone.
 */
export function takeWithinBytes<T> (items: readonly T[], weigh: (item: T) => number, bytesMax: number): T[] {
  let bytes = 0
  let count = 0
  for (const item of items) {
    bytes += weigh(item)
    if (count > 0 && bytes > bytesMax) break
    count++
  }
  return items.slice(0, count)
}
