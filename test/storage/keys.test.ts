/**
 * Goal: the reserved key layout and the record codecs are exact: every byte string and
 * every record survives a round trip, and key order is the order the store's ranges assume.
 * Method: exhaustive checks over bytes and edge values, and round trips through msgpackr.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type LogEntry, type Op, bytesToKey, keyToBytes } from '../../src/core/index.js'
import { CODES } from '../../src/errors.js'
import {
  RESERVED_PREFIX, TAG, assertUserKey, floorKey, isReservedKey, logKey, markKey,
  originOfKey, originRange, parseSequencedKey, prepareKey, stagedKey, tagRange, userKeyOf, versionKey
} from '../../src/storage/keys.js'
import {
  decodeLogEntry, decodePrepare, decodeVersion, decodeWriterCommitted, decodeWriterFailed, encodeLogEntry, encodePrepare, encodeVersion,
  encodeWriterCommitted, encodeWriterFailed
} from '../../src/storage/records.js'
import { latin1, normalize } from './helpers.js'

/** Bytewise comparison, LevelDB's default order. */
function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0)
    if (diff !== 0) return diff
  }
  return a.length - b.length
}

await test('keys convert to bytes one char per byte, for all 256 bytes', () => {
  const every = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i))
  assert.deepEqual(keyToBytes(every), Uint8Array.from({ length: 256 }, (_, i) => i))
  assert.equal(bytesToKey(keyToBytes(every)), every)
  const long = every.repeat(100)
  assert.equal(bytesToKey(keyToBytes(long)), long)
  assert.throws(() => keyToBytes('\u0100'), RangeError)
})

await test('the reserved range is exactly the keys that start with FF FF 71 6C', () => {
  assert.deepEqual(latin1(RESERVED_PREFIX), Uint8Array.of(0xff, 0xff, 0x71, 0x6c))
  assert.equal(isReservedKey(Uint8Array.of(0xff, 0xff, 0x71, 0x6c)), true)
  assert.equal(isReservedKey(versionKey(new Uint8Array(0))), true)
  assert.equal(isReservedKey(Uint8Array.of(0xff, 0xff, 0x71)), false)
  assert.equal(isReservedKey(Uint8Array.of(0xff, 0xff, 0x71, 0x6d)), false)
  assert.throws(() => assertUserKey('\xff\xffql'), { code: CODES.NOT_SUPPORTED, message: 'Key is in the reserved range' })
  assert.throws(() => assertUserKey('\xff\xffqlanything'), { code: CODES.NOT_SUPPORTED })
  for (const key of ['', '\xff\xffq', '\xff\xffqm', '\xff\xff\xff', 'ql']) assertUserKey(key)
})

await test('sequence numbers sort numerically, origins never run into each other', () => {
  const seqs = [0, 1, 2, 255, 256, 65535, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(compareBytes(logKey('a', seqs[i - 1] ?? 0), logKey('a', seqs[i] ?? 0)) < 0, `${seqs[i - 1]} < ${seqs[i]}`)
  }
  for (const seq of seqs) {
    assert.deepEqual(parseSequencedKey(logKey('hôte', seq), TAG.log), { origin: 'hôte', seq })
    assert.deepEqual(parseSequencedKey(prepareKey('__proto__', seq), TAG.prepare), { origin: '__proto__', seq })
  }
  // Origin "a" must not cover the records of origin "ab".
  const range = originRange(TAG.log, 'a', 0)
  assert.ok(compareBytes(logKey('ab', 0), range.lt) >= 0)
  assert.ok(compareBytes(logKey('a', Number.MAX_SAFE_INTEGER), range.lt) < 0)
  assert.throws(() => logKey('a', -1), { code: CODES.NOT_SUPPORTED })
  assert.throws(() => logKey('a', 1.5), { code: CODES.NOT_SUPPORTED })
  assert.throws(() => logKey('a\u0000b', 1), { code: CODES.NOT_SUPPORTED })
  assert.throws(() => markKey('\ud800'), { code: CODES.NOT_SUPPORTED })
})

await test('each kind of key stays inside its tag range and names what it was built from', () => {
  const user = Uint8Array.of(0x00, 0xff, 0x71)
  const cases: Array<[Uint8Array, number]> = [
    [versionKey(user), TAG.version], [prepareKey('o', 3), TAG.prepare], [logKey('o', 3), TAG.log],
    [markKey('o'), TAG.mark], [floorKey('o'), TAG.floor]
  ]
  for (const [key, tag] of cases) {
    for (const other of Object.values(TAG)) {
      const range = tagRange(other)
      const inside = compareBytes(key, range.gte) >= 0 && compareBytes(key, range.lt) < 0
      assert.equal(inside, other === tag, `tag ${String.fromCharCode(tag)} in range ${String.fromCharCode(other)}`)
    }
  }
  assert.deepEqual(userKeyOf(versionKey(user), TAG.version), user)
  assert.deepEqual(userKeyOf(stagedKey(user), TAG.staged), user)
  assert.equal(originOfKey(markKey('__proto__'), TAG.mark), '__proto__')
  assert.equal(originOfKey(floorKey(''), TAG.floor), '')
  assert.throws(() => originOfKey(markKey('o'), TAG.floor), { code: CODES.CORRUPTION })
})

await test('records round-trip, keys as bytes even when they look like __proto__', () => {
  const ops: Op[] = [
    { type: 'put', key: '__proto__', value: Uint8Array.of(1, 2) },
    { type: 'del', key: '\x00\xff' },
    { type: 'put', key: '', value: new Uint8Array(0) }
  ]
  assert.deepStrictEqual(normalize(decodePrepare(encodePrepare(ops, 2 ** 45 + 3))), normalize({ ops, clock: 2 ** 45 + 3 }))
  const commit: LogEntry = { kind: 'commit', origin: 'o', seq: 9, ts: 2 ** 45 + 1, ops }
  assert.deepStrictEqual(normalize(decodeLogEntry('o', 9, encodeLogEntry(commit))), normalize(commit))
  const abort: LogEntry = { kind: 'abort', origin: 'o', seq: 9 }
  assert.deepStrictEqual(decodeLogEntry('o', 9, encodeLogEntry(abort)), abort)
  const version = { ts: 2 ** 50, origin: '__proto__', seq: 3 }
  assert.deepStrictEqual(decodeVersion(encodeVersion(version, true)), { version, deleted: true })
  // Decoded values are plain Uint8Arrays in every environment, not Node Buffers.
  const [first] = decodePrepare(encodePrepare(ops, 0)).ops
  assert.equal(first?.type === 'put' && first.value.constructor, Uint8Array)
  assert.deepStrictEqual(decodeWriterCommitted(encodeWriterCommitted(2 ** 40, 7)), { counter: 2 ** 40, seq: 7 })
  const failed = [{ from: 1, to: 5, reason: 'timeout' as const }, { from: 9, to: 9, reason: 'recovering' as const }]
  assert.deepStrictEqual(decodeWriterFailed(encodeWriterFailed(failed)), failed)
})

await test('a record that is not what its key says is refused, not guessed at', () => {
  assert.throws(() => decodeVersion(encodePrepare([], 0)), { code: CODES.CORRUPTION })
  assert.throws(() => decodePrepare(Uint8Array.of(0xc1)), { code: CODES.CORRUPTION })
  assert.throws(() => decodeWriterFailed(encodeWriterFailed([{ from: 1, to: 1, reason: 'timeout' }]).map((byte) => byte === 0x74 ? 0x75 : byte)), { code: CODES.CORRUPTION })
  assert.throws(() => decodeLogEntry('o', 1, encodeVersion({ ts: 1, origin: 'o', seq: 1 }, false)), { code: CODES.CORRUPTION })
})
