/**
 * Goal: parseRpcFrame lets through only the two tuples rpc-stream's raw mode exchanges, with
 * allowed methods and sane ids, so that nothing reaches rpc-stream that can crash it.
 * Method: a table of malformed frames (including those known to crash rpc-stream) must each
 * throw LEVEL_PROTOCOL_ERROR; valid requests and responses parse to the expected records.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import rpc from 'rpc-stream'
import { CODES } from '../../src/errors.js'
import { decodePayload, encodePayload } from '../../src/wire/codec.js'
import { RPC_ARGS_MAX } from '../../src/wire/limits.js'
import { parseRpcFrame } from '../../src/wire/rpc-frames.js'
import { assertCode } from './helpers.js'

const METHODS: ReadonlySet<string> = new Set(['hello', 'deliver', 'ping'])

await test('valid requests and responses parse', () => {
  assert.deepStrictEqual(parseRpcFrame(['hello', [{ id: 'a' }], 1], METHODS), { kind: 'request', method: 'hello', args: [{ id: 'a' }], id: 1 })
  assert.deepStrictEqual(parseRpcFrame(['deliver', [1], -1], METHODS), { kind: 'request', method: 'deliver', args: [1], id: -1 })
  assert.deepStrictEqual(parseRpcFrame(['ping', [], Number.MAX_SAFE_INTEGER], METHODS), { kind: 'request', method: 'ping', args: [], id: Number.MAX_SAFE_INTEGER })
  assert.deepStrictEqual(parseRpcFrame([[null, new Uint8Array(32)], 2], METHODS), { kind: 'response', args: [null, new Uint8Array(32)], id: 2 })
  assert.deepStrictEqual(parseRpcFrame([[], 1], METHODS), { kind: 'response', args: [], id: 1 })
  assert.deepStrictEqual(parseRpcFrame(['ping', new Array(RPC_ARGS_MAX).fill(0), 3], METHODS).args.length, RPC_ARGS_MAX)
})

await test('valid frames survive the codec', () => {
  const frame = ['deliver', [{ type: 'ack', seq: 1 }], -1]
  assert.deepStrictEqual(parseRpcFrame(decodePayload(encodePayload(frame)), METHODS), { kind: 'request', method: 'deliver', args: [{ type: 'ack', seq: 1 }], id: -1 })
})

await test('malformed frames are refused before rpc-stream sees them', () => {
  const cases: unknown[] = [
    // Known to crash rpc-stream: a bare number, and a request whose args are not an array.
    1, ['put', null, 1], ['ping', null, 1],
    // Not a tuple at all.
    'x', null, undefined, true, {}, { 0: 'ping', 1: [], 2: 1, length: 3 }, new Uint8Array(3), [], ['ping'], ['ping', [], 1, 1],
    // Unknown or inherited methods: rpc-stream looks the name up on an object.
    ['put', [], 1], ['toString', [], 1], ['__proto__', [], 1], ['constructor', [], 1], ['hasOwnProperty', [], 1], ['', [], 1], ['PING', [], 1],
    // A method that is not a string: rpc-stream would treat [null, args, id] as a response.
    [null, [], 1], [1, [], 1], [['ping'], [], 1],
    // Bad request ids.
    ['ping', [], 0], ['ping', [], -2], ['ping', [], 1.5], ['ping', [], 2 ** 53], ['ping', [], '1'], ['ping', [], null], ['ping', [], NaN], ['ping', [], Infinity], ['ping', [], 1n],
    // Bad response ids: an answer never has id -1.
    [[], -1], [[], 0], [[], 0.5], [[], '2'], [[], null], [[], 2 ** 53],
    // Args that are not an array, or too long.
    ['ping', 'x', 1], ['ping', {}, 1], ['ping', { length: 0 }, 1], ['ping', new Uint8Array(0), 1], ['ping', new Array(RPC_ARGS_MAX + 1).fill(0), 1],
    ['x', 1], [null, 1], [{}, 1], [new Array(RPC_ARGS_MAX + 1).fill(0), 1]
  ]
  for (const frame of cases) {
    assertCode(() => parseRpcFrame(frame, METHODS), CODES.PROTOCOL_ERROR)
  }
})

await test('a method allowed in one phase is refused in another', () => {
  assertCode(() => parseRpcFrame(['deliver', [1], -1], new Set(['hello'])), CODES.PROTOCOL_ERROR, /not allowed/)
})

await test('what parseRpcFrame accepts, a real rpc-stream handles; what it refuses would crash it', () => {
  const answers: unknown[] = []
  const stream = rpc({ ping: (callback: (error: null, answer: string) => void) => { callback(null, 'pong') } }, true)
  stream.on('data', (tuple: unknown) => { answers.push(tuple) })
  const parsed = parseRpcFrame(decodePayload(encodePayload(['ping', [], 5])), new Set(['ping']))
  assert.ok(parsed.kind === 'request')
  stream.write([parsed.method, parsed.args, parsed.id])
  assert.deepStrictEqual(answers, [[[null, 'pong'], 5]])
  // The trap this module exists for (DESIGN.md "Known traps"): rpc-stream throws on these...
  for (const frame of [1, ['put', null, 1]]) {
    assert.throws(() => { stream.write(frame) })
    assertCode(() => parseRpcFrame(frame, METHODS), CODES.PROTOCOL_ERROR)
  }
  // ...and calls an inherited method by name, here Object.prototype.toString, with no answer.
  answers.length = 0
  stream.write(['toString', [], 9])
  assert.deepStrictEqual(answers, [])
  assertCode(() => parseRpcFrame(['toString', [], 9], METHODS), CODES.PROTOCOL_ERROR)
})
