/**
 * Goal: two QuorumLevel instances on one directory are one database, whatever encodings each
 * uses, and instances on two directories are two (rave-level's basic, bytewise and sublevel
 * tests). Method: instances in this process on classic-level databases in temporary
 * directories, constructed back to back without awaiting either open, so that they race
 * for leadership; what one writes, the other reads, by key and by iterator.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WAIT_MS, instances, within } from './instances.js'

test('two instances opened in parallel on one directory: a put through one is read through the other', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make<string, unknown>({ valueEncoding: 'json' })
  const db2 = dbs.make<string, unknown>({ valueEncoding: 'json' })
  const value = { n: Math.floor(Math.random() * 100_000), list: [1, 'two', null, { three: true }], text: 'ünïcødé ✓' }

  await within(db1.put('a', value), WAIT_MS, 'db1.put')
  assert.deepEqual(await within(db2.get('a'), WAIT_MS, 'db2.get'), value)
  await within(db2.put('b', [value]), WAIT_MS, 'db2.put')
  assert.deepEqual(await within(db1.get('b'), WAIT_MS, 'db1.get'), [value])
  assert.equal([db1, db2].filter((db) => db.isLeader).length, 1, 'one of them leads, the other is its guest')
})

test('two instances on one directory: values come back byte for byte', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make<string, Buffer>({ valueEncoding: 'buffer' })
  const db2 = dbs.make<string, Buffer>({ valueEncoding: 'buffer' })
  const values = new Map<string, Buffer>([
    ['every-byte', Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256))],
    ['zeros', Buffer.alloc(64)],
    ['ones', Buffer.alloc(64, 0xff)],
    ['invalid-utf8', Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc])],
    ['one-byte', Buffer.from([0])],
    ['empty', Buffer.alloc(0)]
  ])

  await within(db1.batch([...values].map(([key, value]) => ({ type: 'put', key, value }))), WAIT_MS, 'db1.batch')
  for (const [key, value] of values) {
    assert.deepEqual(await within(db2.get(key), WAIT_MS, `db2.get(${key})`), value, key)
  }
  const entries = await within(db2.iterator().all(), WAIT_MS, 'db2 iterator')
  assert.deepEqual(entries, [...values].sort(([a], [b]) => a < b ? -1 : 1))
})

test('two instances on one directory: keys shaped like the write-id marker are data like any other', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make<Buffer, string>({ keyEncoding: 'buffer' })
  const db2 = dbs.make<Buffer, string>({ keyEncoding: 'buffer' })
  // The bytes a guest's last operation carries its write id under (SPEC §12.5), alone and
  // with a write id's text after them, written by the leader and by the guest.
  const marker = Buffer.from([0xff, 0xff, 0x71, 0x6c, 0x77])
  const shaped = Buffer.concat([marker, Buffer.from('ab')])
  await within(db1.put(marker, 'ab:1'), WAIT_MS, 'db1.put')
  await within(db2.batch([{ type: 'put', key: shaped, value: 'ab:2' }, { type: 'put', key: Buffer.from('z'), value: 'z' }]), WAIT_MS, 'db2.batch')
  for (const db of [db1, db2]) {
    assert.deepEqual(await within(db.iterator().all(), WAIT_MS, 'iterator'), [[Buffer.from('z'), 'z'], [marker, 'ab:1'], [shaped, 'ab:2']])
  }
  // Whichever of the two is the guest has sent the marker's own key as data, too.
  await within(db2.put(marker, 'ab:3'), WAIT_MS, 'db2.put')
  for (const db of [db1, db2]) assert.equal(await within(db.get(marker), WAIT_MS, 'get'), 'ab:3')
})

test('two locations do not conflict', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make(undefined, await dbs.directory())
  const db2 = dbs.make(undefined, await dbs.directory())

  await within(Promise.all([db1.put('a', '1'), db2.put('a', '2')]), WAIT_MS, 'puts')
  assert.equal(await within(db1.get('a'), WAIT_MS, 'db1.get'), '1')
  assert.equal(await within(db2.get('a'), WAIT_MS, 'db2.get'), '2')
  assert.ok(db1.isLeader && db2.isLeader, 'each leads its own directory')
})

/** A tuple of strings (without NUL) and non-negative integers. */
type Tuple = Array<string | number>

const NUMBER_TAG = 0x01
const STRING_TAG = 0x02

/**
 * A hand-written order-preserving key encoding, in the spirit of bytewise: integers sort
 * numerically (2 before 10, unlike their decimal text), before strings, and a tuple before
 * every tuple it is a prefix of.
 */
const tupleEncoding = {
  name: 'test-tuple',
  format: 'buffer' as const,
  encode (tuple: Tuple): Buffer {
    return Buffer.concat(tuple.map((part) => {
      if (typeof part === 'number') {
        const bytes = Buffer.alloc(9)
        bytes[0] = NUMBER_TAG
        bytes.writeBigUInt64BE(BigInt(part), 1)
        return bytes
      }
      return Buffer.concat([Buffer.from([STRING_TAG]), Buffer.from(part, 'utf8'), Buffer.from([0])])
    }))
  },
  decode (bytes: Buffer): Tuple {
    const tuple: Tuple = []
    for (let at = 0; at < bytes.length;) {
      if (bytes[at] === NUMBER_TAG) {
        tuple.push(Number(bytes.readBigUInt64BE(at + 1)))
        at += 9
      } else {
        const end = bytes.indexOf(0, at + 1)
        tuple.push(bytes.toString('utf8', at + 1, end))
        at = end + 1
      }
    }
    return tuple
  }
}

test('a custom key encoding through two instances: gets and iterators agree', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make<Tuple, unknown>({ keyEncoding: tupleEncoding, valueEncoding: 'json' })
  const db2 = dbs.make<Tuple, unknown>({ keyEncoding: tupleEncoding, valueEncoding: 'json' })
  const sorted: Array<[Tuple, unknown]> = [
    [['a'], 0], [['a', 2], 1], [['a', 10], 2], [['a', 10, 'x'], 3], [['a', 'z'], 4], [['ab'], 5], [['b'], 6]
  ]
  // Written in an order that is neither sorted nor the reverse.
  for (const index of [3, 0, 6, 1, 5, 2, 4]) {
    const [key, value] = sorted[index] as [Tuple, unknown]
    await within((index % 2 === 0 ? db1 : db2).put(key, value), WAIT_MS, `put ${JSON.stringify(key)}`)
  }

  for (const db of [db1, db2]) {
    assert.equal(await within(db.get(['a', 10]), WAIT_MS, 'get'), 2)
    assert.deepEqual(await within(db.iterator().all(), WAIT_MS, 'iterator'), sorted)
    assert.deepEqual(await within(db.keys({ reverse: true }).all(), WAIT_MS, 'reverse keys'), sorted.map(([key]) => key).reverse())
    assert.deepEqual(await within(db.iterator({ gt: ['a'], lt: ['ab'] }).all(), WAIT_MS, 'range'), sorted.slice(1, 5))
  }
})

test('view keys with edge bytes through two instances: gets and iterators agree', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make<Uint8Array, string>({ keyEncoding: 'view' })
  const db2 = dbs.make<Uint8Array, string>({ keyEncoding: 'view' })
  const keys = [[], [0], [0, 0], [0, 255], [1], [127], [128], [254, 255], [255], [255, 0], [255, 255], [255, 255, 255]]
    .map((bytes) => new Uint8Array(bytes))

  await within(db1.batch(keys.map((key, i) => ({ type: 'put', key, value: String(i) }))), WAIT_MS, 'db1.batch')
  for (const [i, key] of keys.entries()) {
    assert.equal(await within(db2.get(key), WAIT_MS, `db2.get([${key.join()}])`), String(i))
  }
  // Keys compared as byte lists: a Buffer is a Uint8Array, which is all 'view' promises.
  const bytes = (key: Uint8Array): number[] => [...key]
  const expected = keys.map((key, i) => [bytes(key), String(i)])
  for (const db of [db1, db2]) {
    const entries = await within(db.iterator().all(), WAIT_MS, 'iterator')
    assert.deepEqual(entries.map(([key, value]) => [bytes(key), value]), expected)
    const reversed = await within(db.iterator({ reverse: true }).all(), WAIT_MS, 'reverse iterator')
    assert.deepEqual(reversed.map(([key, value]) => [bytes(key), value]), [...expected].reverse())
    const range = await within(db.keys({ gt: new Uint8Array([0, 255]), lte: new Uint8Array([255]) }).all(), WAIT_MS, 'range')
    assert.deepEqual(range.map(bytes), keys.slice(4, 9).map(bytes))
  }
})

test('sublevels on two instances with different value encodings', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make()
  const db2 = dbs.make()
  const sub1 = db1.sublevel<string, unknown>('test', { valueEncoding: 'json' })
  const sub2 = db2.sublevel('test')
  const nested2 = db2.sublevel('other').sublevel<string, Buffer>('nested', { valueEncoding: 'buffer' })
  const object = { test: Math.floor(Math.random() * 100_000) }

  await within(sub1.put('a', object), WAIT_MS, 'sub1.put')
  await within(nested2.put('b', Buffer.from([0, 1, 255])), WAIT_MS, 'nested2.put')

  assert.deepEqual(await within(sub1.get('a'), WAIT_MS, 'sub1.get'), object)
  assert.equal(await within(sub2.get('a'), WAIT_MS, 'sub2.get'), JSON.stringify(object))
  assert.deepEqual(await within(sub1.iterator().all(), WAIT_MS, 'sub1 iterator'), [['a', object]])
  assert.deepEqual(await within(sub2.iterator().all(), WAIT_MS, 'sub2 iterator'), [['a', JSON.stringify(object)]])
  assert.deepEqual(await within(db1.sublevel('other').sublevel<string, Buffer>('nested', { valueEncoding: 'buffer' }).get('b'), WAIT_MS, 'nested get'), Buffer.from([0, 1, 255]))
  // The root of either instance sees the sublevels' prefixed keys, and nothing of quorum-level's own.
  assert.deepEqual(await within(db2.keys().all(), WAIT_MS, 'root keys'), ['!other!!nested!b', '!test!a'])
})

test('concurrent iterators, on one instance and on two, each read everything', { timeout: 30_000 }, async (t) => {
  // many-level's concurrent tests: iterators share one connection, and guests share one leader.
  const dbs = await instances(t)
  const db1 = dbs.make()
  const db2 = dbs.make()
  const db3 = dbs.make()
  const entries = Array.from({ length: 100 }, (_, i): [string, string] => [`key-${String(i).padStart(3, '0')}`, `value-${i}`])
  await within(db1.batch(entries.map(([key, value]) => ({ type: 'put', key, value }))), WAIT_MS, 'batch')
  const reads = [db2.iterator().all(), db2.iterator().all(), db3.iterator().all(), db3.iterator({ reverse: true }).all(), db1.iterator().all()]
  const results = await within(Promise.all(reads), WAIT_MS, 'the iterators')
  assert.deepEqual(results, [entries, entries, entries, [...entries].reverse(), entries])
})
