import type { HostId, Key } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { keyToBytes } from '../core/index.js'

/**
 * The first bytes of every key quorum-level stores for itself (`FF FF 71 6C`, "\xff\xffql"),
 * as a core {@link Key}. User data lives at the user's own keys, so that a plain `db.get`
 * reads it; everything else lives under this prefix, and user keys starting with it are
 * refused (see {@link assertUserKey}).
 */
export const RESERVED_PREFIX: Key = '\xff\xffql'

/**
 * What follows the prefix: one byte naming the kind of record. Kept as char codes so that
 * a key is built with one allocation.
 */
export const TAG = {
  /** `v` + user key: the version of a data record, live or tombstone. */
  version: 0x76,
  /** `p` + origin + 0x00 + seq: a prepared transaction's ops. */
  prepare: 0x70,
  /** `l` + origin + 0x00 + seq: a decision in an origin's log. */
  log: 0x6c,
  /** `m` + origin: the origin's contiguous applied mark. */
  mark: 0x6d,
  /** `f` + origin: the origin's log floor. */
  floor: 0x66,
  /** `c`: the persisted clock. */
  clock: 0x63,
  /** `r`: the highest own sequence number reserved. */
  reserved: 0x72,
  /** `i`: this host's cluster identity. */
  hostId: 0x69,
  /**
   * `w` + writer id: the highest counter this host committed for one writer, and the own
   * transaction that did (SPEC §4.7). Local to the host, never replicated.
   */
  writer: 0x77,
  /** `x` + writer id: the writer's counters that failed here. Local, never replicated. */
  writerFailed: 0x78,
  /**
   * `e` + number: a record of the change feed, named by the number of its first change, so
   * that changes are numbered across records and a position is one number. Local to the host.
   */
  feed: 0x65,
  /** `n`: the membership in force, once a change was applied (SPEC §15). */
  membership: 0x6e,
  /** `h`: the tombstone collection horizon (SPEC §6.5). */
  horizon: 0x68,
  /** `s` + user key: a record of a full copy coming in, staged apart from the data (SPEC §6.3). */
  staged: 0x73,
  /** `o`: the staging header, where the copy on its way stands (SPEC §6.3). */
  copy: 0x6f
} as const

/** One of the {@link TAG} bytes. */
type Tag = typeof TAG[keyof typeof TAG]

/** A key range in the shape abstract-level's iterators take. */
export interface KeyRange {
  readonly gte: Uint8Array
  readonly lt: Uint8Array
}

const PREFIX_BYTES = keyToBytes(RESERVED_PREFIX)
const SEPARATOR = 0x00
const SEQ_BYTES = 8
const TWO_TO_32 = 2 ** 32
const utf8Encoder = new TextEncoder()
// fatal: an origin that does not decode is a damaged key, not something to guess at.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Whether `bytes` is one of quorum-level's own keys. Every key that starts with the prefix
 * is reserved, whatever follows, so the whole range can be skipped or scanned as one.
 */
export function isReservedKey (bytes: Uint8Array): boolean {
  if (bytes.length < PREFIX_BYTES.length) return false
  for (let i = 0; i < PREFIX_BYTES.length; i++) {
    if (bytes[i] !== PREFIX_BYTES[i]) return false
  }
  return true
}

/**
 * Throws unless `key` may hold user data: a user write to the reserved range would
 * overwrite quorum-level's own records, so whoever accepts user writes refuses it.
 * @throws {ModuleError} `LEVEL_NOT_SUPPORTED` for a key in the reserved range.
 */
export function assertUserKey (key: Key): void {
  if (key.startsWith(RESERVED_PREFIX)) throw createError('Key is in the reserved range', CODES.NOT_SUPPORTED)
}

/** The key of a writer's committed-counter record. */
export function writerKey (writer: string): Uint8Array {
  return reservedKey(TAG.writer, utf8Encoder.encode(writer))
}

/** The key of a writer's failed-counters record. */
export function writerFailedKey (writer: string): Uint8Array {
  return reservedKey(TAG.writerFailed, utf8Encoder.encode(writer))
}

/** The reserved key of the version record of user key `key` (given as bytes). */
export function versionKey (key: Uint8Array): Uint8Array {
  return reservedKey(TAG.version, key)
}

/** The user key (as bytes, a view into `bytes`) that a version record's key, or a staged record's, names. */
export function userKeyOf (bytes: Uint8Array, tag: typeof TAG.version | typeof TAG.staged): Uint8Array {
  assertTag(bytes, tag)
  return bytes.subarray(PREFIX_BYTES.length + 1)
}

/** The key of the prepare record of transaction `(origin, seq)`. */
export function prepareKey (origin: HostId, seq: number): Uint8Array {
  return sequencedKey(TAG.prepare, origin, seq)
}

/** The key of the log entry of `origin` that starts at `seq`. */
export function logKey (origin: HostId, seq: number): Uint8Array {
  return sequencedKey(TAG.log, origin, seq)
}

/** The origin and sequence number a prepare or log key names. */
export function parseSequencedKey (bytes: Uint8Array, tag: typeof TAG.prepare | typeof TAG.log): { origin: HostId, seq: number } {
  assertTag(bytes, tag)
  const start = PREFIX_BYTES.length + 1
  const separator = bytes.length - SEQ_BYTES - 1
  if (separator < start || bytes[separator] !== SEPARATOR) throw damagedKey(bytes)
  const seq = readSeq(bytes, separator + 1)
  return { origin: decodeOrigin(bytes.subarray(start, separator), bytes), seq }
}

/** The key of the contiguous mark of `origin`. */
export function markKey (origin: HostId): Uint8Array {
  return reservedKey(TAG.mark, encodeOrigin(origin))
}

/** The key of the log floor of `origin`. */
export function floorKey (origin: HostId): Uint8Array {
  return reservedKey(TAG.floor, encodeOrigin(origin))
}

/** The origin a mark or floor key names. */
export function originOfKey (bytes: Uint8Array, tag: typeof TAG.mark | typeof TAG.floor): HostId {
  assertTag(bytes, tag)
  return decodeOrigin(bytes.subarray(PREFIX_BYTES.length + 1), bytes)
}

/** The key of the feed record whose first change has number `first`. */
export function feedKey (first: number): Uint8Array {
  return reservedKey(TAG.feed, seqBytes(first))
}

/** The number of the first change of the feed record with this key. */
export function firstOfFeedKey (bytes: Uint8Array): number {
  assertTag(bytes, TAG.feed)
  if (bytes.length !== PREFIX_BYTES.length + 1 + SEQ_BYTES) throw damagedKey(bytes)
  return readSeq(bytes, PREFIX_BYTES.length + 1)
}

/** The key of the persisted clock. A fresh array each call, so no caller can damage a shared one. */
export function clockKey (): Uint8Array {
  return reservedKey(TAG.clock, new Uint8Array(0))
}

/** The key of the membership in force. */
export function membershipKey (): Uint8Array {
  return reservedKey(TAG.membership, new Uint8Array(0))
}

/** The key of the tombstone collection horizon. */
export function horizonKey (): Uint8Array {
  return reservedKey(TAG.horizon, new Uint8Array(0))
}

/** The key of a staged record of a full copy coming in. */
export function stagedKey (key: Uint8Array): Uint8Array {
  return reservedKey(TAG.staged, key)
}

/** The key of the staging header. */
export function copyKey (): Uint8Array {
  return reservedKey(TAG.copy, new Uint8Array(0))
}

/** The key of the highest reserved own sequence number. */
export function reservedSeqKey (): Uint8Array {
  return reservedKey(TAG.reserved, new Uint8Array(0))
}

/** The key of this host's cluster identity. */
export function hostIdKey (): Uint8Array {
  return reservedKey(TAG.hostId, new Uint8Array(0))
}

/** Every key of one kind: the prefix and tag, up to the next tag. */
export function tagRange (tag: Tag): KeyRange {
  return { gte: reservedKey(tag, new Uint8Array(0)), lt: reservedKey(tag + 1, new Uint8Array(0)) }
}

/**
 * The keys of `origin`'s prepare or log records with `seq >= from` and `seq < to`
 * (`to` omitted: no upper bound). Origins cannot contain 0x00, so the separator keeps one
 * origin's range from running into another whose name extends it.
 */
export function originRange (tag: typeof TAG.prepare | typeof TAG.log, origin: HostId, from: number, to?: number): KeyRange {
  const name = encodeOrigin(origin)
  const end = new Uint8Array(name.length + 1)
  end.set(name)
  end[name.length] = SEPARATOR + 1
  return {
    gte: sequencedKey(tag, origin, from),
    lt: to === undefined ? reservedKey(tag, end) : sequencedKey(tag, origin, to)
  }
}

/** Largest sequence number a key can carry: seqs are JavaScript numbers, so safe integers. */
export const SEQ_MAX = Number.MAX_SAFE_INTEGER

function reservedKey (tag: number, rest: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(PREFIX_BYTES.length + 1 + rest.length)
  bytes.set(PREFIX_BYTES)
  bytes[PREFIX_BYTES.length] = tag
  bytes.set(rest, PREFIX_BYTES.length + 1)
  return bytes
}

function sequencedKey (tag: number, origin: HostId, seq: number): Uint8Array {
  // The number is checked before the origin is encoded, so the first error names it.
  const number = seqBytes(seq)
  const name = encodeOrigin(origin)
  const rest = new Uint8Array(name.length + 1 + SEQ_BYTES)
  rest.set(name)
  rest[name.length] = SEPARATOR
  rest.set(number, name.length + 1)
  return reservedKey(tag, rest)
}

/** Big-endian, so that LevelDB's bytewise order is numeric order and ranges by number work. */
function seqBytes (seq: number): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw createError(`Sequence number ${seq} cannot be stored: not a non-negative safe integer`, CODES.NOT_SUPPORTED)
  }
  const bytes = new Uint8Array(SEQ_BYTES)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, Math.floor(seq / TWO_TO_32))
  view.setUint32(4, seq >>> 0)
  return bytes
}

function readSeq (bytes: Uint8Array, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, SEQ_BYTES)
  return view.getUint32(0) * TWO_TO_32 + view.getUint32(4)
}

function encodeOrigin (origin: HostId): Uint8Array {
  // 0x00 ends an origin inside prepare and log keys; a lone surrogate would not survive UTF-8.
  const bytes = utf8Encoder.encode(origin)
  if (origin.includes('\u0000') || utf8Decoder.decode(bytes) !== origin) {
    throw createError('Host id cannot be stored: it contains U+0000 or a lone surrogate', CODES.NOT_SUPPORTED)
  }
  return bytes
}

function decodeOrigin (bytes: Uint8Array, key: Uint8Array): HostId {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    throw damagedKey(key)
  }
}

function assertTag (bytes: Uint8Array, tag: number): void {
  if (!isReservedKey(bytes) || bytes[PREFIX_BYTES.length] !== tag) throw damagedKey(bytes)
}

function damagedKey (bytes: Uint8Array): Error {
  return createError(`Unreadable reserved key (${bytes.length} bytes): unsupported layout or damage`, CODES.CORRUPTION)
}
