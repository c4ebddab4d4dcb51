/**
 * Goal: a host that was away gets what it missed: after a restart from its directory, via the
 * log after 10,000 writes, and via a full copy when the log was truncated. Method: 3 real hosts
 * on 127.0.0.1 with minConsensus 1, one of them stopped while the others write.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type HostSet, allReady, closeHosts, contents, eventually, openHost, optionsOf, startHosts, stopHost } from '../helpers/hosts.js'

async function sameEverywhere (set: HostSet, ms = 30_000): Promise<void> {
  await eventually(async () => {
    const all = await Promise.all(set.hosts.map((host) => contents(host.db)))
    return all.every((content) => JSON.stringify(content) === JSON.stringify(all[0]))
  }, ms, 'identical replicas')
}

test('a host stopped and restarted from its directory catches up', { timeout: 60_000 }, async () => {
  const set = await startHosts(3, () => ({ minConsensus: 1 }))
  try {
    await allReady(set)
    const [a, , c] = set.hosts as [HostSet['hosts'][0], HostSet['hosts'][0], HostSet['hosts'][0]]
    await a.db.put('before', 1)
    await stopHost(c)
    for (let i = 0; i < 100; i++) await a.db.put(`while-away-${i}`, i)
    openHost(c, optionsOf(c))
    await sameEverywhere(set)
    assert.equal(await c.db.get('while-away-99'), 99)
    assert.equal(await c.db.get('before'), 1)
  } finally {
    await closeHosts(set)
  }
})

test('a host away for 10,000 writes catches up through the log', { timeout: 120_000 }, async () => {
  const set = await startHosts(3, () => ({ minConsensus: 1 }))
  try {
    await allReady(set)
    const [a, b, c] = set.hosts as [HostSet['hosts'][0], HostSet['hosts'][0], HostSet['hosts'][0]]
    await stopHost(c)
    const writes: Array<Promise<void>> = []
    for (let i = 0; i < 10_000; i++) {
      writes.push((i % 2 === 0 ? a : b).db.put(`k${String(i).padStart(5, '0')}`, i))
      if (writes.length >= 256) await Promise.all(writes.splice(0))
    }
    await Promise.all(writes)
    openHost(c, optionsOf(c))
    await sameEverywhere(set, 60_000)
    assert.equal((await contents(c.db)).length, 10_000)
  } finally {
    await closeHosts(set)
  }
})

test('a host behind a truncated log gets a full copy', { timeout: 60_000 }, async () => {
  const set = await startHosts(3, () => ({ minConsensus: 1, logRetention: 10 }))
  try {
    await allReady(set)
    const [a, , c] = set.hosts as [HostSet['hosts'][0], HostSet['hosts'][0], HostSet['hosts'][0]]
    await a.db.put('doomed', 0)
    await eventually(async () => (await contents(c.db)).length === 1, 10_000, 'c has the first write')
    await stopHost(c)
    await a.db.del('doomed')
    for (let i = 0; i < 200; i++) await a.db.put(`k${String(i).padStart(3, '0')}`, i)
    openHost(c, optionsOf(c))
    await sameEverywhere(set)
    await assert.rejects(c.db.get('doomed'), { code: 'LEVEL_NOT_FOUND' })
    assert.equal((await contents(c.db)).length, 200)
  } finally {
    await closeHosts(set)
  }
})
