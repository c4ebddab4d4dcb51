/**
 * Goal: every core message crosses the wire unchanged, byte for byte, whatever its keys and
 * values hold and however the stream is cut. Method: sample and seeded random messages go
 * through messageToWire, encodePayload and encodeFrame, are concatenated into one stream,
 * cut at seeded random points, and come back through FrameDecoder, decodePayload and
 * messageFromWire; the result must equal the original and re-encode to the same bytes.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Message } from '../../src/core/index.js'
import { decodePayload, encodePayload } from '../../src/wire/codec.js'
import { FRAME_BYTES_MAX_DEFAULT, FrameDecoder, encodeFrame } from '../../src/wire/frames.js'
import { bytesToKey, keyToBytes } from '../../src/core/index.js'
import { messageFromWire, messageToWire } from '../../src/wire/messages.js'
import { Prng } from '../sim/prng.js'
import { HOSTILE_KEYS, MESSAGE_TYPES, SAMPLE_MESSAGES, randomMessage, withPlainMarks } from './helpers.js'

function payloadOf (message: Message): Uint8Array {
  return encodePayload(messageToWire(message))
}

/** Concatenates frames, then cuts the stream into chunks of 0 to `chunkMax` bytes. */
function cutStream (frames: readonly Uint8Array[], random: Prng, chunkMax: number): Uint8Array[] {
  const stream = new Uint8Array(frames.reduce((sum, frame) => sum + frame.byteLength, 0))
  let at = 0
  for (const frame of frames) {
    stream.set(frame, at)
    at += frame.byteLength
  }
  const chunks: Uint8Array[] = []
  for (let offset = 0; offset < stream.byteLength;) {
    const size = random.int(0, chunkMax)
    chunks.push(stream.subarray(offset, offset + size))
    offset += size
  }
  return chunks
}

/** Sends `messages` through the whole wire path, cut by `random`, and returns what arrives. */
function transmit (messages: readonly Message[], random: Prng, chunkMax: number): Message[] {
  const decoder = new FrameDecoder(FRAME_BYTES_MAX_DEFAULT)
  const received: Message[] = []
  for (const chunk of cutStream(messages.map((message) => encodeFrame(payloadOf(message))), random, chunkMax)) {
    for (const payload of decoder.push(chunk)) received.push(messageFromWire(decodePayload(payload)))
  }
  return received
}

function assertSame (received: readonly Message[], sent: readonly Message[]): void {
  assert.equal(received.length, sent.length)
  received.forEach((message, i) => {
    const original = sent[i]
    assert.ok(original !== undefined)
    assert.deepStrictEqual(withPlainMarks(message), withPlainMarks(original))
    assert.deepStrictEqual(payloadOf(message), payloadOf(original), `message ${i} (${original.type}) re-encodes differently`)
  })
}

await test('the samples cover every message type', () => {
  assert.deepStrictEqual(new Set(SAMPLE_MESSAGES.map((message) => message.type)), new Set(MESSAGE_TYPES))
})

await test('every sample message round-trips byte-exact, in one chunk and in random cuts', () => {
  assertSame(transmit(SAMPLE_MESSAGES, new Prng(1), Number.MAX_SAFE_INTEGER), SAMPLE_MESSAGES)
  for (let seed = 1; seed <= 200; seed++) {
    const random = new Prng(seed)
    // Small chunks split headers and bodies; large ones carry many frames at once.
    assertSame(transmit(SAMPLE_MESSAGES, random, random.pick([1, 3, 7, 64, 1024])), SAMPLE_MESSAGES)
  }
})

await test('seeded random messages round-trip byte-exact', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const random = new Prng(seed)
    const messages = Array.from({ length: random.int(1, 12) }, () => randomMessage(random))
    try {
      assertSame(transmit(messages, random, random.pick([1, 5, 50, 500])), messages)
    } catch (error) {
      throw new Error(`seed ${seed} failed`, { cause: error })
    }
  }
})

await test('hostile keys and values survive exactly, as bytes', () => {
  for (const key of HOSTILE_KEYS) {
    const message: Message = { type: 'prepare', seq: 1, ops: [{ type: 'put', key, value: keyToBytes(key) }], clock: 0, epoch: 0 }
    const [received] = transmit([message], new Prng(key.length), 3)
    assert.ok(received !== undefined && received.type === 'prepare')
    const [op] = received.ops
    assert.ok(op !== undefined && op.type === 'put')
    assert.equal(op.key, key)
    assert.equal(Object.getPrototypeOf(op.value), Uint8Array.prototype, 'values are plain Uint8Arrays, not Buffers')
    assert.deepStrictEqual(op.value, keyToBytes(key))
  }
})

await test('keys travel as msgpack bin, never as strings or map keys', () => {
  const wire = messageToWire({ type: 'commit', seq: 1, ts: 1, ops: [{ type: 'del', key: '__proto__' }] })
  assert.deepStrictEqual(wire, { type: 'commit', seq: 1, ts: 1, ops: [{ type: 'del', key: keyToBytes('__proto__') }] })
  // 0xc4 is bin 8: the key's 9 bytes follow it in the payload.
  const payload = encodePayload(wire)
  const at = payload.findIndex((byte, i) => byte === 0xc4 && payload[i + 1] === 9)
  assert.ok(at >= 0)
  assert.equal(bytesToKey(payload.subarray(at + 2, at + 11)), '__proto__')
})

await test('key conversion is exact for all 256 byte values and for long keys', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i)
  assert.deepStrictEqual(keyToBytes(bytesToKey(all)), all)
  const long = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff)
  assert.deepStrictEqual(keyToBytes(bytesToKey(long)), long)
})
