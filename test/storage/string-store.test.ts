/**
 * Goal: the LevelStore works over a store of strings (memory-level's `storeEncoding: 'utf8'`)
 * as over a store of bytes: records and user data read back exactly, a full copy's snapshot
 * finds every value although such a store orders text by UTF-16 units (U+FFFD after U+1F642)
 * and not by UTF-8 bytes, quorum-level's records sort after all text, and bytes that are not
 * text are refused, never mangled. Method: a LevelStore over memory-level 1 and 3 storing
 * strings, through the Replicator's own raw writes (wrapDatabase) and bytesOverStrings.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { MemoryLevel as MemoryLevel3 } from 'memory-level-3'
import type { DataRecord, QueryResult, StorageWrite, Version } from '../../src/core/index.js'
import { bytesToKey } from '../../src/core/index.js'
import { CODES } from '../../src/errors.js'
import { wrapDatabase } from '../../src/replicator/wrap-db.js'
import { LevelStore } from '../../src/storage/store.js'
import { bytesOverStrings } from '../../src/storage/string-store.js'

const encoder = new TextEncoder()
const text = (value: string): string => bytesToKey(encoder.encode(value))

function version (seq: number): Version {
  return { ts: 1000 + seq, origin: 'a', seq }
}

function put (key: string, value: string, seq: number): StorageWrite {
  return { type: 'data', key: text(key), record: { value: encoder.encode(value), version: version(seq) } }
}

function records (result: QueryResult): Array<readonly [string, DataRecord]> {
  assert.equal(result.type, 'snapshot-read')
  return [...result.records]
}

for (const [name, make] of [['memory-level 1', () => new MemoryLevel<string, string>({ storeEncoding: 'utf8' })], ['memory-level 3', () => new MemoryLevel3<string, string>({ storeEncoding: 'utf8' })]] as const) {
  test(`a LevelStore over a store of strings (${name}) reads back what it wrote, full copies included`, async () => {
    const db = make()
    await db.open()
    const wrapped = wrapDatabase(db, async () => {}, { read: async () => [], fence: async () => {}, localReady: () => null })
    assert.equal(wrapped.format, 'utf8')
    const store = new LevelStore(bytesOverStrings(db), { batch: wrapped.rawBatch, sync: false })
    const keys = ['a', 'z', 'ü', '\ufffd', '🙂', 'я']
    await store.persist(keys.map((key, i) => put(key, `value of ${key}`, i + 1)))
    await store.persist([{ type: 'data', key: text('gone'), record: { value: null, version: version(9) } }])
    // The user reads their text as text; quorum-level's records all sort after it.
    const stored: string[] = []
    for await (const key of db.keys()) stored.push(key)
    assert.deepEqual(stored.slice(0, keys.length), [...keys].sort())
    assert.ok(stored.slice(keys.length).every((key) => key.startsWith('\uffff\uffffql')), 'records after all text')
    assert.equal(await db.get('🙂'), 'value of 🙂')
    // A snapshot, a record at a time: every value found, in the order of the versions.
    const read: Array<readonly [string, DataRecord]> = []
    for (let i = 0; i < 20; i++) {
      const result = await store.read({ type: 'snapshot-read', session: 1, limit: 1, bytesMax: Number.MAX_SAFE_INTEGER })
      read.push(...records(result))
      if (result.type === 'snapshot-read' && result.done) break
    }
    const expected = [...keys.map((key, i) => [text(key), `value of ${key}`, i + 1] as const), [text('gone'), null, 9] as const]
      .sort(([x], [y]) => x < y ? -1 : x > y ? 1 : 0)
    assert.deepEqual(read.map(([key, record]) => [key, record.value === null ? null : new TextDecoder().decode(record.value), record.version.seq]), expected)
    assert.deepEqual((await store.read({ type: 'versions', keys: [text('ü'), text('nope')] })), { type: 'versions', versions: [version(3), undefined] })
    // Bytes that are not text cannot be held: refused, and nothing half written.
    await assert.rejects(wrapped.rawBatch([{ type: 'put', key: encoder.encode('bin'), value: new Uint8Array([0xff]) }], { sync: false }), { code: CODES.NOT_SUPPORTED })
    assert.equal(await db.get('bin').catch(() => undefined), undefined)
    await store.close()
    await db.close()
  })
}
