import { strict as assert } from 'node:assert'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { Replicator, type Change, type ReplicatorOptions } from '../../src/index.js'
import { shape, take } from '../helpers/feed.js'
import { allReady, closeHosts, openHost, optionsOf, startHosts, stopHost, tempDir, withHosts } from '../helpers/hosts.js'

/** A Replicator without peers over a classic-level database in a fresh directory, which `reopen` restarts; both closed, and the directory removed, after `run`. */
async function withSoloHost (options: ReplicatorOptions, run: (host: { db: () => ClassicLevel<string, number>, replicator: () => ReturnType<typeof Replicator>, reopen: () => Promise<void> }) => Promise<void>): Promise<void> {
  const location = await tempDir()
  let db = new ClassicLevel<string, number>(location, { valueEncoding: 'json' })
  let replicator = Replicator(db, options)
  const close = async (): Promise<void> => {
    await replicator.close()
    await db.close()
  }
  try {
    await run({
      db: () => db,
      replicator: () => replicator,
      reopen: async () => {
        await close()
        db = new ClassicLevel<string, number>(location, { valueEncoding: 'json' })
        replicator = Replicator(db, options)
      }
    })
  } finally {
    await close()
    await rm(location, { recursive: true, force: true })
  }
}

test('every host yields the changes of every host, own writes included, in the encodings of the database', async () => {
  await withHosts(3, () => ({ minConsensus: 2 }), async ({ hosts }) => {
    await allReady({ hosts, dirs: [] })
    const feeds = hosts.map((host) => host.replicator.changes<string, unknown>())
    // 'now' is asked for as the feed is made: writes made after that are yielded.
    await Promise.all(hosts.map(async (host) => await host.replicator.lastPosition()))
    const collected = feeds.map(async (feed) => await take(feed, 4))
    const [a, b] = hosts
    await a?.db.put('k1', { n: 1 })
    await b?.db.batch([{ type: 'put', key: 'k2', value: [2] }, { type: 'put', key: 'k3', value: 'three' }])
    await a?.db.del('k1')
    for (const changes of await Promise.all(collected)) {
      const sorted = shape(changes).sort((x, y) => JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)
      assert.deepEqual(sorted, [['del', 'k1'], ['put', 'k1', { n: 1 }], ['put', 'k2', [2]], ['put', 'k3', 'three']].sort((x, y) => JSON.stringify(x) < JSON.stringify(y) ? -1 : 1))
      const k1 = changes.filter((change) => change.key === 'k1').map((change) => change.type)
      assert.deepEqual(k1, ['put', 'del'], 'per key, changes come in version order')
    }
    for (const feed of feeds) feed.destroy()
  })
})

test('resumes exactly after a position: across a restart of the host, no gap and no duplicate', async () => {
  const set = await startHosts(2, () => ({ minConsensus: 1 }))
  try {
    await allReady(set)
    const [a, b] = set.hosts
    if (a === undefined || b === undefined) throw new Error('two hosts')
    for (let i = 0; i < 10; i++) await a.db.put(`k${i}`, i)
    const start = await b.replicator.lastPosition()
    // Batches of four, so that the position to resume from lies inside one of them.
    for (let i = 10; i < 30; i += 4) await a.db.batch(Array.from({ length: 4 }, (_, j) => ({ type: 'put' as const, key: `k${i + j}`, value: i + j })))
    const first = await take(b.replicator.changes<string, number>({ since: start }), 5)
    assert.deepEqual(first.map((change) => change.key).sort(), ['k10', 'k11', 'k12', 'k13', 'k14'])
    const resumeAt = (first.at(-1) as Change).position
    await stopHost(b)
    openHost(b, optionsOf(b))
    const rest = await take(b.replicator.changes<string, number>({ since: resumeAt }), 15)
    // Read back from storage now: the restart emptied what the feed kept in memory.
    const all = [...first, ...rest]
    assert.deepEqual(all.map((change) => change.key).sort(), Array.from({ length: 20 }, (_, i) => `k${i + 10}`).sort())
    assert.deepEqual(all.map((change) => change.type === 'put' ? `k${change.value}` : null), all.map((change) => change.key))
  } finally {
    await closeHosts(set)
  }
})

test('a range and a sublevel yield only their keys, the sublevel in its own encodings', async () => {
  await withHosts(2, () => ({ minConsensus: 1 }), async ({ hosts }) => {
    await allReady({ hosts, dirs: [] })
    const [a, b] = hosts
    if (a === undefined || b === undefined) throw new Error('two hosts')
    const since = await b.replicator.lastPosition()
    const sub = a.db.sublevel<string, string>('users', { valueEncoding: 'utf8' })
    await a.db.put('a', 1)
    await sub.put('ann', 'x')
    await a.db.put('m', 2)
    await sub.put('bob', 'y')
    await a.db.put('z', 3)
    const ranged = await take(b.replicator.changes<string, number>({ since, gte: 'b', lt: 'n' }), 1)
    assert.deepEqual(shape(ranged), [['put', 'm', 2]])
    const remoteSub = b.db.sublevel<string, string>('users', { valueEncoding: 'utf8' })
    const subChanges = await take(b.replicator.changes<string, string>({ since, sublevel: remoteSub }), 2)
    assert.deepEqual(shape(subChanges), [['put', 'ann', 'x'], ['put', 'bob', 'y']])
  })
})

test('a position from another host, or malformed, is refused with LEVEL_INVALID_OPTION', async () => {
  await withHosts(2, () => ({ minConsensus: 1 }), async ({ hosts }) => {
    await allReady({ hosts, dirs: [] })
    const [a, b] = hosts
    if (a === undefined || b === undefined) throw new Error('two hosts')
    await a.db.put('x', 1)
    const foreign = await a.replicator.lastPosition()
    await assert.rejects(take(b.replicator.changes({ since: foreign }), 1), { code: 'LEVEL_INVALID_OPTION' })
    assert.throws(() => b.replicator.changes({ since: 'yesterday' }), { code: 'LEVEL_INVALID_OPTION' })
  })
})

test('a position older than the feed keeps fails with LEVEL_FEED_COMPACTED', async () => {
  await withSoloHost({ feedRetention: 16 }, async (host) => {
    const db = host.db()
    const replicator = host.replicator()
    const start = await replicator.lastPosition()
    for (let i = 0; i < 100; i++) await db.put(`k${i}`, i)
    await assert.rejects(take(replicator.changes({ since: start }), 1), { code: 'LEVEL_FEED_COMPACTED' })
    const recent = await replicator.lastPosition()
    const [number] = recent.split('@')
    const back = `${Number(number) - 10}@${recent.split('@')[1] as string}`
    const changes = await take(replicator.changes<string, number>({ since: back }), 10)
    assert.deepEqual(changes.map((change) => change.key), Array.from({ length: 10 }, (_, i) => `k${90 + i}`))
  })
})

test('a change whose log entry is gone is read from the data while the key keeps its version, and is compacted once it does not', async () => {
  await withSoloHost({ logRetention: 3 }, async ({ db, replicator, reopen }) => {
    for (let i = 0; i < 10; i++) await db().put(`k${i}`, i)
    const host = (await replicator().lastPosition()).split('@')[1] as string
    await reopen()
    const changes = await take(replicator().changes<string, number>({ since: `0@${host}` }), 10)
    assert.deepEqual(shape(changes), Array.from({ length: 10 }, (_, i) => ['put', `k${i}`, i]))
    await db().put('k0', 100)
    await reopen()
    await assert.rejects(take(replicator().changes({ since: `0@${host}` }), 1), { code: 'LEVEL_FEED_COMPACTED' })
    const fromK1 = await take(replicator().changes<string, number>({ since: `1@${host}` }), 10)
    assert.deepEqual(shape(fromK1), [...Array.from({ length: 9 }, (_, i) => ['put', `k${i + 1}`, i + 1]), ['put', 'k0', 100]])
  })
})

test('a consumer that stops reading holds a bounded number of changes, slows no write, and reads on from storage', async () => {
  await withSoloHost({}, async (host) => {
    const db = host.db()
    const replicator = host.replicator()
    const feed = replicator.changes<string, number>({ since: await replicator.lastPosition(), highWaterMark: 16 })
    await db.put('first', 0)
    const [first] = await new Promise<unknown[]>((resolve) => feed.once('readable', () => { resolve([feed.read()]) }))
    assert.deepEqual(shape([first as never]), [['put', 'first', 0]])
    // 20,000 changes (each key twice as many bytes as the feed keeps in memory, in all) while it does not read.
    const value = 'x'.repeat(1000)
    for (let i = 0; i < 200; i++) await db.batch(Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: `k${String(i * 100 + j).padStart(5, '0')}`, value: value as unknown as number })))
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.ok(feed.readableLength <= 16 + 256, `at most a high water mark and a page held, not ${feed.readableLength}`)
    const rest = await take(feed, 20_000, 60_000)
    assert.deepEqual(rest.map((change) => change.key), Array.from({ length: 20_000 }, (_, i) => `k${String(i).padStart(5, '0')}`))
  })
})

test('changes that arrive by a full copy are yielded, with their values', async () => {
  const set = await startHosts(2, () => ({ minConsensus: 0, logRetention: 5 }))
  try {
    await allReady(set)
    const [a, b] = set.hosts
    if (a === undefined || b === undefined) throw new Error('two hosts')
    const since = await b.replicator.lastPosition()
    await stopHost(b)
    // Far more than a's log keeps: b can only catch up by a full copy.
    for (let i = 0; i < 50; i++) await a.db.put(`k${String(i).padStart(2, '0')}`, { n: i })
    openHost(b, optionsOf(b))
    const changes = await take(b.replicator.changes<string, unknown>({ since }), 50)
    assert.deepEqual(shape(changes).sort(), Array.from({ length: 50 }, (_, i) => ['put', `k${String(i).padStart(2, '0')}`, { n: i }]))
  } finally {
    await closeHosts(set)
  }
})
