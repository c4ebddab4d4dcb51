/**
 * Goal: the LevelStore behaviours the core and users rely on beyond the model's answers:
 * call-order execution, snapshot isolation from later writes, user data readable with the
 * db's own encodings, a stable host id, and failures that stay contained. Method: one
 * scenario per test on real classic-level in a temporary directory.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DataRecord, QueryResult, StorageWrite, Version } from '../../src/core/index.js'
import { CODES } from '../../src/errors.js'
import { bytesToKey } from '../../src/core/index.js'
import type { RawBatch, RawOp, StoreDatabase } from '../../src/storage/store.js'
import { LevelStore } from '../../src/storage/store.js'
import { TempDb, latin1, normalize, rawBatch } from './helpers.js'
import type { TestDb } from './helpers.js'

const encoder = new TextEncoder()

function version (seq: number): Version {
  return { ts: 1000 + seq, origin: 'a', seq }
}

function put (key: string, value: string, seq: number): StorageWrite {
  return { type: 'data', key, record: { value: encoder.encode(value), version: version(seq) } }
}

function tombstone (key: string, seq: number): StorageWrite {
  return { type: 'data', key, record: { value: null, version: version(seq) } }
}

function records (result: QueryResult): Array<readonly [string, DataRecord]> {
  assert.equal(result.type, 'snapshot-read')
  return [...result.records]
}

await test('a read issued right after a persist, without awaiting, sees the write', async (t) => {
  const temp = await TempDb.open(t)
  const store = new LevelStore(temp.db, { batch: rawBatch(temp.db), sync: false })
  const persisted = store.persist([put('k', 'v', 1)])
  const read = store.read({ type: 'versions', keys: ['k'] })
  const truncated = store.persist([{ type: 'log', entry: { kind: 'abort', origin: 'a', seq: 1 } }, { type: 'truncate-log', origin: 'a', before: 2 }])
  const log = store.read({ type: 'log', ranges: [{ origin: 'a', from: 1, to: 10 }], limit: 10, bytesMax: Number.MAX_SAFE_INTEGER })
  await persisted
  assert.deepEqual(await read, { type: 'versions', versions: [version(1)] })
  await truncated
  assert.deepEqual(await log, { type: 'log', entries: [] })
  await store.close()
})

await test('persists issued back to back are one batch, synced if any asks; anything issued between them splits the group', async (t) => {
  const temp = await TempDb.open(t)
  const batches: Array<{ ops: number, sync: boolean }> = []
  const raw = rawBatch(temp.db)
  const counting: RawBatch = async (ops, options) => {
    batches.push({ ops: ops.length, sync: options.sync })
    await raw(ops, options)
  }
  const store = new LevelStore(temp.db, { batch: counting, sync: false })
  const log = (seq: number): StorageWrite => ({ type: 'log', entry: { kind: 'abort', origin: 'a', seq } })
  // Together: the truncation in the third deletes the entries the first two put.
  await Promise.all([
    store.persist([log(1), put('k', 'v1', 1)]),
    store.persist([log(2)], true),
    store.persist([{ type: 'truncate-log', origin: 'a', before: 3 }, log(3)])
  ])
  // Three log puts, a datum and its version, two log deletes.
  assert.deepEqual(batches, [{ ops: 7, sync: true }])
  const entries = await store.read({ type: 'log', ranges: [{ origin: 'a', from: 1, to: 10 }], limit: 10, bytesMax: Number.MAX_SAFE_INTEGER })
  assert.deepEqual(entries, { type: 'log', entries: [{ kind: 'abort', origin: 'a', seq: 3 }] })
  // A read between two persists sees the first only.
  batches.length = 0
  const first = store.persist([put('k', 'v2', 2)])
  const read = store.read({ type: 'versions', keys: ['k'] })
  const second = store.persist([put('k', 'v3', 3)])
  await Promise.all([first, second])
  assert.deepEqual(await read, { type: 'versions', versions: [version(2)] })
  assert.deepEqual(batches, [{ ops: 2, sync: false }, { ops: 2, sync: false }])
  await store.close()
})

await test('a snapshot session reflects the state when it opened, whatever is written later', async (t) => {
  const temp = await TempDb.open(t)
  const store = new LevelStore(temp.db, { batch: rawBatch(temp.db), sync: false })
  await store.persist([put('a', 'a1', 1), put('b', 'b1', 2), put('c', 'c1', 3), tombstone('d', 4)])
  const first = records(await store.read({ type: 'snapshot-read', session: 7, limit: 1, bytesMax: Number.MAX_SAFE_INTEGER }))
  // Overwrite one record still to come, delete another, add a key: none of it may show.
  await store.persist([put('b', 'b2', 5), tombstone('c', 6), put('bb', 'new', 7), put('a', 'a2', 8)])
  const rest = await store.read({ type: 'snapshot-read', session: 7, limit: 10, bytesMax: Number.MAX_SAFE_INTEGER })
  assert.equal(rest.type === 'snapshot-read' && rest.done, true)
  assert.deepStrictEqual(normalize([...first, ...records(rest)]), normalize([
    ['a', { value: encoder.encode('a1'), version: version(1) }],
    ['b', { value: encoder.encode('b1'), version: version(2) }],
    ['c', { value: encoder.encode('c1'), version: version(3) }],
    ['d', { value: null, version: version(4) }]
  ]))
  // A new session sees the new state.
  const fresh = records(await store.read({ type: 'snapshot-read', session: 8, limit: 10, bytesMax: Number.MAX_SAFE_INTEGER }))
  assert.deepEqual(fresh.map(([key, record]) => [key, record.version.seq]), [['a', 8], ['b', 5], ['bb', 7], ['c', 6], ['d', 4]])
  await store.close()
})

await test('a snapshot walks past values without a version and across the reserved range', async (t) => {
  const temp = await TempDb.open(t)
  const store = new LevelStore(temp.db, { batch: rawBatch(temp.db), sync: false })
  // Data from before the Replicator came has no version: a full copy does not carry it.
  await temp.db.batch([{ type: 'put', key: '0', value: 'old' }, { type: 'put', key: 'b', value: 'old' }, { type: 'put', key: 'bz', value: 'old' }])
  // '\xff\xff\xff' sorts after every reserved key, which the walk must jump.
  await store.persist([put('a', 'a1', 1), put('c', 'c1', 2), tombstone('d', 3), put('\xff\xff\xff', 'top', 4), put('e', 'e1', 5)])
  const read: Array<readonly [string, DataRecord]> = []
  for (let i = 0; i < 10; i++) {
    const result = await store.read({ type: 'snapshot-read', session: 1, limit: 2, bytesMax: Number.MAX_SAFE_INTEGER })
    read.push(...records(result))
    if (result.type === 'snapshot-read' && result.done) break
  }
  assert.deepStrictEqual(normalize(read), normalize([
    ['a', { value: encoder.encode('a1'), version: version(1) }],
    ['c', { value: encoder.encode('c1'), version: version(2) }],
    ['d', { value: null, version: version(3) }],
    ['e', { value: encoder.encode('e1'), version: version(5) }],
    ['\xff\xff\xff', { value: encoder.encode('top'), version: version(4) }]
  ]))
  await store.close()
})

await test('the read that returns the last record says done; snapshot-close ends a session early', async (t) => {
  const temp = await TempDb.open(t)
  const store = new LevelStore(temp.db, { batch: rawBatch(temp.db), sync: false })
  const empty = await store.read({ type: 'snapshot-read', session: 1, limit: 5, bytesMax: Number.MAX_SAFE_INTEGER })
  assert.deepEqual(empty, { type: 'snapshot-read', records: [], done: true })
  await store.persist([put('x', '1', 1), put('y', '2', 2)])
  const exact = await store.read({ type: 'snapshot-read', session: 2, limit: 2, bytesMax: Number.MAX_SAFE_INTEGER })
  assert.equal(exact.type === 'snapshot-read' && exact.done, true)
  const partial = await store.read({ type: 'snapshot-read', session: 3, limit: 1, bytesMax: Number.MAX_SAFE_INTEGER })
  assert.equal(partial.type === 'snapshot-read' && partial.done, false)
  assert.deepEqual(await store.read({ type: 'snapshot-close', session: 3 }), { type: 'snapshot-close' })
  // The id is free again: reading it opens a new session from the start.
  assert.equal(records(await store.read({ type: 'snapshot-read', session: 3, limit: 1, bytesMax: Number.MAX_SAFE_INTEGER }))[0]?.[0], 'x')
  await store.close()
})

await test('user data lives at the user key, readable with the db\'s own encoding', async (t) => {
  const temp = await TempDb.open(t)
  const store = new LevelStore(temp.db, { batch: rawBatch(temp.db), sync: false })
  // The db's default encodings are utf8: the core key holds the utf8 bytes, one char per byte.
  const key = bytesToKey(encoder.encode('clé'))
  await store.persist([put(key, 'héllo', 1)])
  assert.equal(await temp.db.get('clé'), 'héllo')
  await store.persist([tombstone(key, 2)])
  await assert.rejects(temp.db.get('clé'), { code: 'LEVEL_NOT_FOUND' })
  // The version of the tombstone stays, in the reserved range.
  assert.deepEqual(await store.read({ type: 'versions', keys: [key, 'never'] }), { type: 'versions', versions: [version(2), undefined] })
  // A user key beyond the reserved range is data too, and iterating user data skips nothing.
  const high = '\xff\xff\xff'
  await store.persist([{ type: 'data', key: high, record: { value: encoder.encode('top'), version: version(3) } }])
  assert.equal(await temp.db.get(latin1(high), { keyEncoding: 'view', valueEncoding: 'utf8' }), 'top')
  await store.close()
})

await test('hostId is 32 lowercase hex chars, the same for every call and after reopen', async (t) => {
  const temp = await TempDb.open(t)
  const store = new LevelStore(temp.db, { batch: rawBatch(temp.db), sync: false })
  const [first, second] = await Promise.all([store.hostId(), store.hostId()])
  assert.match(first, /^[0-9a-f]{32}$/)
  assert.equal(second, first)
  await store.close()
  const db = await temp.reopen()
  const reopened = new LevelStore(db, { batch: rawBatch(db), sync: false })
  assert.equal(await reopened.hostId(), first)
  await reopened.close()
  // Another directory is another host.
  const other = await TempDb.open(t)
  const otherStore = new LevelStore(other.db, { batch: rawBatch(other.db), sync: false })
  assert.notEqual(await otherStore.hostId(), first)
  await otherStore.close()
})

await test('a failed raw batch rejects that persist only; later operations run and see no trace of it', async (t) => {
  const temp = await TempDb.open(t)
  const raw = rawBatch(temp.db)
  let failures = 1
  const flaky: RawBatch = async (ops, options) => {
    if (failures-- > 0) throw new Error('injected disk failure')
    await raw(ops, options)
  }
  const store = new LevelStore(temp.db, { batch: flaky, sync: false })
  const failed = store.persist([put('k', 'lost', 1), { type: 'clock', ts: 99 }])
  const read = store.read({ type: 'versions', keys: ['k'] })
  const next = store.persist([put('j', 'kept', 2)])
  await assert.rejects(failed, /injected disk failure/)
  assert.deepEqual(await read, { type: 'versions', versions: [undefined] })
  await next
  assert.equal(await temp.db.get('j'), 'kept')
  assert.equal((await store.load()).clock, 0)
  await store.close()
})

await test('every raw batch carries the sync option, and persist is one batch', async (t) => {
  const temp = await TempDb.open(t)
  const raw = rawBatch(temp.db)
  const calls: Array<{ ops: RawOp[], sync: boolean }> = []
  const spy: RawBatch = async (ops, options) => {
    calls.push({ ops, sync: options.sync })
    await raw(ops, options)
  }
  const store = new LevelStore(temp.db, { batch: spy, sync: true })
  await store.hostId()
  await store.persist([put('a', '1', 1), { type: 'mark', origin: 'a', contiguous: 1 }, { type: 'reserved', seq: 4 }])
  assert.deepEqual(calls.map((call) => [call.ops.length, call.sync]), [[1, true], [4, true]])
  await store.close()
})

await test('a data write to the reserved range is refused and writes nothing', async (t) => {
  const temp = await TempDb.open(t)
  const calls: RawOp[][] = []
  const raw = rawBatch(temp.db)
  const store = new LevelStore(temp.db, { batch: async (ops, options) => { calls.push(ops); await raw(ops, options) }, sync: false })
  await assert.rejects(store.persist([put('ok', '1', 1), put('\xff\xffqlc', 'evil', 2)]), { code: CODES.NOT_SUPPORTED })
  assert.deepEqual(calls, [])
  assert.deepEqual((await store.read({ type: 'versions', keys: ['ok'] })), { type: 'versions', versions: [undefined] })
  await store.close()
})

/** The db seen through a wrapper that counts iterators open, to prove none is leaked. */
function countingDb (db: TestDb): { db: StoreDatabase, open: () => number } {
  let open = 0
  const count = <T extends { close: () => Promise<void> }>(iterator: T): T => {
    open++
    const close = iterator.close.bind(iterator)
    iterator.close = async () => { open--; await close() }
    return iterator
  }
  return {
    db: {
      getMany: (keys, options) => db.getMany(keys, options),
      iterator: (options) => count(db.iterator(options)),
      keys: (options) => count(db.keys(options))
    },
    open: () => open
  }
}

await test('close waits for queued operations, closes open sessions, and refuses later calls', { timeout: 10_000 }, async (t) => {
  const temp = await TempDb.open(t)
  const counted = countingDb(temp.db)
  const store = new LevelStore(counted.db, { batch: rawBatch(temp.db), sync: false })
  await store.persist([put('a', '1', 1), put('b', '2', 2)])
  const open = store.read({ type: 'snapshot-read', session: 1, limit: 1, bytesMax: Number.MAX_SAFE_INTEGER })
  const queued = store.persist([put('c', '3', 3)])
  await store.close()
  assert.equal((await open).type, 'snapshot-read')
  assert.equal(counted.open(), 0)
  await queued
  assert.equal(await temp.db.get('c'), '3')
  await assert.rejects(store.read({ type: 'snapshot-read', session: 1, limit: 1, bytesMax: Number.MAX_SAFE_INTEGER }), { code: CODES.DATABASE_NOT_OPEN })
  await assert.rejects(store.hostId(), { code: CODES.DATABASE_NOT_OPEN })
  // Every persist after close is refused: none joins a refused one's batch and waits for ever.
  await assert.rejects(store.persist([put('d', '4', 4)]), { code: CODES.DATABASE_NOT_OPEN })
  await assert.rejects(store.persist([put('e', '5', 5)]), { code: CODES.DATABASE_NOT_OPEN })
  // The db stays open: it belongs to the user.
  assert.equal(temp.db.status, 'open')
})
