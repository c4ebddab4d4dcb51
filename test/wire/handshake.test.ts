/**
 * Goal: a proof verifies only for the same secret, nonce and ordered pair of ids, the secret
 * never leaves the host, and hellos are validated like messages. Method: prove/verify round
 * trips against every single-argument change, a known-answer test against node:crypto's HMAC
 * (pinning the byte layout for re-implementers), and a table of malformed hellos.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { CODES } from '../../src/errors.js'
import { decodePayload, encodePayload } from '../../src/wire/codec.js'
import { type Hello, PROTOCOL_VERSION, createNonce, helloFromWire, helloToWire, prove, verify } from '../../src/wire/handshake.js'
import { ADDRESS_HOST_CHARS_MAX, NONCE_BYTES, PROOF_BYTES } from '../../src/wire/limits.js'
import { assertCode, assertRejectsCode, bytes } from './helpers.js'

const SECRET = 'cluster-shared-secret'

await test('nonces are 32 random bytes, and differ', () => {
  const nonces = Array.from({ length: 100 }, () => createNonce())
  for (const nonce of nonces) {
    assert.equal(nonce.byteLength, NONCE_BYTES)
    assert.equal(Object.getPrototypeOf(nonce), Uint8Array.prototype)
  }
  assert.equal(new Set(nonces.map((nonce) => Array.from(nonce).join(','))).size, nonces.length)
})

await test('a proof verifies with the same secret, nonce and ids', async () => {
  const nonce = createNonce()
  const proof = await prove(SECRET, nonce, 'b', 'a')
  assert.equal(proof.byteLength, PROOF_BYTES)
  assert.equal(await verify(SECRET, nonce, 'b', 'a', proof), true)
  assert.deepStrictEqual(await prove(SECRET, nonce, 'b', 'a'), proof, 'proofs are deterministic')
})

await test('a proof fails with a wrong secret, swapped ids, another nonce, or any altered byte', async () => {
  const nonce = createNonce()
  const proof = await prove(SECRET, nonce, 'b', 'a')
  assert.equal(await verify('other-secret', nonce, 'b', 'a', proof), false)
  assert.equal(await verify(SECRET, nonce, 'a', 'b', proof), false, 'a proof is bound to the direction')
  assert.equal(await verify(SECRET, nonce, 'b', 'c', proof), false)
  assert.equal(await verify(SECRET, nonce, 'c', 'a', proof), false)
  assert.equal(await verify(SECRET, createNonce(), 'b', 'a', proof), false)
  for (let i = 0; i < proof.byteLength; i++) {
    const altered = proof.slice()
    altered[i] = (altered[i] ?? 0) ^ 0x01
    assert.equal(await verify(SECRET, nonce, 'b', 'a', altered), false)
  }
})

await test('verify refuses proofs of the wrong type or length, without throwing', async () => {
  const nonce = createNonce()
  const proof = await prove(SECRET, nonce, 'b', 'a')
  const bad: unknown[] = [
    proof.subarray(0, 31), new Uint8Array([...proof, 0]), new Uint8Array(0), Array.from(proof), proof.buffer,
    new Uint16Array(proof.buffer.slice(0)), new DataView(proof.buffer), Array.from(proof).join(','), null, undefined, 1, {}, { ...proof }
  ]
  for (const value of bad) assert.equal(await verify(SECRET, nonce, 'b', 'a', value), false)
  // Malformed nonces and ids, as a peer might send them, are a plain false too.
  assert.equal(await verify(SECRET, nonce.subarray(1), 'b', 'a', proof), false)
  assert.equal(await verify(SECRET, 'x' as unknown as Uint8Array, 'b', 'a', proof), false)
  assert.equal(await verify(SECRET, nonce, '', 'a', proof), false)
  assert.equal(await verify(SECRET, nonce, 'b', 1 as unknown as string, proof), false)
})

await test('the proof is HMAC-SHA-256 over length-prefixed domain, nonce, prover and verifier', async () => {
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => i)
  const field = (data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(4 + data.byteLength)
    new DataView(out.buffer).setUint32(0, data.byteLength)
    out.set(data, 4)
    return out
  }
  const text = (value: string): Uint8Array => new TextEncoder().encode(value)
  const input = [field(text('quorum-level/1 proof')), field(nonce), field(text('host-b')), field(text('host-a'))]
  const expected = createHmac('sha256', SECRET).update(Buffer.concat(input)).digest()
  assert.deepStrictEqual(Buffer.from(await prove(SECRET, nonce, 'host-b', 'host-a')), expected)
})

await test('length prefixes keep id boundaries unambiguous', async () => {
  const nonce = createNonce()
  assert.notDeepStrictEqual(await prove(SECRET, nonce, 'ab', 'c'), await prove(SECRET, nonce, 'a', 'bc'))
})

await test('an empty secret is a configuration error; a bad nonce or id cannot be proved', async () => {
  const nonce = createNonce()
  await assertRejectsCode(prove('', nonce, 'b', 'a'), CODES.INVALID_OPTION)
  await assertRejectsCode(verify('', nonce, 'b', 'a', new Uint8Array(32)), CODES.INVALID_OPTION)
  await assertRejectsCode(prove(SECRET, nonce.subarray(1), 'b', 'a'), CODES.PROTOCOL_ERROR)
  await assertRejectsCode(prove(SECRET, nonce, 'b', '__proto__'), CODES.PROTOCOL_ERROR)
})

const HELLO: Hello = { protocol: PROTOCOL_VERSION, id: 'host-a', nonce: createNonce(), address: { host: '127.0.0.1', port: 3001 } }

await test('a hello round-trips through the codec, and carries no secret', () => {
  const payload = encodePayload(helloToWire(HELLO))
  assert.deepStrictEqual(helloFromWire(decodePayload(payload)), HELLO)
  const withoutAddress: Hello = { ...HELLO, address: null }
  assert.deepStrictEqual(helloFromWire(decodePayload(encodePayload(helloToWire(withoutAddress)))), withoutAddress)
  assert.equal(Buffer.from(payload).includes(SECRET), false)
  assert.deepStrictEqual(Object.keys(helloToWire(HELLO) as object), ['protocol', 'id', 'nonce', 'address'])
})

await test('malformed hellos are refused, naming the field', () => {
  const wire = helloToWire(HELLO) as Record<string, unknown>
  const cases: Array<[unknown, RegExp]> = [
    [null, /hello must be an object/], [[], /hello must be a plain object/], ['hello', /hello must be an object/],
    [{ ...wire, protocol: 2 }, /hello\.protocol is 2, but this host speaks protocol 1/],
    [{ id: 'a' }, /hello\.protocol is missing/],
    ...[0, -1, 1.5, '1', null].map((protocol): [unknown, RegExp] => [{ ...wire, protocol }, /hello\.protocol/]),
    [{ ...wire, extra: 1 }, /hello\.extra is not a known field/],
    ...['id', 'nonce', 'address'].map((field): [unknown, RegExp] => [{ ...wire, [field]: undefined }, new RegExp(`hello\\.${field}`)]),
    ...['', '_a', 'a b', 'a'.repeat(65), 1, null].map((id): [unknown, RegExp] => [{ ...wire, id }, /hello\.id must be a host id/]),
    ...[new Uint8Array(31), new Uint8Array(33), new Uint8Array(0), 'x'.repeat(32), Array.from(new Uint8Array(32)), null].map((nonce): [unknown, RegExp] => [{ ...wire, nonce }, /hello\.nonce/]),
    ...['127.0.0.1:3001', ['127.0.0.1', 3001], { host: 'h' }, { port: 1 }, { host: 'h', port: 1, extra: 1 }].map((address): [unknown, RegExp] => [{ ...wire, address }, /hello\.address/]),
    ...['', 'a b', 'h\n', 'é', 'a'.repeat(ADDRESS_HOST_CHARS_MAX + 1), 1, null].map((host): [unknown, RegExp] => [{ ...wire, address: { host, port: 1 } }, /hello\.address\.host/]),
    ...[0, 65_536, -1, 1.5, '80', null].map((port): [unknown, RegExp] => [{ ...wire, address: { host: 'h', port } }, /hello\.address\.port/])
  ]
  for (const [value, pattern] of cases) assertCode(() => helloFromWire(value), CODES.PROTOCOL_ERROR, pattern)
  // Missing fields, as opposed to fields set to undefined.
  for (const field of ['id', 'nonce', 'address']) {
    const copy = { ...wire }
    delete copy[field]
    assertCode(() => helloFromWire(copy), CODES.PROTOCOL_ERROR, new RegExp(`hello\\.${field} is missing`))
  }
  assert.deepStrictEqual(helloFromWire({ ...wire, address: { host: 'fe80::1%eth0', port: 65_535 } }).address, { host: 'fe80::1%eth0', port: 65_535 })
  assert.deepStrictEqual(bytes(...helloFromWire(wire).nonce), HELLO.nonce)
})
