/**
 * Goal: FrameDecoder recovers exactly the frames encodeFrame made, however the stream is cut,
 * and refuses oversize and empty frames at once, before buffering any body. Method: direct
 * cases for the limits and for chunk boundaries, plus a seeded comparison of random frame
 * sequences against a naive decoder that sees the whole stream at once.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CODES } from '../../src/errors.js'
import { FRAME_BYTES_MAX_DEFAULT, FrameDecoder, encodeFrame } from '../../src/wire/frames.js'
import { FRAME_BYTES_LIMIT, HANDSHAKE_FRAME_BYTES_MAX } from '../../src/wire/limits.js'
import { Prng } from '../sim/prng.js'
import { assertCode, bytes, randomBytes } from './helpers.js'

await test('a frame is a 4-byte big-endian length, then the payload', () => {
  assert.deepStrictEqual(encodeFrame(bytes(7, 8, 9)), bytes(0, 0, 0, 3, 7, 8, 9))
  const long = new Uint8Array(0x01_02_03)
  assert.deepStrictEqual(encodeFrame(long).subarray(0, 4), bytes(0, 1, 2, 3))
  assert.equal(FRAME_BYTES_MAX_DEFAULT, 16 * 1024 * 1024)
})

await test('encodeFrame refuses empty and oversize payloads', () => {
  assertCode(() => encodeFrame(bytes()), CODES.PROTOCOL_ERROR)
  assertCode(() => encodeFrame(new Uint8Array(11), 10), CODES.FRAME_TOO_LARGE)
  assert.equal(encodeFrame(new Uint8Array(10), 10).byteLength, 14)
})

await test('frames split across chunks, and many per chunk, are all recovered', () => {
  const decoder = new FrameDecoder(100)
  const stream = new Uint8Array([...encodeFrame(bytes(1)), ...encodeFrame(bytes(2, 3)), ...encodeFrame(bytes(4, 5, 6))])
  // One byte at a time: headers and bodies are split at every point.
  const out: Uint8Array[] = []
  for (const byte of stream) out.push(...decoder.push(bytes(byte)))
  assert.deepStrictEqual(out, [bytes(1), bytes(2, 3), bytes(4, 5, 6)])
  // All at once, and with empty chunks in between.
  assert.deepStrictEqual(decoder.push(bytes()), [])
  assert.deepStrictEqual(decoder.push(stream), [bytes(1), bytes(2, 3), bytes(4, 5, 6)])
})

await test('decoded frames are plain copies that share nothing with the chunk', () => {
  const decoder = new FrameDecoder(100)
  const chunk = encodeFrame(bytes(1, 2))
  const [frame] = decoder.push(chunk)
  chunk.fill(0)
  assert.deepStrictEqual(frame, bytes(1, 2))
  assert.equal(Object.getPrototypeOf(frame), Uint8Array.prototype)
})

await test('random frame sequences in random cuts match a naive decoder', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = new Prng(seed)
    const payloads = Array.from({ length: random.int(1, 20) }, () => {
      const payload = randomBytes(random, random.pick([3, 300, 70_000]))
      return payload.byteLength === 0 ? bytes(0) : payload
    })
    const stream = new Uint8Array(payloads.reduce((sum, payload) => sum + 4 + payload.byteLength, 0))
    let at = 0
    for (const payload of payloads) {
      stream.set(encodeFrame(payload), at)
      at += 4 + payload.byteLength
    }
    const decoder = new FrameDecoder(FRAME_BYTES_MAX_DEFAULT)
    const out: Uint8Array[] = []
    for (let offset = 0; offset < stream.byteLength;) {
      const size = random.int(0, random.pick([2, 9, 1000, 100_000]))
      out.push(...decoder.push(stream.subarray(offset, offset + size)))
      offset += size
    }
    assert.deepStrictEqual(out, payloads, `seed ${seed}`)
  }
})

await test('an oversize header is refused as soon as its 4 bytes arrive', () => {
  const decoder = new FrameDecoder(1000)
  assert.deepStrictEqual(decoder.push(bytes(0, 0)), [])
  assertCode(() => decoder.push(bytes(0x03, 0xe9)), CODES.FRAME_TOO_LARGE)
  // The limit is inclusive, and a 4 GiB announcement is refused without allocating it.
  assert.deepStrictEqual(new FrameDecoder(1000).push(bytes(0, 0, 0x03, 0xe8)), [])
  assertCode(() => new FrameDecoder(FRAME_BYTES_MAX_DEFAULT).push(bytes(0xff, 0xff, 0xff, 0xff)), CODES.FRAME_TOO_LARGE)
  // A complete earlier frame in the same chunk does not save the stream.
  assertCode(() => new FrameDecoder(10).push(new Uint8Array([...encodeFrame(bytes(1)), 0, 0, 0, 11])), CODES.FRAME_TOO_LARGE)
})

await test('a zero-length frame is a protocol error', () => {
  assertCode(() => new FrameDecoder(10).push(bytes(0, 0, 0, 0)), CODES.PROTOCOL_ERROR)
})

await test('a failed decoder stays failed', () => {
  const decoder = new FrameDecoder(10)
  assertCode(() => decoder.push(bytes(0, 0, 0, 0)), CODES.PROTOCOL_ERROR)
  assertCode(() => decoder.push(encodeFrame(bytes(1))), CODES.PROTOCOL_ERROR)
})

await test('the limit can be raised after the handshake', () => {
  const decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX)
  const big = new Uint8Array(HANDSHAKE_FRAME_BYTES_MAX + 1)
  assert.deepStrictEqual(decoder.push(encodeFrame(bytes(1))), [bytes(1)])
  decoder.frameBytesMax = FRAME_BYTES_MAX_DEFAULT
  assert.deepStrictEqual(decoder.push(encodeFrame(big)), [big])
  assertCode(() => new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX).push(encodeFrame(big)), CODES.FRAME_TOO_LARGE)
})

await test('frames taken one at a time: a header is judged by the limit when its frame is taken', () => {
  const decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX)
  const big = new Uint8Array(HANDSHAKE_FRAME_BYTES_MAX + 1).fill(9)
  decoder.append(new Uint8Array([...encodeFrame(bytes(1)), ...encodeFrame(big), ...encodeFrame(bytes(2))]))
  assert.deepStrictEqual(decoder.next(), bytes(1))
  assert.equal(decoder.bufferedBytes, 2 * 4 + big.byteLength + 1)
  decoder.frameBytesMax = FRAME_BYTES_MAX_DEFAULT
  assert.deepStrictEqual(decoder.next(), big)
  assert.deepStrictEqual(decoder.next(), bytes(2))
  assert.equal(decoder.next(), null)
  assert.equal(decoder.bufferedBytes, 0)
  const strict = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX)
  strict.append(new Uint8Array([...encodeFrame(bytes(1)), ...encodeFrame(big)]))
  assert.deepStrictEqual(strict.next(), bytes(1))
  assertCode(() => strict.next(), CODES.FRAME_TOO_LARGE)
})

await test('a taken frame shares no memory with the chunk it came in, nor keeps a larger one alive', () => {
  const decoder = new FrameDecoder(100)
  const chunk = new Uint8Array([...encodeFrame(bytes(1, 2)), ...encodeFrame(bytes(3))])
  const [first, second] = decoder.push(chunk)
  chunk.fill(0)
  assert.deepStrictEqual([first, second], [bytes(1, 2), bytes(3)])
  assert.equal(first?.buffer.byteLength, 2)
  assert.equal(second?.buffer.byteLength, 1)
})

await test('frameBytesMax must be an integer from 1 to 2^32 - 1', () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity, FRAME_BYTES_LIMIT + 1, '10' as unknown as number]) {
    assertCode(() => new FrameDecoder(bad), CODES.INVALID_OPTION)
    assertCode(() => { new FrameDecoder(1).frameBytesMax = bad }, CODES.INVALID_OPTION)
  }
  assert.equal(new FrameDecoder(FRAME_BYTES_LIMIT).frameBytesMax, FRAME_BYTES_LIMIT)
})
