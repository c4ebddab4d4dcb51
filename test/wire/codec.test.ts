/**
 * Goal: the codec turns values into standard msgpack and back without changing bytes or
 * types, and turns every bad payload into LEVEL_PROTOCOL_ERROR at a cost bounded by its size.
 * Method: direct cases for binary handling, trailing bytes, truncation, deep nesting, msgpackr's
 * extensions and `__proto__` keys, some built with differently configured msgpackr encoders.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Packr } from 'msgpackr'
import { CODES } from '../../src/errors.js'
import { decodePayload, encodePayload } from '../../src/wire/codec.js'
import { messageFromWire } from '../../src/wire/messages.js'
import { assertCode, bytes } from './helpers.js'

await test('values round-trip, and binary stays a plain Uint8Array', () => {
  const value = { s: 'é', n: [0, -1, 2 ** 32, 2 ** 53 - 1, 1.5], b: bytes(0, 0xff), e: bytes(), t: true, z: null }
  const encoded = encodePayload(value)
  assert.equal(Object.getPrototypeOf(encoded), Uint8Array.prototype)
  const decoded = decodePayload(encoded) as typeof value
  assert.deepStrictEqual(decoded, value)
  assert.equal(Object.getPrototypeOf(decoded.b), Uint8Array.prototype)
  assert.equal(Object.getPrototypeOf(decoded.e), Uint8Array.prototype)
})

await test('binary is msgpack bin, and decoded binary is a copy', () => {
  assert.deepStrictEqual(encodePayload(bytes(1, 2)), bytes(0xc4, 2, 1, 2))
  class Subclass extends Uint8Array {}
  const input = new Subclass([0xc4, 2, 1, 2])
  const decoded = decodePayload(input)
  assert.equal(Object.getPrototypeOf(decoded), Uint8Array.prototype)
  input.fill(0)
  assert.deepStrictEqual(decoded, bytes(1, 2))
})

await test('empty, truncated and unknown payloads are protocol errors', () => {
  const cases = [
    bytes(), bytes(0x92, 0x01), bytes(0xc4, 5, 1), bytes(0xdd, 0xff, 0xff, 0xff, 0xff), bytes(0xdf, 0xff, 0xff, 0xff, 0xff),
    bytes(0xd4, 0x01, 0x00), bytes(0xc7, 1, 0x55, 0), bytes(0xdb, 0, 0, 0, 9), bytes(0x81, 0xc4, 1, 0, 1)
  ]
  for (const payload of cases) assertCode(() => decodePayload(payload), CODES.PROTOCOL_ERROR)
  assertCode(() => decodePayload('x' as unknown as Uint8Array), CODES.PROTOCOL_ERROR)
})

await test('trailing bytes after the value are refused, cheaply even after a large value', () => {
  assertCode(() => decodePayload(bytes(0x01, 0x02)), CODES.PROTOCOL_ERROR, /1 bytes after/)
  const large = encodePayload({ type: 'ack', value: new Uint8Array(8 * 1024 * 1024), list: new Array(200_000).fill(0) })
  const trailing = new Uint8Array(large.length + 1)
  trailing.set(large)
  trailing[large.length] = 0xc0
  // msgpackr's own check would first JSON-stringify the whole value (seconds of work for a
  // bad peer to impose): ours must not stringify anything.
  const stringify = JSON.stringify
  let stringified = 0
  JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
    stringified++
    return stringify(...args)
  }) as typeof JSON.stringify
  try {
    assertCode(() => decodePayload(trailing), CODES.PROTOCOL_ERROR)
  } finally {
    JSON.stringify = stringify
  }
  assert.equal(stringified, 0)
})

await test('deep nesting is a protocol error, not a crash', () => {
  const nested = new Uint8Array(200_000).fill(0x91)
  assertCode(() => decodePayload(nested), CODES.PROTOCOL_ERROR)
  // And the codec still works afterwards.
  assert.deepStrictEqual(decodePayload(encodePayload([1])), [1])
})

await test('a __proto__ map key cannot set a prototype', () => {
  const encoded = bytes(0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x81, 0xa1, 0x78, 0x01)
  const decoded = decodePayload(encoded) as Record<string, unknown>
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype)
  assert.equal(decoded['x'], undefined)
  assert.deepStrictEqual(Object.keys(decoded), ['__proto_'])
})

await test('structured-clone references are refused', () => {
  const cyclic: Record<string, unknown> = { type: 'ack' }
  cyclic['self'] = cyclic
  const encoded = new Packr({ structuredClone: true }).pack(cyclic)
  assertCode(() => decodePayload(new Uint8Array(encoded)), CODES.PROTOCOL_ERROR)
})

await test('msgpackr records and extension types decode, and validation refuses what is not plain', () => {
  // Records (msgpackr's interned object shapes) are plain objects once decoded: harmless.
  const record = new Packr({ useRecords: true }).pack({ type: 'ack', seq: 1 })
  assert.deepStrictEqual(messageFromWire(decodePayload(new Uint8Array(record))), { type: 'ack', seq: 1 })
  const others = new Packr({ moreTypes: true, useRecords: false })
  for (const value of [new Date(0), new Set([1]), new Error('x'), /x/, new Uint16Array(1), new ArrayBuffer(2)]) {
    const decoded = decodePayload(new Uint8Array(others.pack({ type: 'ack', seq: value })))
    assertCode(() => messageFromWire(decoded), CODES.PROTOCOL_ERROR, /ack\.seq/)
  }
})

await test('64-bit integers from other encoders decode as numbers, and only safe ones pass', () => {
  const uint64 = (high: number, low: number): Uint8Array => bytes(0x82, 0xa4, ...new TextEncoder().encode('type'), 0xa3, ...new TextEncoder().encode('ack'),
    0xa3, ...new TextEncoder().encode('seq'), 0xcf, high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff, low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff)
  assert.deepStrictEqual(messageFromWire(decodePayload(uint64(0, 5))), { type: 'ack', seq: 5 })
  assert.deepStrictEqual(messageFromWire(decodePayload(uint64(0x1f_ffff, 0xffff_ffff))), { type: 'ack', seq: Number.MAX_SAFE_INTEGER })
  assertCode(() => messageFromWire(decodePayload(uint64(0x20_0000, 2))), CODES.PROTOCOL_ERROR, /ack\.seq must be a safe integer/)
})

await test('encodePayload refuses what msgpack cannot carry', () => {
  assertCode(() => encodePayload({ big: 2n ** 70n }), CODES.PROTOCOL_ERROR)
})
