/**
 * Goal: every process of every host (leaders and guests) yields every committed change of
 * the database, whoever made it, with positions that resume across a local failover; ranges
 * and sublevels narrow it; a closed database ends its feeds. Method: 2 hosts x 2 QuorumLevel
 * instances (leader and guest over the unix socket) in temporary directories on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { QuorumLevel } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { shape, take } from '../helpers/feed.js'
import { eventually, memberOptions, once, tempDir } from '../helpers/hosts.js'

async function startCluster (): Promise<{ make: (h: number) => QuorumLevel<string, unknown>, instances: Array<QuorumLevel<string, unknown>>, dirs: string[] }> {
  const ports = await freePorts(2)
  const dirs = await Promise.all(ports.map(tempDir))
  const make = (h: number): QuorumLevel<string, unknown> => new QuorumLevel<string, unknown>(dirs[h] as string, { valueEncoding: 'json', ...memberOptions(ports, h), minConsensus: 1 })
  const leaders = [make(0), make(1)]
  const ready = leaders.map((db) => once(db.cluster, 'ready', 15_000))
  await Promise.all(leaders.map(async (db) => { await db.open() }))
  const guests = [make(0), make(1)]
  await Promise.all(guests.map(async (db) => { await db.open() }))
  await Promise.all(ready)
  return { make, instances: [leaders[0], guests[0], leaders[1], guests[1]] as Array<QuorumLevel<string, unknown>>, dirs }
}

test('every process of every host yields the changes of every process of every host', { timeout: 60_000 }, async () => {
  const { instances, dirs } = await startCluster()
  try {
    assert.deepEqual(instances.map((db) => db.isLeader), [true, false, true, false])
    const starts = await Promise.all(instances.map(async (db) => await db.lastPosition()))
    const [leaderA, guestA, leaderB, guestB] = instances as [QuorumLevel<string, unknown>, QuorumLevel<string, unknown>, QuorumLevel<string, unknown>, QuorumLevel<string, unknown>]
    await leaderA.put('a-leader', { n: 1 })
    await guestA.batch([{ type: 'put', key: 'a-guest', value: 'ü' }, { type: 'del', key: 'a-leader' }])
    await guestB.put('b-guest', [3])
    await leaderB.put('b-leader', false)
    const expected = [['put', 'a-leader', { n: 1 }], ['put', 'a-guest', 'ü'], ['del', 'a-leader'], ['put', 'b-guest', [3]], ['put', 'b-leader', false]]
    for (const [i, db] of instances.entries()) {
      const changes = await take(db.changes({ since: starts[i] }), 5)
      const sorted = (list: unknown[]): unknown[] => list.map((item) => JSON.stringify(item)).sort()
      assert.deepEqual(sorted(shape(changes)), sorted(expected), `instance ${i}`)
      const aLeader = changes.filter((change) => change.key === 'a-leader').map((change) => change.type)
      assert.deepEqual(aLeader, ['put', 'del'], 'per key, in version order')
      // One host's processes read one feed: the same positions.
      if (i % 2 === 1) {
        const leaderChanges = await take((instances[i - 1] as QuorumLevel<string, unknown>).changes({ since: starts[i - 1] }), 5)
        assert.deepEqual(changes.map((change) => change.position), leaderChanges.map((change) => change.position))
      }
    }
  } finally {
    for (const db of [...instances].reverse()) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})

test('a guest\'s live feed goes on across the failover of its host\'s leader, with no gap and no duplicate', { timeout: 60_000 }, async () => {
  const { make, instances, dirs } = await startCluster()
  const [leaderA, guestA, leaderB] = instances as [QuorumLevel<string, unknown>, QuorumLevel<string, unknown>, QuorumLevel<string, unknown>]
  const extra: Array<QuorumLevel<string, unknown>> = []
  try {
    const since = await guestA.lastPosition()
    const seen: string[] = []
    const feed = guestA.changes<string, number>({ since })
    const reading = (async () => {
      for await (const change of feed) {
        seen.push(change.key)
        if (seen.length === 40) break
      }
    })()
    for (let i = 0; i < 20; i++) await leaderB.put(`k${String(i).padStart(2, '0')}`, i)
    await eventually(() => seen.length >= 20, 10_000, 'the guest saw the first 20')
    // Host A's leader goes; the guest takes over as leader, its feed reading on.
    await leaderA.close()
    await eventually(() => guestA.isLeader, 15_000, 'the guest leads')
    for (let i = 20; i < 40; i++) await leaderB.put(`k${String(i).padStart(2, '0')}`, i)
    await reading
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`))
    // A new guest resumes from the middle, through the new leader.
    const late = make(0)
    extra.push(late)
    await late.open()
    const middle = await take(guestA.changes<string, number>({ since }), 10)
    const rest = await take(late.changes<string, number>({ since: middle.at(-1)?.position }), 30)
    assert.deepEqual([...middle, ...rest].map((change) => change.key), seen)
  } finally {
    for (const db of [...extra, ...instances].reverse()) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})

test('a range and a sublevel narrow a guest\'s feed; closing the database ends it', { timeout: 60_000 }, async () => {
  const { instances, dirs } = await startCluster()
  const [leaderA, guestA, , guestB] = instances as [QuorumLevel<string, unknown>, QuorumLevel<string, unknown>, QuorumLevel<string, unknown>, QuorumLevel<string, unknown>]
  try {
    const since = await guestB.lastPosition()
    const users = leaderA.sublevel<string, string>('users', { valueEncoding: 'utf8' })
    await leaderA.put('a', 1)
    await users.put('ann', 'x')
    await guestA.put('m', 2)
    await users.del('ann')
    await leaderA.put('z', 3)
    assert.deepEqual(shape(await take(guestB.changes({ since, gt: 'b', lte: 'z' }), 2)), [['put', 'm', 2], ['put', 'z', 3]])
    const remoteUsers = guestB.sublevel<string, string>('users', { valueEncoding: 'utf8' })
    assert.deepEqual(shape(await take(guestB.changes({ since, sublevel: remoteUsers }), 2)), [['put', 'ann', 'x'], ['del', 'ann']])
    const live = guestB.changes()
    const ended = new Promise<void>((resolve) => live.once('end', resolve))
    live.resume()
    await guestB.close()
    await ended
  } finally {
    for (const db of [...instances].reverse()) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})

test('a position resumes after the whole host restarts: every process closed, then a new one', { timeout: 60_000 }, async () => {
  const dir = await tempDir()
  const open = async (): Promise<QuorumLevel<string, number>> => {
    const db = new QuorumLevel<string, number>(dir, { valueEncoding: 'json' })
    await db.open()
    return db
  }
  try {
    const leader = await open()
    const guest = await open()
    const since = await guest.lastPosition()
    for (let i = 0; i < 10; i++) await (i % 2 === 0 ? leader : guest).put(`k${i}`, i)
    const first = await take(guest.changes<string, number>({ since }), 5)
    await guest.close()
    await leader.close()
    const again = await open()
    try {
      const rest = await take(again.changes<string, number>({ since: first.at(-1)?.position }), 5)
      assert.deepEqual([...first, ...rest].map((change) => change.key), Array.from({ length: 10 }, (_, i) => `k${i}`))
      assert.deepEqual(rest.map((change) => change.type === 'put' ? change.value : null), [5, 6, 7, 8, 9])
    } finally {
      await again.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
