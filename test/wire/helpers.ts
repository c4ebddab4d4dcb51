/**
 * Shared fixtures for the wire tests: one sample of every message type, a seeded generator
 * of random messages with hostile keys, and an assertion on ModuleError codes. It holds no
 * tests itself.
 */
import assert from 'node:assert/strict'
import ModuleError from 'module-error'
import type { HostId, Key, LogEntry, Membership, Message, Op } from '../../src/core/index.js'
import { MEMBERSHIP_KEY } from '../../src/core/index.js'
import { encodeChange } from '../../src/core/membership.js'
import type { ErrorCode } from '../../src/errors.js'
import type { Prng } from '../sim/prng.js'

/** Keys that break naive codecs: NUL, 0xff, invalid UTF-8, the empty key, prototype names. */
export const HOSTILE_KEYS: readonly Key[] = [
  '', '\x00', '\xff', '\x00\xff\x00', '\xc3\x28', '\x80', '\xed\xa0\x80', '\xf8\x88\x80\x80\x80',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'caf\xc3\xa9'
]

export function bytes (...values: number[]): Uint8Array {
  return new Uint8Array(values)
}

const SAMPLE_MEMBERSHIP: Membership = { epoch: 3, members: ['10.0.0.1:7000', '10.0.0.2:7000', 'db-3.example:7000'], minConsensus: 1 }

/** One op of each kind, a put with an empty value, and puts under every hostile key. */
const SAMPLE_OPS: readonly Op[] = [
  { type: 'put', key: 'a', value: bytes(1, 2, 3) },
  { type: 'put', key: 'empty', value: bytes() },
  { type: 'del', key: '\xff\x00' },
  ...HOSTILE_KEYS.map((key, i): Op => i % 3 === 2 ? { type: 'del', key } : { type: 'put', key, value: bytes(0, 0xff, 0xc3, 0x28, i) })
]

/** At least one message of every type, and every optional form (null ops, null marks...). */
export const SAMPLE_MESSAGES: readonly Message[] = [
  { type: 'prepare', seq: 1, ops: SAMPLE_OPS, clock: 0, epoch: 0 },
  { type: 'prepare', seq: Number.MAX_SAFE_INTEGER, ops: [], clock: 1_700_000_000_123, epoch: 2 ** 40 },
  { type: 'prepare', seq: 2, ops: [{ type: 'put', key: MEMBERSHIP_KEY, value: encodeChange(SAMPLE_MEMBERSHIP, null) }], clock: 5, epoch: 1 },
  { type: 'vote', seq: 7, yes: true, clock: 2 ** 32, before: null },
  { type: 'vote', seq: 7, yes: false, clock: 2 ** 32 - 1, before: null },
  { type: 'vote', seq: 2, yes: true, clock: 5, before: { marks: { a: 3, constructor: 0 }, above: { a: [[5, 9]] } } },
  { type: 'commit', seq: 3, ts: 1_700_000_000_000, ops: SAMPLE_OPS },
  { type: 'commit', seq: 2, ts: 6, ops: [{ type: 'put', key: MEMBERSHIP_KEY, value: encodeChange(SAMPLE_MEMBERSHIP, [{ marks: { a: 3 }, above: {} }, { marks: {}, above: { b: [[2, 4]] } }]) }] },
  { type: 'commit', seq: 3, ts: 0, ops: null },
  { type: 'abort', seq: 12 },
  { type: 'ack', seq: 2 ** 31 },
  { type: 'sync', marks: {}, above: {}, clock: 0, decided: 0 },
  { type: 'sync', marks: { a: 0, 'host-2.example:3001': 17, constructor: 4, toString: 5, 0: 9 }, above: Object.fromEntries([['a', [[2, 2], [4, 2 ** 40]]], ['constructor', [[6, 6]]]]) as Record<HostId, Array<[number, number]>>, clock: 1_700_000_000_000, decided: 2 ** 40 },
  {
    type: 'entries',
    entries: [
      { kind: 'commit', origin: 'a', seq: 1, ts: 5, ops: SAMPLE_OPS },
      { kind: 'commit', origin: 'b', seq: 2, ts: 6, ops: [] },
      { kind: 'abort', origin: 'a', seq: 2 },
      { kind: 'abort', origin: 'c', seq: Number.MAX_SAFE_INTEGER }
    ],
    more: true
  },
  { type: 'entries', entries: [], more: false },
  {
    type: 'snapshot',
    session: 1,
    part: 0,
    marks: { a: 3, b: 0 },
    membership: SAMPLE_MEMBERSHIP,
    horizon: 1_700_000_000_000,
    records: [
      ...HOSTILE_KEYS.map((key, i): readonly [Key, { value: Uint8Array, version: { ts: number, origin: HostId, seq: number } }] =>
        [key, { value: bytes(i, 0, 0xff), version: { ts: i, origin: 'a', seq: i + 1 } }]),
      ['tombstone', { value: null, version: { ts: 9, origin: 'b', seq: 1 } }],
      ['empty', { value: bytes(), version: { ts: 9, origin: 'b', seq: 2 } }]
    ],
    done: false
  },
  { type: 'snapshot', session: 1, part: 1, marks: null, membership: null, horizon: 0, records: [], done: true },
  { type: 'snapshot', session: 2, part: 0, marks: {}, membership: null, horizon: 0, records: [], done: true },
  { type: 'snapshot-next', session: 0, part: 0 },
  { type: 'snapshot-next', session: 4, part: 99 },
  { type: 'snapshot-stop', session: 7 },
  { type: 'probe' },
  { type: 'recover', start: 0 },
  { type: 'recover', start: 2 ** 32 - 1 },
  { type: 'recovery', contiguous: 0, above: [], prepared: [], clock: 0, epoch: 0 },
  { type: 'recovery', contiguous: 2 ** 40, above: [[2 ** 40 + 2, 2 ** 40 + 2], [2 ** 40 + 5, 2 ** 40 + 9]], prepared: [2 ** 40 + 3, Number.MAX_SAFE_INTEGER], clock: Number.MAX_SAFE_INTEGER, epoch: Number.MAX_SAFE_INTEGER },
  { type: 'read', id: 0, keys: [] },
  { type: 'read', id: Number.MAX_SAFE_INTEGER, keys: [...HOSTILE_KEYS] },
  { type: 'read-answer', id: 7, records: null, epoch: 0, horizon: 0 },
  { type: 'fence', id: 1, range: {} },
  { type: 'fence', id: 2, range: { gt: HOSTILE_KEYS[0] as Key, gte: 'a', lt: HOSTILE_KEYS[1] as Key, lte: '' } },
  { type: 'fence-answer', id: 1, marks: null, above: null, epoch: 3 },
  { type: 'fence-answer', id: 2, marks: { a: 3, constructor: 0 }, above: { a: [[5, 9]] }, epoch: 0 },
  {
    type: 'read-answer',
    id: 7,
    epoch: 1,
    horizon: 1_700_000_000_000,
    records: [undefined, { value: null, version: { ts: 9, origin: 'b', seq: 1 } }, ...HOSTILE_KEYS.map((_, i) => ({ value: bytes(i, 0xff), version: { ts: i, origin: 'a', seq: i + 1 } }))]
  }
]

/** Every message type the core defines; the round-trip test checks the samples cover them. */
export const MESSAGE_TYPES: ReadonlyArray<Message['type']> = ['prepare', 'vote', 'commit', 'abort', 'ack', 'sync', 'entries', 'snapshot', 'snapshot-next', 'snapshot-stop', 'probe', 'recover', 'recovery', 'read', 'read-answer', 'fence', 'fence-answer']

const HOST_IDS: readonly HostId[] = ['a', 'b', 'host-3', '10.0.0.1:3001', 'constructor', 'Z'.repeat(64)]

/** A random message of a random type, with random byte keys and integers at the edges. */
export function randomMessage (random: Prng): Message {
  const type = random.pick(MESSAGE_TYPES)
  switch (type) {
    case 'prepare': return { type, seq: randomInteger(random, 1), ops: randomOps(random), clock: randomInteger(random, 0), epoch: randomInteger(random, 0) }
    case 'vote': return { type, seq: randomInteger(random, 1), yes: random.chance(0.5), clock: randomInteger(random, 0), before: random.chance(0.5) ? null : { marks: randomMarks(random), above: {} } }
    case 'commit': return { type, seq: randomInteger(random, 1), ts: randomInteger(random, 0), ops: random.chance(0.3) ? null : randomOps(random) }
    case 'abort':
    case 'ack': return { type, seq: randomInteger(random, 1) }
    case 'sync': {
      const above: Record<HostId, Array<[number, number]>> = {}
      for (const origin of Object.keys(randomMarks(random))) above[origin] = [[1, random.int(1, 9)]]
      return { type, marks: randomMarks(random), above, clock: randomInteger(random, 0), decided: randomInteger(random, 0) }
    }
    case 'entries': return { type, entries: Array.from({ length: random.int(0, 5) }, () => randomEntry(random)), more: random.chance(0.5) }
    case 'snapshot': {
      const part = random.chance(0.5) ? 0 : randomInteger(random, 1)
      return {
        type,
        session: randomInteger(random, 0),
        part,
        marks: part === 0 ? randomMarks(random) : null,
        membership: part === 0 && random.chance(0.5) ? SAMPLE_MEMBERSHIP : null,
        horizon: part === 0 ? randomInteger(random, 0) : 0,
        records: Array.from({ length: random.int(0, 6) }, () => [randomKey(random), {
          value: random.chance(0.2) ? null : randomBytes(random, 12),
          version: { ts: randomInteger(random, 0), origin: random.pick(HOST_IDS), seq: randomInteger(random, 1) }
        }] as const),
        done: random.chance(0.5)
      }
    }
    case 'snapshot-next': return { type, session: randomInteger(random, 0), part: randomInteger(random, 0) }
    case 'snapshot-stop': return { type, session: randomInteger(random, 0) }
    case 'probe': return { type }
    case 'recover': return { type, start: randomInteger(random, 0) }
    case 'recovery': {
      const above: Array<[number, number]> = Array.from({ length: random.int(0, 4) }, () => {
        const start = randomInteger(random, 1)
        return [start, start + random.int(0, Math.min(100, Number.MAX_SAFE_INTEGER - start))]
      })
      return { type, contiguous: randomInteger(random, 0), above, prepared: Array.from({ length: random.int(0, 4) }, () => randomInteger(random, 1)), clock: randomInteger(random, 0), epoch: randomInteger(random, 0) }
    }
    case 'read': return { type, id: randomInteger(random, 0), keys: Array.from({ length: random.int(0, 4) }, () => randomKey(random)) }
    case 'fence': return { type, id: randomInteger(random, 0), range: random.chance(0.5) ? { gte: randomKey(random), lt: randomKey(random) } : { gt: randomKey(random), lte: randomKey(random) } }
    case 'fence-answer': {
      if (random.chance(0.2)) return { type, id: randomInteger(random, 0), marks: null, above: null, epoch: randomInteger(random, 0) }
      const above: Record<HostId, Array<[number, number]>> = {}
      for (const origin of Object.keys(randomMarks(random))) above[origin] = [[1, random.int(1, 9)]]
      return { type, id: randomInteger(random, 0), marks: randomMarks(random), above, epoch: randomInteger(random, 0) }
    }
    case 'read-answer': return {
      type,
      id: randomInteger(random, 0),
      epoch: randomInteger(random, 0),
      horizon: randomInteger(random, 0),
      records: random.chance(0.2)
        ? null
        : Array.from({ length: random.int(0, 4) }, () => random.chance(0.3)
          ? undefined
          : { value: random.chance(0.2) ? null : randomBytes(random, 12), version: { ts: randomInteger(random, 0), origin: random.pick(HOST_IDS), seq: randomInteger(random, 1) } })
    }
  }
}

function randomEntry (random: Prng): LogEntry {
  const origin = random.pick(HOST_IDS)
  const seq = randomInteger(random, 1)
  if (random.chance(0.5)) return { kind: 'commit', origin, seq, ts: randomInteger(random, 0), ops: randomOps(random) }
  return { kind: 'abort', origin, seq }
}

function randomOps (random: Prng): Op[] {
  return Array.from({ length: random.int(0, 6) }, (): Op => random.chance(0.7)
    ? { type: 'put', key: randomKey(random), value: randomBytes(random, 16) }
    : { type: 'del', key: randomKey(random) })
}

function randomMarks (random: Prng): Record<HostId, number> {
  const marks: Record<HostId, number> = {}
  for (let i = random.int(0, 4); i > 0; i--) marks[random.pick(HOST_IDS)] = randomInteger(random, 0)
  return marks
}

function randomKey (random: Prng): Key {
  if (random.chance(0.3)) return random.pick(HOSTILE_KEYS)
  return String.fromCharCode(...randomBytes(random, 10))
}

export function randomBytes (random: Prng, lengthMax: number): Uint8Array {
  return Uint8Array.from({ length: random.int(0, lengthMax) }, () => random.int(0, 255))
}

/** Integers at the encoding boundaries (fixint, 8, 16, 32 bits, float64) and in between. */
function randomInteger (random: Prng, min: number): number {
  const edges = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]
  const value = random.chance(0.5) ? random.pick(edges) : random.int(0, 2 ** 31)
  return Math.max(min, value)
}

/**
 * Asserts that `fn` throws a ModuleError with `code`, and, when given, a message matching
 * `pattern` (the validators name the offending field).
 */
export function assertCode (fn: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ModuleError, `expected a ModuleError, got ${String(error)}`)
    assert.equal(error.code, code, `wrong code for: ${error.message}`)
    if (pattern !== undefined) assert.match(error.message, pattern)
    return true
  })
}

/** Same as {@link assertCode}, for a promise. */
export async function assertRejectsCode (promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ModuleError, `expected a ModuleError, got ${String(error)}`)
    assert.equal(error.code, code, `wrong code for: ${error.message}`)
    return true
  })
}

/** A message with its marks as ordinary objects, so deepStrictEqual ignores their null prototype. */
export function withPlainMarks (message: Message): Message {
  if (message.type === 'sync') return { ...message, marks: { ...message.marks }, above: { ...message.above } }
  if (message.type === 'snapshot' && message.marks !== null) return { ...message, marks: { ...message.marks } }
  if (message.type === 'fence-answer' && message.marks !== null && message.above !== null) return { ...message, marks: { ...message.marks }, above: { ...message.above } }
  if (message.type === 'vote' && message.before !== null) return { ...message, before: { marks: { ...message.before.marks }, above: { ...message.before.above } } }
  return message
}
