/**
 * Goal: every write path of a wrapped database replicates, byte-exact: put, del, array and
 * chained batch, sublevels and clear; and a batch carrying a write id in the batch option
 * QuorumLevel sets is submitted under that id, so a write retried across a local failover
 * is applied once (SPEC §4.7, §12.5). Method: 3 hosts on 127.0.0.1 over real classic-level
 * databases for the write paths; for write ids, one Replicator receives batches with ids: a retry of an applied
 * write, after another writer changed the key, must not undo that change, and a retry that
 * arrives while the original is still in flight must not double it.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { WRITE_ID } from '../../src/replicator/write-id-option.js'
import { type HostSet, allReady, contents, once, tempDir, withHosts } from '../helpers/hosts.js'

function marked (db: ClassicLevel<string, unknown>, writer: string, counter: number, key: string, value: string): Promise<void> {
  return db.batch([{ type: 'put', key, value }], { [WRITE_ID]: { writer, counter } } as object)
}

test('batches (array and chained), dels, sublevels and clear replicate', { timeout: 30_000 }, async () => {
  await withHosts(3, undefined, async (set) => {
    await allReady(set)
    const [a, b, c] = set.hosts as [HostSet['hosts'][0], HostSet['hosts'][0], HostSet['hosts'][0]]
    await a.db.batch([{ type: 'put', key: 'a', value: 1 }, { type: 'put', key: 'b', value: 2 }, { type: 'put', key: 'c', value: 3 }])
    await b.db.batch().put('d', 4).del('a').write()
    await c.db.del('b')
    const sub = a.db.sublevel<string, unknown>('sub', { valueEncoding: 'json' })
    await sub.put('s1', 'one')
    await sub.batch([{ type: 'put', key: 's2', value: 'two' }])
    for (const host of set.hosts) {
      assert.deepEqual(await contents(host.db), [['!sub!s1', 'one'], ['!sub!s2', 'two'], ['c', 3], ['d', 4]])
    }
    await b.db.clear({ gte: 'c' })
    for (const host of set.hosts) assert.deepEqual(await contents(host.db), [['!sub!s1', 'one'], ['!sub!s2', 'two']])
  })
})

test('binary keys and values cross byte-exact', { timeout: 30_000 }, async () => {
  await withHosts(3, undefined, async (set) => {
    await allReady(set)
    const key = Buffer.from([0x00, 0xff, 0x80, 0x01, 0x5f, 0x5f])
    const value = randomBytes(1000)
    value[0] = 0
    await set.hosts[1]!.db.put(key, value, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    for (const host of set.hosts) {
      assert.deepEqual(await host.db.get(key, { keyEncoding: 'buffer', valueEncoding: 'buffer' }), value)
    }
  })
})

test('a write retried with the same write id is applied once', { timeout: 30_000 }, async () => {
  const location = await tempDir()
  const db = new ClassicLevel<string, unknown>(location, { valueEncoding: 'json' })
  const replicator = Replicator(db, { minConsensus: 0 })
  try {
    await once(replicator, 'ready')
    await marked(db, 'w1', 1, 'k', 'first')
    await db.put('k', 'second')
    // The retry of write 1, as many-level resends it after a failover: acknowledged, not applied.
    await marked(db, 'w1', 1, 'k', 'first')
    assert.equal(await db.get('k'), 'second')
    // Write 2 and its retry in flight together: one commit.
    await Promise.all([marked(db, 'w1', 2, 'j', 'once'), marked(db, 'w1', 2, 'j', 'once')])
    await db.put('j', 'later')
    await marked(db, 'w1', 2, 'j', 'once')
    assert.equal(await db.get('j'), 'later')
    // Another writer's counters are its own.
    await marked(db, 'w2', 1, 'k', 'third')
    assert.equal(await db.get('k'), 'third')
  } finally {
    await replicator.close()
    await db.close()
    await rm(location, { recursive: true, force: true })
  }
})
