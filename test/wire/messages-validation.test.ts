/**
 * Goal: messageFromWire refuses every malformed message with LEVEL_PROTOCOL_ERROR and a
 * message naming the field, and never returns part of one. Method: starting from a valid wire
 * form of every message type, a table replaces each field with values of every wrong kind,
 * adds and removes fields, and breaks limits and cross-field rules; a few inputs also go
 * through the real codec, to cover what msgpackr itself produces.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Message } from '../../src/core/index.js'
import { CODES } from '../../src/errors.js'
import { decodePayload, encodePayload } from '../../src/wire/codec.js'
import { isHostId } from '../../src/wire/host-id.js'
import { LOG_ENTRIES_PER_MESSAGE_MAX, MARKS_ORIGINS_MAX, OPS_PER_MESSAGE_MAX, SPANS_PER_MESSAGE_MAX, SNAPSHOT_RECORDS_PER_MESSAGE_MAX } from '../../src/wire/limits.js'
import { messageFromWire, messageToWire } from '../../src/wire/messages.js'
import { assertCode, bytes } from './helpers.js'

type Path = ReadonlyArray<string | number>

/** A deep copy of a wire value (plain objects, arrays, bytes) with the value at `path` replaced, or removed. */
function edit (value: unknown, path: Path, replacement: { value: unknown } | 'remove'): unknown {
  const [head, ...rest] = path
  if (head === undefined) {
    assert.ok(replacement !== 'remove')
    return replacement.value
  }
  if (Array.isArray(value)) {
    const copy = [...(value as unknown[])]
    assert.ok(typeof head === 'number')
    copy[head] = edit(copy[head], rest, replacement)
    return copy
  }
  assert.ok(typeof value === 'object' && value !== null)
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  if (rest.length === 0 && replacement === 'remove') {
    delete copy[String(head)]
  } else {
    copy[String(head)] = edit(copy[String(head)], rest, replacement)
  }
  return copy
}

function wire (message: Message): unknown {
  return messageToWire(message)
}

const PUT = { type: 'put', key: 'k', value: bytes(1) } as const
const VALID: Record<Message['type'], unknown> = {
  prepare: wire({ type: 'prepare', seq: 1, ops: [PUT, { type: 'del', key: 'k' }], clock: 0, epoch: 0 }),
  vote: wire({ type: 'vote', seq: 1, yes: true, clock: 0, before: { marks: { a: 1 }, above: {} } }),
  commit: wire({ type: 'commit', seq: 1, ts: 0, ops: [PUT] }),
  abort: wire({ type: 'abort', seq: 1 }),
  ack: wire({ type: 'ack', seq: 1 }),
  sync: wire({ type: 'sync', marks: { a: 1 }, above: { b: [[3, 4]] }, clock: 5, decided: 2 }),
  entries: wire({
    type: 'entries',
    entries: [{ kind: 'commit', origin: 'a', seq: 1, ts: 0, ops: [PUT] }, { kind: 'abort', origin: 'a', seq: 2 }],
    more: false
  }),
  snapshot: wire({ type: 'snapshot', session: 0, part: 0, marks: { a: 1 }, membership: { epoch: 1, members: ['a:1', 'b:1'], minConsensus: 1 }, horizon: 3, records: [['k', { value: bytes(1), version: { ts: 0, origin: 'a', seq: 1 } }]], done: true }),
  'snapshot-next': wire({ type: 'snapshot-next', session: 0, part: 0 }),
  'snapshot-stop': wire({ type: 'snapshot-stop', session: 3 }),
  probe: wire({ type: 'probe' }),
  recover: wire({ type: 'recover', start: 7 }),
  recovery: wire({ type: 'recovery', contiguous: 3, above: [[5, 7]], prepared: [4], clock: 9, epoch: 2 }),
  read: wire({ type: 'read', id: 3, keys: ['k'] }),
  'read-answer': wire({ type: 'read-answer', id: 3, records: [{ value: bytes(1), version: { ts: 0, origin: 'a', seq: 1 } }, undefined], epoch: 0, horizon: 4 }),
  fence: wire({ type: 'fence', id: 3, range: { gt: 'a', gte: 'b', lt: 'c', lte: 'd' } }),
  'fence-answer': wire({ type: 'fence-answer', id: 3, marks: { a: 1 }, above: { b: [[3, 4]] }, epoch: 2 })
}

type Kind = 'seq' | 'counter' | 'boolean' | 'bytes' | 'nullable-bytes' | 'host-id' | 'array' | 'nullable-array' | 'object' | 'literal'

/** Values of every kind; each field is tried with all those that are wrong for it. */
const WRONG: Record<Kind, readonly unknown[]> = {
  seq: [0, -1, 1.5, 2 ** 53, -0.5, NaN, Infinity, '1', null, undefined, true, [], {}, bytes(1), 1n, new Date(0)],
  counter: [-1, 0.5, 2 ** 53, Number.MAX_VALUE, NaN, -Infinity, '0', null, undefined, false, [], {}, bytes(0), 0n],
  boolean: [0, 1, 'true', null, undefined, [], {}, bytes(1)],
  bytes: ['k', '', null, undefined, 1, [1], {}, new Uint16Array(1), new Uint8Array(1).buffer, new DataView(new ArrayBuffer(1)), new Set()],
  'nullable-bytes': ['k', undefined, 1, [1], {}, new Uint16Array(1), new ArrayBuffer(1)],
  'host-id': ['', 'a b', 'é', '_a', '-a', '.a', '__proto__', 'a'.repeat(65), 'a\n', 1, null, undefined, bytes(97), ['a'], {}],
  array: ['x', null, undefined, 1, {}, bytes(1), new Set([1]), { length: 0 }],
  'nullable-array': ['x', undefined, 1, {}, bytes(1), new Set([1])],
  object: ['x', null, undefined, 1, [], bytes(1), new Map(), new Date(0), Object.create({ inherited: true }) as unknown],
  literal: ['nope', '', 'PUT', 1, null, undefined, bytes(1), []]
}

/** Every field of every valid sample, with its kind. */
const FIELDS: ReadonlyArray<[Message['type'], Path, Kind]> = [
  ['prepare', ['type'], 'literal'], ['prepare', ['seq'], 'seq'], ['prepare', ['ops'], 'array'], ['prepare', ['clock'], 'counter'],
  ['prepare', ['ops', 0], 'object'], ['prepare', ['ops', 0, 'type'], 'literal'], ['prepare', ['ops', 0, 'key'], 'bytes'],
  ['prepare', ['ops', 0, 'value'], 'bytes'], ['prepare', ['ops', 1], 'object'], ['prepare', ['ops', 1, 'key'], 'bytes'],
  ['vote', ['seq'], 'seq'], ['vote', ['yes'], 'boolean'], ['vote', ['clock'], 'counter'],
  ['commit', ['seq'], 'seq'], ['commit', ['ts'], 'counter'], ['commit', ['ops'], 'nullable-array'], ['commit', ['ops', 0, 'key'], 'bytes'],
  ['abort', ['seq'], 'seq'], ['ack', ['seq'], 'seq'],
  ['sync', ['marks'], 'object'], ['sync', ['marks', 'a'], 'counter'], ['sync', ['above'], 'object'], ['sync', ['above', 'b'], 'array'],
  ['sync', ['above', 'b', 0], 'array'], ['sync', ['above', 'b', 0, 0], 'seq'], ['sync', ['clock'], 'counter'], ['sync', ['decided'], 'counter'],
  ['entries', ['entries'], 'array'], ['entries', ['more'], 'boolean'], ['entries', ['entries', 0], 'object'],
  ['entries', ['entries', 0, 'kind'], 'literal'], ['entries', ['entries', 0, 'origin'], 'host-id'], ['entries', ['entries', 0, 'seq'], 'seq'],
  ['entries', ['entries', 0, 'ts'], 'counter'], ['entries', ['entries', 0, 'ops'], 'array'], ['entries', ['entries', 0, 'ops', 0, 'value'], 'bytes'],
  ['entries', ['entries', 1, 'origin'], 'host-id'], ['entries', ['entries', 1, 'seq'], 'seq'],
  ['snapshot', ['session'], 'counter'], ['snapshot', ['part'], 'counter'], ['snapshot', ['marks'], 'object'], ['snapshot', ['marks', 'a'], 'counter'],
  ['snapshot', ['records'], 'array'], ['snapshot', ['done'], 'boolean'], ['snapshot', ['horizon'], 'counter'], ['snapshot', ['records', 0], 'array'],
  ['snapshot', ['records', 0, 0], 'bytes'], ['snapshot', ['records', 0, 1], 'object'], ['snapshot', ['records', 0, 1, 'value'], 'nullable-bytes'],
  ['snapshot', ['records', 0, 1, 'version'], 'object'], ['snapshot', ['records', 0, 1, 'version', 'ts'], 'counter'],
  ['snapshot', ['records', 0, 1, 'version', 'origin'], 'host-id'], ['snapshot', ['records', 0, 1, 'version', 'seq'], 'seq'],
  ['snapshot-next', ['session'], 'counter'], ['snapshot-next', ['part'], 'counter'], ['snapshot-stop', ['session'], 'counter'],
  ['recover', ['start'], 'counter'], ['recovery', ['contiguous'], 'counter'], ['recovery', ['above'], 'array'], ['recovery', ['above', 0], 'array'],
  ['recovery', ['above', 0, 0], 'seq'], ['recovery', ['prepared'], 'array'], ['recovery', ['prepared', 0], 'seq'], ['recovery', ['clock'], 'counter'], ['recovery', ['epoch'], 'counter'],
  ['read', ['id'], 'counter'], ['read', ['keys'], 'array'], ['read', ['keys', 0], 'bytes'],
  ['read-answer', ['id'], 'counter'], ['read-answer', ['horizon'], 'counter'], ['read-answer', ['records'], 'nullable-array'], ['read-answer', ['records', 0, 'value'], 'nullable-bytes'],
  ['read-answer', ['records', 0, 'version'], 'object'], ['read-answer', ['records', 0, 'version', 'ts'], 'counter'],
  ['read-answer', ['records', 0, 'version', 'origin'], 'host-id'], ['read-answer', ['records', 0, 'version', 'seq'], 'seq'],
  ['fence', ['id'], 'counter'], ['fence', ['range'], 'object'], ['fence', ['range', 'gt'], 'nullable-bytes'], ['fence', ['range', 'lte'], 'nullable-bytes'],
  ['fence-answer', ['id'], 'counter'], ['fence-answer', ['marks', 'a'], 'counter'], ['fence-answer', ['above', 'b'], 'array'], ['fence-answer', ['above', 'b', 0, 0], 'seq']
]

/** Objects inside each sample, by path, and the fields each must have. */
const OBJECTS: ReadonlyArray<[Message['type'], Path]> = [
  ...(Object.keys(VALID) as Array<Message['type']>).map((type): [Message['type'], Path] => [type, []]),
  ['prepare', ['ops', 0]], ['prepare', ['ops', 1]], ['commit', ['ops', 0]], ['entries', ['entries', 0]], ['entries', ['entries', 1]],
  ['entries', ['entries', 0, 'ops', 0]], ['snapshot', ['records', 0, 1]], ['snapshot', ['records', 0, 1, 'version']],
  ['read-answer', ['records', 0]], ['read-answer', ['records', 0, 'version']],
  ['fence', ['range']]
]

function at (value: unknown, path: Path): unknown {
  let current = value
  for (const step of path) current = (current as Record<string | number, unknown>)[step]
  return current
}

function label (type: string, path: Path): string {
  return [type, ...path].join('.')
}

await test('the valid samples are accepted', () => {
  for (const value of Object.values(VALID)) messageFromWire(value)
})

await test('every field refuses every wrong kind of value, naming the field', () => {
  let cases = 0
  for (const [type, path, kind] of FIELDS) {
    const valid = VALID[type]
    assert.notEqual(at(valid, path), undefined, `${label(type, path)} exists in the sample`)
    for (const wrong of WRONG[kind]) {
      const broken = edit(valid, path, { value: wrong })
      // The last step of the path appears in the error, e.g. "prepare.ops[0].key".
      const last = path[path.length - 1]
      const pattern = typeof last === 'string' ? new RegExp(`\\b${last}\\b`) : undefined
      assert.doesNotThrow(() => { try { assertCode(() => messageFromWire(broken), CODES.PROTOCOL_ERROR, pattern) } catch (error) { throw new Error(`${label(type, path)} = ${String(wrong)}`, { cause: error }) } })
      cases++
    }
  }
  assert.ok(cases > 300)
})

await test('objects refuse an extra field and a missing field', () => {
  for (const [type, path] of OBJECTS) {
    const object = at(VALID[type], path)
    assert.ok(typeof object === 'object' && object !== null)
    assertCode(() => messageFromWire(edit(VALID[type], [...path, 'extra'], { value: 1 })), CODES.PROTOCOL_ERROR, /extra is not a known field/)
    for (const field of Object.keys(object)) {
      assertCode(() => messageFromWire(edit(VALID[type], [...path, field], 'remove')), CODES.PROTOCOL_ERROR, new RegExp(`${field}`))
    }
  }
})

await test('a message must be a plain object with a known type', () => {
  class Impostor { type = 'ack'; seq = 1 }
  const inputs: unknown[] = [
    null, undefined, 1, 'ack', true, [], ['ack', 1], bytes(1), new Map<string, unknown>([['type', 'ack'], ['seq', 1]]), new Date(0),
    new Impostor(), Object.create({ type: 'ack', seq: 1 }), { seq: 1 }, { type: 'nope', seq: 1 }, { type: 'ACK', seq: 1 },
    { type: 'toString', seq: 1 }, { type: '__proto__', seq: 1 }, { type: 1, seq: 1 }
  ]
  for (const input of inputs) assertCode(() => messageFromWire(input), CODES.PROTOCOL_ERROR)
  // An object without a prototype is as plain as {}.
  assert.deepStrictEqual(messageFromWire(Object.assign(Object.create(null) as object, { type: 'ack', seq: 1 })), { type: 'ack', seq: 1 })
})

await test('string keys are refused where bytes belong', () => {
  assertCode(() => messageFromWire({ type: 'prepare', seq: 1, ops: [{ type: 'del', key: 'k' }], clock: 0, epoch: 0 }), CODES.PROTOCOL_ERROR, /prepare\.ops\[0\]\.key must be bytes/)
  assertCode(() => messageFromWire({ type: 'snapshot', session: 0, part: 0, marks: {}, membership: null, horizon: 0, records: [['k', { value: null, version: { ts: 0, origin: 'a', seq: 1 } }]], done: true }), CODES.PROTOCOL_ERROR, /records\[0\]\[0\] must be bytes/)
})

await test('arrays beyond their limits are refused', () => {
  const del = { type: 'del', key: bytes(1) }
  const entry = { kind: 'abort', origin: 'a', seq: 1 }
  const record = [bytes(1), { value: null, version: { ts: 0, origin: 'a', seq: 1 } }]
  const cases: Array<[unknown, unknown]> = [
    [{ type: 'prepare', seq: 1, ops: new Array(OPS_PER_MESSAGE_MAX).fill(del), clock: 0, epoch: 0 }, { type: 'prepare', seq: 1, ops: new Array(OPS_PER_MESSAGE_MAX + 1).fill(del), clock: 0, epoch: 0 }],
    [{ type: 'commit', seq: 1, ts: 0, ops: new Array(OPS_PER_MESSAGE_MAX).fill(del) }, { type: 'commit', seq: 1, ts: 0, ops: new Array(OPS_PER_MESSAGE_MAX + 1).fill(del) }],
    [{ type: 'entries', entries: new Array(LOG_ENTRIES_PER_MESSAGE_MAX).fill(entry), more: true }, { type: 'entries', entries: new Array(LOG_ENTRIES_PER_MESSAGE_MAX + 1).fill(entry), more: true }],
    [
      { type: 'snapshot', session: 0, part: 1, marks: null, membership: null, horizon: 0, records: new Array(SNAPSHOT_RECORDS_PER_MESSAGE_MAX).fill(record), done: false },
      { type: 'snapshot', session: 0, part: 1, marks: null, membership: null, horizon: 0, records: new Array(SNAPSHOT_RECORDS_PER_MESSAGE_MAX + 1).fill(record), done: false }
    ]
  ]
  cases.push([
    { type: 'recovery', contiguous: 0, above: new Array(SPANS_PER_MESSAGE_MAX).fill([1, 1]), prepared: new Array(SPANS_PER_MESSAGE_MAX).fill(1), clock: 0, epoch: 0 },
    { type: 'recovery', contiguous: 0, above: [], prepared: new Array(SPANS_PER_MESSAGE_MAX + 1).fill(1), clock: 0, epoch: 0 }
  ])
  for (const [atLimit, overLimit] of cases) {
    messageFromWire(atLimit)
    assertCode(() => messageFromWire(overLimit), CODES.PROTOCOL_ERROR, /over the limit/)
  }
  const marks = (count: number): Record<string, number> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`h${i}`, i]))
  messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks: marks(MARKS_ORIGINS_MAX) })
  assertCode(() => messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks: marks(MARKS_ORIGINS_MAX + 1) }), CODES.PROTOCOL_ERROR, /over the limit/)
})

await test('marks refuse bad host ids, __proto__ keys, bad counts and non-plain objects', () => {
  const badIds = ['', 'a b', 'é', '_a', '-x', 'a'.repeat(65), 'a\u0000', '__proto__', '__proto_']
  for (const id of badIds) {
    assert.equal(isHostId(id), false, id)
    const marks = Object.defineProperty({}, id, { value: 1, enumerable: true })
    assertCode(() => messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks }), CODES.PROTOCOL_ERROR, /sync\.marks key must be a host id/)
  }
  // JSON.parse makes "__proto__" an own key, as a hostile decoder might.
  assertCode(() => messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks: JSON.parse('{"__proto__": 1}') }), CODES.PROTOCOL_ERROR, /host id/)
  // A hidden (non-enumerable) entry is still checked.
  assertCode(() => messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks: Object.defineProperty({}, 'a', { value: -1 }) }), CODES.PROTOCOL_ERROR, /sync\.marks\.a/)
  assertCode(() => messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks: { [Symbol('a')]: 1 } }), CODES.PROTOCOL_ERROR, /symbol/)
  for (const marks of [[1], new Map([['a', 1]]), Object.create({ a: 1 }), { a: '1' }, { a: null }, { a: 1.5 }, { a: -1 }]) {
    assertCode(() => messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks }), CODES.PROTOCOL_ERROR)
  }
  assert.equal(isHostId('a'.repeat(64)), true)
  assert.equal(isHostId('10.0.0.1:3001'), true)
})

await test('sparse arrays are refused at their holes', () => {
  // eslint-disable-next-line no-sparse-arrays
  assertCode(() => messageFromWire({ type: 'prepare', seq: 1, ops: [, { type: 'del', key: bytes(1) }], clock: 0, epoch: 0 }), CODES.PROTOCOL_ERROR, /prepare\.ops\[0\] must be an object/)
  assertCode(() => messageFromWire({ type: 'entries', entries: new Array(1), more: false }), CODES.PROTOCOL_ERROR, /entries\[0\]/)
  assertCode(() => messageFromWire({ type: 'snapshot', session: 0, part: 1, marks: null, membership: null, horizon: 0, records: new Array(1), done: false }), CODES.PROTOCOL_ERROR, /records\[0\]/)
})

await test('decoded marks have no prototype, so absent origins read as undefined', () => {
  const message = messageFromWire({ type: 'sync', clock: 0, decided: 0, above: {}, marks: { a: 1 } })
  assert.ok(message.type === 'sync')
  assert.equal(Object.getPrototypeOf(message.marks), null)
  assert.equal(message.marks['constructor'], undefined)
  assert.equal(message.marks['toString'], undefined)
})

await test('cross-field rules: recovery spans, snapshot marks only on part 0, records as pairs', () => {
  const recovery = (span: unknown): unknown => ({ type: 'recovery', contiguous: 0, above: [span], prepared: [], clock: 0, epoch: 0 })
  messageFromWire(recovery([5, 5]))
  assertCode(() => messageFromWire(recovery([5, 4])), CODES.PROTOCOL_ERROR, /above\[0\]\[1\] must be at least 5/)
  assertCode(() => messageFromWire(recovery([5])), CODES.PROTOCOL_ERROR, /must be a \[start, last\] pair/)
  // An abort entry has no ops, and no range.
  assertCode(() => messageFromWire({ type: 'entries', entries: [{ kind: 'abort', origin: 'a', seq: 1, ops: [] }], more: false }), CODES.PROTOCOL_ERROR, /ops is not a known field/)
  assertCode(() => messageFromWire({ type: 'entries', entries: [{ kind: 'abort', origin: 'a', seq: 1, last: 1 }], more: false }), CODES.PROTOCOL_ERROR, /last is not a known field/)
  const snapshot = (part: number, marks: unknown, records: unknown[] = []): unknown => ({ type: 'snapshot', session: 1, part, marks, membership: null, horizon: 0, records, done: true })
  assertCode(() => messageFromWire(snapshot(0, null)), CODES.PROTOCOL_ERROR, /marks must be present on part 0/)
  assertCode(() => messageFromWire(snapshot(1, {})), CODES.PROTOCOL_ERROR, /marks must be null after part 0/)
  assertCode(() => messageFromWire({ ...snapshot(1, null) as object, horizon: 4 }), CODES.PROTOCOL_ERROR, /horizon must be 0 after part 0/)
  const version = { ts: 0, origin: 'a', seq: 1 }
  for (const record of [[bytes(1)], [bytes(1), { value: null, version }, 1], []]) {
    assertCode(() => messageFromWire(snapshot(1, null, [record])), CODES.PROTOCOL_ERROR, /records\[0\]/)
  }
  // A put needs a value; a del must not carry one.
  assertCode(() => messageFromWire({ type: 'ack', seq: 1, ops: [] }), CODES.PROTOCOL_ERROR)
  assertCode(() => messageFromWire({ type: 'commit', seq: 1, ts: 0, ops: [{ type: 'put', key: bytes(1) }] }), CODES.PROTOCOL_ERROR, /value is missing/)
  assertCode(() => messageFromWire({ type: 'commit', seq: 1, ts: 0, ops: [{ type: 'del', key: bytes(1), value: bytes(1) }] }), CODES.PROTOCOL_ERROR, /value is not a known field/)
})

await test('what msgpackr decodes from hostile payloads is refused too', () => {
  const payload = (value: unknown): unknown => decodePayload(encodePayload(value))
  // A "__proto__" map key arrives renamed to "__proto_", which is not a host id either.
  assertCode(() => messageFromWire(payload({ type: 'sync', clock: 0, decided: 0, above: {}, marks: JSON.parse('{"__proto__": 1}') })), CODES.PROTOCOL_ERROR, /host id/)
  // Extension types decode to class instances: a Date, a Set, an Error, a RegExp.
  for (const value of [new Date(0), new Set([1]), new Error('x'), /x/]) {
    assertCode(() => messageFromWire(payload({ type: 'sync', clock: 0, decided: 0, above: {}, marks: value })), CODES.PROTOCOL_ERROR, /sync\.marks must be a plain object/)
  }
  // A Map encodes as a msgpack map and so decodes as a plain object: accepted only if valid.
  assert.deepStrictEqual({ ...(messageFromWire(payload({ type: 'sync', clock: 0, decided: 0, above: {}, marks: new Map([['a', 1]]) })) as { marks: object }).marks }, { a: 1 })
  // msgpack map keys that are not strings (an integer, an array) become strings or are refused.
  const intKey = Uint8Array.from([0x82, 0xa4, ...new TextEncoder().encode('type'), 0xa3, ...new TextEncoder().encode('ack'), 0x01, 0x01])
  assertCode(() => messageFromWire(decodePayload(intKey)), CODES.PROTOCOL_ERROR, /ack\.1 is not a known field/)
})
