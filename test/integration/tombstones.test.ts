/**
 * Goal: deletes do not grow the database for ever (README "Deletes"; SPEC §6.5), and a
 * collected tombstone never lets a deleted key come back. Method: 3 replicas, each a process
 * of its own with a Replicator over classic-level on 127.0.0.1 and a short collection
 * interval. (1) A delete-heavy load: rounds that put 500 keys of 1 KiB and delete them again;
 * every host must end with no tombstone and a database, once compacted, a small part of what
 * the rounds wrote (the figures are printed). (2) A host restored from a copy taken before keys
 * were deleted and collected everywhere, with logs too short to catch it up: the full copy it
 * gets lacks those keys, and it must drop them, or they would live on there alone.
 */
import assert from 'node:assert/strict'
import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { eventually } from '../helpers/hosts.js'
import type { ReplicaReply } from './fixtures/replica.js'
import { type Replica, type ReplicaCluster as Cluster, contents, start, stop, withCluster } from './replica-cluster.js'

const ROUNDS = 10
const KEYS_PER_ROUND = 500
const VALUE_BYTES = 1024
const OPTIONS = { minConsensus: 1, writeTimeout: 5_000, logRetention: 5, tombstoneInterval: 200 }

type Storage = Extract<ReplicaReply, { type: 'storage' }>

/** Puts (or deletes) `count` keys from `prefix` on one replica; every write must succeed. */
async function write (replica: Replica, prefix: string, count: number, del = false): Promise<void> {
  const mark = replica.replies.length
  replica.send({ type: 'write', prefix, count, concurrency: 8, valueBytes: VALUE_BYTES, del })
  await replica.waitFor('done', (done) => done.prefix === prefix, 120_000, mark)
  const failed = replica.replies.slice(mark).filter((reply) => reply.type === 'written' && reply.outcome !== 'ok')
  assert.deepEqual(failed, [], `every ${del ? 'delete' : 'put'} of ${prefix} succeeds`)
}

async function storage (replica: Replica): Promise<Storage> {
  return await replica.request({ type: 'storage' }, 'storage')
}

/** Waits until no host holds a tombstone any more; resolves with each host's storage then. */
async function collectedEverywhere (cluster: Cluster): Promise<Storage[]> {
  let last: Storage[] = []
  await eventually(async () => {
    last = await Promise.all(cluster.replicas.map(storage))
    return last.every((host) => host.tombstones === 0)
  }, 60_000, 'every tombstone collected')
  return last
}

const MiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB`

test('a delete-heavy load: tombstones are collected on every host and the database stays small', { timeout: 240_000 }, async (t) => {
  await withCluster(OPTIONS, async (cluster) => {
    const written = ROUNDS * KEYS_PER_ROUND * VALUE_BYTES
    const sizes: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // Each round from another host, so that every host originates puts and deletes.
      const replica = cluster.replicas[round % 3] as Replica
      await write(replica, `r${round}-`, KEYS_PER_ROUND)
      await write(replica, `r${round}-`, KEYS_PER_ROUND, true)
      sizes.push((await storage(cluster.replicas[0] as Replica)).diskBytes)
    }
    const end = await collectedEverywhere(cluster)
    for (const [i, host] of end.entries()) {
      assert.ok(host.collected >= ROUNDS * KEYS_PER_ROUND, `host ${i} collected ${host.collected} tombstones`)
      assert.ok(host.horizon > 0)
      // Values and tombstones of 5,000 keys written: what is left is the log, bounded by logRetention.
      assert.ok(host.diskBytes < written / 4, `host ${i} keeps ${MiB(host.diskBytes)} of ${MiB(written)} written`)
    }
    for (const replica of cluster.replicas) assert.equal((await contents(replica)).size, 0)
    t.diagnostic(`${ROUNDS} rounds of ${KEYS_PER_ROUND} puts of ${VALUE_BYTES} B and as many deletes (${MiB(written)} of values): host 0 after each round, compacted: ${sizes.map(MiB).join(', ')}; at the end: ${end.map((host) => `${MiB(host.diskBytes)}, ${host.collected} collected`).join('; ')}`)
  })
})

test('a host restored from before keys were deleted and collected drops them from the full copy it gets', { timeout: 240_000 }, async () => {
  await withCluster(OPTIONS, async (cluster) => {
    const [first, , third] = cluster.replicas as [Replica, Replica, Replica]
    await write(first, 'old-', 200)
    const copy = join(cluster.root, 'copy')
    await stop(third)
    await cp(cluster.locations[2] as string, copy, { recursive: true })
    const restarted = await start(cluster, 2)
    await restarted.waitFor('event', (event) => event.name === 'ready', 60_000)
    await write(first, 'old-', 200, true)
    await collectedEverywhere(cluster)
    // Past every log's retention: the restored host can only catch up by a full copy.
    await write(first, 'new-', 100)
    await stop(restarted)
    await rm(cluster.locations[2] as string, { recursive: true, force: true })
    await cp(copy, cluster.locations[2] as string, { recursive: true })
    const restored = await start(cluster, 2)
    assert.equal((await contents(restored)).size, 200, 'the restored copy holds the deleted keys')
    await restored.waitFor('event', (event) => event.name === 'ready', 60_000)
    await eventually(async () => {
      const all = await Promise.all(cluster.replicas.map(contents))
      return all.every((data) => data.size === 100 && [...data.keys()].every((key) => key.startsWith('new-')))
    }, 60_000, 'every host holds the 100 new keys and nothing else')
  })
})
