/**
 * Goal: no input a peer can send makes the wire layer hang, crash, or throw anything but a
 * ModuleError with a LEVEL_* code. Method: seeded random byte streams, random payloads in
 * well-formed frames, and valid frames with random bytes corrupted, are cut into random
 * chunks and pushed through the whole receive path: FrameDecoder, decodePayload, then
 * parseRpcFrame, messageFromWire and helloFromWire.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import ModuleError from 'module-error'
import { decodePayload, encodePayload } from '../../src/wire/codec.js'
import { FrameDecoder, encodeFrame } from '../../src/wire/frames.js'
import { createNonce, helloFromWire, helloToWire } from '../../src/wire/handshake.js'
import { HANDSHAKE_FRAME_BYTES_MAX } from '../../src/wire/limits.js'
import { messageFromWire, messageToWire } from '../../src/wire/messages.js'
import { parseRpcFrame } from '../../src/wire/rpc-frames.js'
import { Prng } from '../sim/prng.js'
import { SAMPLE_MESSAGES, randomBytes, randomMessage } from './helpers.js'

const METHODS: ReadonlySet<string> = new Set(['hello', 'deliver', 'ping'])
const RUNS = 2_000

/** Runs `fn`; anything it throws must be a ModuleError with a LEVEL_* code. */
function expectOnlyLevelErrors (fn: () => void, seed: number): void {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ModuleError, `seed ${seed}: threw ${String(error)}`)
    assert.match(String(error.code), /^LEVEL_[A-Z_]+$/, `seed ${seed}`)
  }
}

/** The whole receive path for one stream: every payload is tried as each kind of value. */
function receive (stream: Uint8Array, random: Prng, seed: number): void {
  const decoder = new FrameDecoder(random.pick([HANDSHAKE_FRAME_BYTES_MAX, 1 << 20]))
  expectOnlyLevelErrors(() => {
    for (let offset = 0; offset < stream.byteLength;) {
      const size = random.int(1, 64)
      for (const payload of decoder.push(stream.subarray(offset, offset + size))) {
        expectOnlyLevelErrors(() => {
          const value = decodePayload(payload)
          expectOnlyLevelErrors(() => { parseRpcFrame(value, METHODS) }, seed)
          expectOnlyLevelErrors(() => { messageFromWire(value) }, seed)
          expectOnlyLevelErrors(() => { helloFromWire(value) }, seed)
          // The argument of a delivered message is validated the same way.
          if (Array.isArray(value)) for (const item of value) expectOnlyLevelErrors(() => { messageFromWire(item) }, seed)
        }, seed)
      }
      offset += size
    }
  }, seed)
}

function frames (payloads: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(payloads.flatMap((payload) => [...encodeFrame(payload)]))
}

await test('random byte streams', { timeout: 60_000 }, () => {
  for (let seed = 1; seed <= RUNS; seed++) {
    const random = new Prng(seed)
    receive(randomBytes(random, random.pick([8, 64, 512])), random, seed)
  }
})

await test('random payloads in well-formed frames', { timeout: 60_000 }, () => {
  for (let seed = 1; seed <= RUNS; seed++) {
    const random = new Prng(seed)
    const payloads = Array.from({ length: random.int(1, 4) }, () => {
      const payload = randomBytes(random, random.pick([4, 40, 400]))
      return payload.byteLength === 0 ? new Uint8Array([0xc1]) : payload
    })
    receive(frames(payloads), random, seed)
  }
})

await test('valid frames with corrupted bytes', { timeout: 60_000 }, () => {
  const samples = [
    ...SAMPLE_MESSAGES.map((message) => ['deliver', [messageToWire(message)], -1]),
    ['hello', [helloToWire({ protocol: 1, id: 'a', nonce: createNonce(), address: { host: 'h', port: 1 } })], 1],
    [[null, new Uint8Array(32)], 1]
  ].map((tuple) => encodeFrame(encodePayload(tuple)))
  for (let seed = 1; seed <= RUNS; seed++) {
    const random = new Prng(seed)
    const sample = random.next() < 0.5 ? random.pick(samples) : encodeFrame(encodePayload(['deliver', [messageToWire(randomMessage(random))], -1]))
    const corrupted = sample.slice()
    // Mostly spare the header, so that the corruption reaches msgpack and the validators.
    for (let flips = random.int(1, 4); flips > 0; flips--) {
      const at = random.chance(0.9) ? random.int(4, corrupted.byteLength - 1) : random.int(0, 3)
      corrupted[at] = random.chance(0.5) ? random.int(0, 255) : (corrupted[at] ?? 0) ^ (1 << random.int(0, 7))
    }
    receive(corrupted, random, seed)
  }
})
