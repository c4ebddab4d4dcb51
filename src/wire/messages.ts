import type { AppliedBefore, DataRecord, HostId, Key, KeyRange, LogEntry, Membership, Message, Op } from '../core/index.js'
import { MEMBERSHIP_KEY, bytesToKey, isMembershipOps, keyToBytes } from '../core/index.js'
import {
  LOG_ENTRIES_PER_MESSAGE_MAX, MARKS_ORIGINS_MAX, MEMBERS_MAX, MEMBER_NAME_CHARS_MAX, OPS_PER_MESSAGE_MAX, SPANS_PER_MESSAGE_MAX, SNAPSHOT_RECORDS_PER_MESSAGE_MAX
} from './limits.js'
import {
  expectArray, expectBoolean, expectBytes, expectDictionary, expectHostId, expectInteger,
  expectShape, expectTag, invalid
} from './validate.js'

/**
 * The wire form of the core's protocol messages.
 *
 * A message travels as a msgpack map with the same field names as the core `Message`, with
 * one change: every user key is msgpack `bin` (a Uint8Array), never a string and never a
 * map key. Core keys are binary strings with one character per byte; as msgpack strings they
 * would have to be valid UTF-8, and as map keys msgpackr would rename `__proto__`. Values
 * are `bin` too. A snapshot record is a 2-item array `[key, { value, version }]`; marks are
 * a map from host id to a safe integer, and spans `[start, last]` pairs (a sync's, by host id
 * as marks are). Integers are plain msgpack integers (or float64, which msgpackr writes for
 * integers beyond 32 bits); any other encoding is refused.
 */

const MESSAGE_TYPES = [
  'prepare', 'vote', 'commit', 'abort', 'ack', 'sync', 'entries', 'snapshot', 'snapshot-next', 'snapshot-stop', 'probe', 'recover', 'recovery', 'read', 'read-answer', 'fence', 'fence-answer'
] as const satisfies ReadonlyArray<Message['type']>

// Sequence numbers start at 1 (0 means "nothing applied" in marks); times, clocks, snapshot
// sessions and chunk numbers may be 0.
const SEQ_MIN = 1
const COUNTER_MIN = 0

/**
 * The wire form of a core message, ready for `encodePayload`. Messages come from the local
 * core and are trusted, so nothing is checked here: keys become bytes as they are
 * (core/key-bytes.ts), and a key that is not a binary string is a bug in the core.
 */
export function messageToWire (message: Message): unknown {
  switch (message.type) {
    case 'prepare': return { type: message.type, seq: message.seq, ops: message.ops.map(opToWire), clock: message.clock, epoch: message.epoch }
    case 'vote': return { type: message.type, seq: message.seq, yes: message.yes, clock: message.clock, before: message.before === null ? null : appliedToWire(message.before) }
    case 'commit': return { type: message.type, seq: message.seq, ts: message.ts, ops: message.ops === null ? null : message.ops.map(opToWire) }
    case 'abort': return { type: message.type, seq: message.seq }
    case 'ack': return { type: message.type, seq: message.seq }
    case 'sync': return { type: message.type, marks: { ...message.marks }, above: spansByOriginToWire(message.above), clock: message.clock, decided: message.decided }
    case 'entries': return { type: message.type, entries: message.entries.map(entryToWire), more: message.more }
    case 'snapshot': return {
      type: message.type,
      session: message.session,
      part: message.part,
      marks: message.marks === null ? null : { ...message.marks },
      membership: message.membership === null ? null : membershipToWire(message.membership),
      horizon: message.horizon,
      records: message.records.map(([key, record]) => [keyToBytes(key), recordToWire(record)]),
      done: message.done
    }
    case 'snapshot-next': return { type: message.type, session: message.session, part: message.part }
    case 'snapshot-stop': return { type: message.type, session: message.session }
    case 'probe': return { type: message.type }
    case 'recover': return { type: message.type, start: message.start }
    case 'recovery': return { type: message.type, contiguous: message.contiguous, above: message.above.map(([start, last]) => [start, last]), prepared: [...message.prepared], clock: message.clock, epoch: message.epoch }
    case 'read': return { type: message.type, id: message.id, keys: message.keys.map(keyToBytes) }
    // An absent record is null: msgpack has no undefined that survives every encoder.
    case 'read-answer': return { type: message.type, id: message.id, records: message.records === null ? null : message.records.map((record) => record === undefined ? null : recordToWire(record)), epoch: message.epoch, horizon: message.horizon }
    case 'fence': return { type: message.type, id: message.id, range: rangeToWire(message.range) }
    case 'fence-answer': return { type: message.type, id: message.id, marks: message.marks === null ? null : { ...message.marks }, above: message.above === null ? null : spansByOriginToWire(message.above), epoch: message.epoch }
  }
}

function appliedToWire (applied: AppliedBefore): unknown {
  return { marks: { ...applied.marks }, above: spansByOriginToWire(applied.above) }
}

function membershipToWire (membership: Membership): unknown {
  return { epoch: membership.epoch, members: [...membership.members], minConsensus: membership.minConsensus }
}

/** A range with every bound present: bytes, or null for none. */
function rangeToWire (range: KeyRange): unknown {
  const bound = (key: Key | undefined): Uint8Array | null => key === undefined ? null : keyToBytes(key)
  return { gt: bound(range.gt), gte: bound(range.gte), lt: bound(range.lt), lte: bound(range.lte) }
}

function rangeFromWire (value: unknown, path: string): KeyRange {
  const m = expectShape(value, path, ['gt', 'gte', 'lt', 'lte'])
  const range: { gt?: Key, gte?: Key, lt?: Key, lte?: Key } = {}
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (m[name] !== null) range[name] = bytesToKey(expectBytes(m[name], `${path}.${name}`))
  }
  return range
}

function opToWire (op: Op): unknown {
  return op.type === 'put'
    ? { type: op.type, key: keyToBytes(op.key), value: op.value }
    : { type: op.type, key: keyToBytes(op.key) }
}

function entryToWire (entry: LogEntry): unknown {
  return entry.kind === 'commit'
    ? { kind: entry.kind, origin: entry.origin, seq: entry.seq, ts: entry.ts, ops: entry.ops.map(opToWire) }
    : { kind: entry.kind, origin: entry.origin, seq: entry.seq }
}

function recordToWire (record: DataRecord): unknown {
  const { ts, origin, seq } = record.version
  return { value: record.value, version: { ts, origin, seq } }
}

/**
 * A core message from its untrusted wire form (the output of `decodePayload`). Everything is
 * checked before anything is returned: the exact set of fields of every object, the message
 * type, every integer (safe, non-negative, sequence numbers from 1), every key and value
 * (bytes), every host id, and every array's length against the limits in limits.ts. The
 * result is built afresh and shares no object with the input but its byte arrays.
 *
 * @throws `LEVEL_PROTOCOL_ERROR` naming the first field found wrong.
 */
export function messageFromWire (value: unknown): Message {
  const type = expectTag(value, 'message', 'type', MESSAGE_TYPES)
  // Paths name the message type, so an error reads "prepare.ops[3].key must be bytes".
  const path = type
  switch (type) {
    case 'prepare': {
      const m = expectShape(value, path, ['type', 'seq', 'ops', 'clock', 'epoch'])
      return {
        type,
        seq: expectInteger(m['seq'], `${path}.seq`, SEQ_MIN),
        ops: opsFromWire(m['ops'], `${path}.ops`),
        clock: expectInteger(m['clock'], `${path}.clock`, COUNTER_MIN),
        epoch: expectInteger(m['epoch'], `${path}.epoch`, COUNTER_MIN)
      }
    }
    case 'vote': {
      const m = expectShape(value, path, ['type', 'seq', 'yes', 'clock', 'before'])
      return {
        type,
        seq: expectInteger(m['seq'], `${path}.seq`, SEQ_MIN),
        yes: expectBoolean(m['yes'], `${path}.yes`),
        clock: expectInteger(m['clock'], `${path}.clock`, COUNTER_MIN),
        before: m['before'] === null ? null : appliedFromWire(m['before'], `${path}.before`)
      }
    }
    case 'commit': {
      const m = expectShape(value, path, ['type', 'seq', 'ts', 'ops'])
      const ops = m['ops'] === null ? null : opsFromWire(m['ops'], `${path}.ops`)
      return { type, seq: expectInteger(m['seq'], `${path}.seq`, SEQ_MIN), ts: expectInteger(m['ts'], `${path}.ts`, COUNTER_MIN), ops }
    }
    case 'abort':
    case 'ack': {
      const m = expectShape(value, path, ['type', 'seq'])
      return { type, seq: expectInteger(m['seq'], `${path}.seq`, SEQ_MIN) }
    }
    case 'sync': {
      const m = expectShape(value, path, ['type', 'marks', 'above', 'clock', 'decided'])
      return {
        type,
        marks: marksFromWire(m['marks'], `${path}.marks`),
        above: spansByOriginFromWire(m['above'], `${path}.above`),
        clock: expectInteger(m['clock'], `${path}.clock`, COUNTER_MIN),
        decided: expectInteger(m['decided'], `${path}.decided`, COUNTER_MIN)
      }
    }
    case 'entries': {
      const m = expectShape(value, path, ['type', 'entries', 'more'])
      const entries = Array.from(expectArray(m['entries'], `${path}.entries`, LOG_ENTRIES_PER_MESSAGE_MAX), (entry, i) => entryFromWire(entry, `${path}.entries[${i}]`))
      return { type, entries, more: expectBoolean(m['more'], `${path}.more`) }
    }
    case 'snapshot': {
      const m = expectShape(value, path, ['type', 'session', 'part', 'marks', 'membership', 'horizon', 'records', 'done'])
      const session = expectInteger(m['session'], `${path}.session`, COUNTER_MIN)
      const part = expectInteger(m['part'], `${path}.part`, COUNTER_MIN)
      // Only the first chunk carries the marks and membership the whole copy reflects (core/messages.ts).
      if ((part === 0) !== (m['marks'] !== null)) throw invalid(`${path}.marks`, part === 0 ? 'must be present on part 0' : 'must be null after part 0')
      if (part !== 0 && m['membership'] !== null) throw invalid(`${path}.membership`, 'must be null after part 0')
      const horizon = expectInteger(m['horizon'], `${path}.horizon`, COUNTER_MIN)
      if (part !== 0 && horizon !== 0) throw invalid(`${path}.horizon`, 'must be 0 after part 0')
      const marks = m['marks'] === null ? null : marksFromWire(m['marks'], `${path}.marks`)
      const membership = m['membership'] === null ? null : membershipFromWire(m['membership'], `${path}.membership`)
      const records = Array.from(expectArray(m['records'], `${path}.records`, SNAPSHOT_RECORDS_PER_MESSAGE_MAX), (record, i) => recordFromWire(record, `${path}.records[${i}]`))
      return { type, session, part, marks, membership, horizon, records, done: expectBoolean(m['done'], `${path}.done`) }
    }
    case 'snapshot-next': {
      const m = expectShape(value, path, ['type', 'session', 'part'])
      return { type, session: expectInteger(m['session'], `${path}.session`, COUNTER_MIN), part: expectInteger(m['part'], `${path}.part`, COUNTER_MIN) }
    }
    case 'snapshot-stop': {
      const m = expectShape(value, path, ['type', 'session'])
      return { type, session: expectInteger(m['session'], `${path}.session`, COUNTER_MIN) }
    }
    case 'probe':
      expectShape(value, path, ['type'])
      return { type }
    case 'recover': {
      const m = expectShape(value, path, ['type', 'start'])
      return { type, start: expectInteger(m['start'], `${path}.start`, COUNTER_MIN) }
    }
    case 'recovery': {
      const m = expectShape(value, path, ['type', 'contiguous', 'above', 'prepared', 'clock', 'epoch'])
      const above = Array.from(expectArray(m['above'], `${path}.above`, SPANS_PER_MESSAGE_MAX), (span, i) => spanFromWire(span, `${path}.above[${i}]`))
      const prepared = Array.from(expectArray(m['prepared'], `${path}.prepared`, SPANS_PER_MESSAGE_MAX), (seq, i) => expectInteger(seq, `${path}.prepared[${i}]`, SEQ_MIN))
      return { type, contiguous: expectInteger(m['contiguous'], `${path}.contiguous`, COUNTER_MIN), above, prepared, clock: expectInteger(m['clock'], `${path}.clock`, COUNTER_MIN), epoch: expectInteger(m['epoch'], `${path}.epoch`, COUNTER_MIN) }
    }
    case 'read': {
      const m = expectShape(value, path, ['type', 'id', 'keys'])
      const keys = Array.from(expectArray(m['keys'], `${path}.keys`, OPS_PER_MESSAGE_MAX), (key, i) => bytesToKey(expectBytes(key, `${path}.keys[${i}]`)))
      return { type, id: expectInteger(m['id'], `${path}.id`, COUNTER_MIN), keys }
    }
    case 'read-answer': {
      const m = expectShape(value, path, ['type', 'id', 'records', 'epoch', 'horizon'])
      const records = m['records'] === null
        ? null
        : Array.from(expectArray(m['records'], `${path}.records`, OPS_PER_MESSAGE_MAX), (record, i) => record === null ? undefined : dataRecordFromWire(record, `${path}.records[${i}]`))
      return { type, id: expectInteger(m['id'], `${path}.id`, COUNTER_MIN), records, epoch: expectInteger(m['epoch'], `${path}.epoch`, COUNTER_MIN), horizon: expectInteger(m['horizon'], `${path}.horizon`, COUNTER_MIN) }
    }
    case 'fence': {
      const m = expectShape(value, path, ['type', 'id', 'range'])
      return { type, id: expectInteger(m['id'], `${path}.id`, COUNTER_MIN), range: rangeFromWire(m['range'], `${path}.range`) }
    }
    case 'fence-answer': {
      const m = expectShape(value, path, ['type', 'id', 'marks', 'above', 'epoch'])
      // Both or neither: an answer without its spans could claim too little.
      if ((m['marks'] === null) !== (m['above'] === null)) throw invalid(`${path}.above`, 'must be null exactly when marks is')
      return {
        type,
        id: expectInteger(m['id'], `${path}.id`, COUNTER_MIN),
        marks: m['marks'] === null ? null : marksFromWire(m['marks'], `${path}.marks`),
        above: m['above'] === null ? null : spansByOriginFromWire(m['above'], `${path}.above`),
        epoch: expectInteger(m['epoch'], `${path}.epoch`, COUNTER_MIN)
      }
    }
  }
}

function spansByOriginToWire (above: Readonly<Record<HostId, ReadonlyArray<readonly [number, number]>>>): unknown {
  const out: Record<string, unknown> = {}
  for (const [origin, spans] of Object.entries(above)) {
    Object.defineProperty(out, origin, { value: spans.map(([start, last]) => [start, last]), enumerable: true })
  }
  return out
}

/** Spans per origin, as marks are: no prototype, host ids as keys. */
function spansByOriginFromWire (value: unknown, path: string): Readonly<Record<HostId, ReadonlyArray<readonly [number, number]>>> {
  const { object, keys } = expectDictionary(value, path, MARKS_ORIGINS_MAX)
  const out = Object.create(null) as Record<HostId, ReadonlyArray<readonly [number, number]>>
  for (const key of keys) {
    const origin = expectHostId(key, `${path} key`)
    out[origin] = Array.from(expectArray(object[key], `${path}.${origin}`, SPANS_PER_MESSAGE_MAX), (span, i) => spanFromWire(span, `${path}.${origin}[${i}]`))
  }
  return out
}

function spanFromWire (value: unknown, path: string): readonly [number, number] {
  const pair = expectArray(value, path, 2)
  if (pair.length !== 2) throw invalid(path, 'must be a [start, last] pair')
  const start = expectInteger(pair[0], `${path}[0]`, SEQ_MIN)
  // A span that ends before it starts is nonsense.
  return [start, expectInteger(pair[1], `${path}[1]`, start)]
}

function opsFromWire (value: unknown, path: string): Op[] {
  // Array.from, not map: map skips the holes of a sparse array, which would slip through.
  const ops = Array.from(expectArray(value, path, OPS_PER_MESSAGE_MAX), (item, i) => opFromWire(item, `${path}[${i}]`))
  // The membership key is written only by a membership change, alone, whose value the core
  // decodes: checked here, so that the core never meets a malformed one (SPEC §15).
  if (isMembershipOps(ops) && ops[0]?.type === 'put') changeFromWire(ops[0].value, `${path}[0].value`)
  else if (ops.some((op) => op.key === MEMBERSHIP_KEY)) throw invalid(path, 'may write the membership key only as a membership change, alone')
  return ops
}

/** Checks a membership change's value: JSON of `{ membership, before }`, as core/membership.ts encodes it. */
function changeFromWire (value: Uint8Array, path: string): void {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value))
  } catch {
    throw invalid(path, 'must be a membership change in JSON')
  }
  const change = expectShape(parsed, path, ['membership', 'before'])
  membershipFromWire(change['membership'], `${path}.membership`)
  if (change['before'] !== null) {
    Array.from(expectArray(change['before'], `${path}.before`, MEMBERS_MAX), (item, i) => appliedFromWire(item, `${path}.before[${i}]`))
  }
}

function membershipFromWire (value: unknown, path: string): Membership {
  const m = expectShape(value, path, ['epoch', 'members', 'minConsensus'])
  const members = Array.from(expectArray(m['members'], `${path}.members`, MEMBERS_MAX), (name, i) => {
    if (typeof name !== 'string' || name.length === 0 || name.length > MEMBER_NAME_CHARS_MAX || !/^[\x21-\x7e]+$/.test(name)) {
      throw invalid(`${path}.members[${i}]`, `must be 1 to ${MEMBER_NAME_CHARS_MAX} printable ASCII characters`)
    }
    return name
  })
  if (new Set(members).size !== members.length) throw invalid(`${path}.members`, 'must not repeat a member')
  const minConsensus = expectInteger(m['minConsensus'], `${path}.minConsensus`, COUNTER_MIN)
  if (minConsensus >= Math.max(1, members.length)) throw invalid(`${path}.minConsensus`, 'must be below the number of members')
  return { epoch: expectInteger(m['epoch'], `${path}.epoch`, COUNTER_MIN), members, minConsensus }
}

function appliedFromWire (value: unknown, path: string): AppliedBefore {
  const m = expectShape(value, path, ['marks', 'above'])
  return { marks: marksFromWire(m['marks'], `${path}.marks`), above: spansByOriginFromWire(m['above'], `${path}.above`) }
}

function opFromWire (value: unknown, path: string): Op {
  const type = expectTag(value, path, 'type', ['put', 'del'] as const)
  if (type === 'put') {
    const op = expectShape(value, path, ['type', 'key', 'value'])
    return { type, key: bytesToKey(expectBytes(op['key'], `${path}.key`)), value: expectBytes(op['value'], `${path}.value`) }
  }
  const op = expectShape(value, path, ['type', 'key'])
  return { type, key: bytesToKey(expectBytes(op['key'], `${path}.key`)) }
}

function entryFromWire (value: unknown, path: string): LogEntry {
  const kind = expectTag(value, path, 'kind', ['commit', 'abort'] as const)
  if (kind === 'commit') {
    const entry = expectShape(value, path, ['kind', 'origin', 'seq', 'ts', 'ops'])
    return {
      kind,
      origin: expectHostId(entry['origin'], `${path}.origin`),
      seq: expectInteger(entry['seq'], `${path}.seq`, SEQ_MIN),
      ts: expectInteger(entry['ts'], `${path}.ts`, COUNTER_MIN),
      ops: opsFromWire(entry['ops'], `${path}.ops`)
    }
  }
  const entry = expectShape(value, path, ['kind', 'origin', 'seq'])
  return { kind, origin: expectHostId(entry['origin'], `${path}.origin`), seq: expectInteger(entry['seq'], `${path}.seq`, SEQ_MIN) }
}

function recordFromWire (value: unknown, path: string): readonly [Key, DataRecord] {
  const pair = expectArray(value, path, 2)
  if (pair.length !== 2) throw invalid(path, 'must be a [key, record] pair')
  const key = bytesToKey(expectBytes(pair[0], `${path}[0]`))
  return [key, dataRecordFromWire(pair[1], `${path}[1]`)]
}

function dataRecordFromWire (value: unknown, path: string): DataRecord {
  const record = expectShape(value, path, ['value', 'version'])
  const version = expectShape(record['version'], `${path}.version`, ['ts', 'origin', 'seq'])
  return {
    // A null value is a tombstone: the key's deletion, kept so that an older put cannot win.
    value: record['value'] === null ? null : expectBytes(record['value'], `${path}.value`),
    version: {
      ts: expectInteger(version['ts'], `${path}.version.ts`, COUNTER_MIN),
      origin: expectHostId(version['origin'], `${path}.version.origin`),
      seq: expectInteger(version['seq'], `${path}.version.seq`, SEQ_MIN)
    }
  }
}

/**
 * Marks as a dictionary without a prototype: a lookup of an origin it lacks (even one named
 * `constructor` or `toString`) yields undefined, never an inherited property.
 */
function marksFromWire (value: unknown, path: string): Readonly<Record<HostId, number>> {
  const { object, keys } = expectDictionary(value, path, MARKS_ORIGINS_MAX)
  const out: Record<HostId, number> = Object.create(null) as Record<HostId, number>
  for (const key of keys) {
    const origin = expectHostId(key, `${path} key`)
    out[origin] = expectInteger(object[key], `${path}.${origin}`, COUNTER_MIN)
  }
  return out
}
