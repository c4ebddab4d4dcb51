/**
 * Goal: a guest's write id survives many-level's protocol, which carries only operations, and
 * nothing else is mistaken for one. Method: stamp batches, read them back as the leader does,
 * and feed the reader markers that are damaged or not in last place.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type BatchOp, WriteIds, readWriteId, stampWriteId } from '../../src/local/write-ids.js'

const put = (key: string, value: string): BatchOp => ({ type: 'put', key: Buffer.from(key), value: Buffer.from(value) })
const marker = (value: string): BatchOp => ({ type: 'put', key: Buffer.from([0xff, 0xff, 0x71, 0x6c, 0x77]), value: Buffer.from(value) })

test('write ids: a stamped batch reads back as its ops and its id', () => {
  const ids = new WriteIds()
  const first = ids.next()
  const second = ids.next()
  assert.equal(first.writer, second.writer)
  assert.deepEqual([first.counter, second.counter], [1, 2])
  const ops: BatchOp[] = [put('a', '1'), { type: 'del', key: Buffer.from('b') }]
  assert.deepEqual(readWriteId(stampWriteId(ops, second)), { ops, id: second })
})

test('write ids: each open names a new writer', () => {
  assert.notEqual(new WriteIds().next().writer, new WriteIds().next().writer)
})

test('write ids: a batch without a marker in last place has no id, and keeps every op', () => {
  const plain = [put('a', '1')]
  assert.deepEqual(readWriteId(plain), { ops: plain, id: null })
  const lookalike = [marker('ab:1'), put('a', '1')]
  assert.deepEqual(readWriteId(lookalike), { ops: lookalike, id: null })
  assert.deepEqual(readWriteId([]), { ops: [], id: null })
})

test('write ids: a damaged marker is refused with LEVEL_NOT_SUPPORTED', () => {
  for (const value of ['', 'ab', 'ab:', 'ab:0', 'ab:-1', 'ab:1.5', 'AB:1', ':1', 'ab:99999999999999999999']) {
    assert.throws(() => readWriteId([put('a', '1'), marker(value)]), { code: 'LEVEL_NOT_SUPPORTED' }, value)
  }
})
