/**
 * Goal: the faults real hosts meet change nothing users were promised (SPEC §5.4, §9; README
 * "Guarantees"): a wall clock that steps back and forward, storage that fails for a while, a
 * host restored from an older copy of its directory. Method: 3 replicas, each a process of its
 * own with a Replicator over classic-level on 127.0.0.1, writing at once while the test breaks
 * one of them; every write's outcome is collected and checked against every host's contents.
 * With the default minConsensus (all peers), a write acknowledged is on every host at once.
 */
import assert from 'node:assert/strict'
import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { eventually } from '../helpers/hosts.js'
import { type Replica, type ReplicaCluster as Cluster, contents, start, stop, withCluster } from './replica-cluster.js'

/** Outcomes a failed write may have: every one of them means nothing was written. */
const CHANGED_NOTHING = new Set(['LEVEL_IO_ERROR', 'LEVEL_NOT_READY', 'LEVEL_QUORUM_FAILED', 'LEVEL_WRITE_CONFLICT', 'LEVEL_TIMEOUT'])

/** Writes `count` keys from every replica at once; resolves with every outcome, by key. */
async function writeEverywhere (cluster: Cluster, prefix: string, count: number, during?: () => Promise<void>): Promise<Map<string, string>> {
  const outcomes = new Map<string, string>()
  const marks = cluster.replicas.map((replica) => replica.replies.length)
  cluster.replicas.forEach((replica, i) => { replica.send({ type: 'write', prefix: `${prefix}${i}-`, count, concurrency: 8 }) })
  await during?.()
  await Promise.all(cluster.replicas.map((replica, i) => replica.waitFor('done', (done) => done.prefix === `${prefix}${i}-`, 120_000, marks[i])))
  cluster.replicas.forEach((replica, i) => {
    for (const reply of replica.replies.slice(marks[i])) if (reply.type === 'written') outcomes.set(reply.key, reply.outcome)
  })
  return outcomes
}

/** Every replica holds exactly the same data; resolves with it. */
async function converged (cluster: Cluster): Promise<Map<string, unknown>> {
  let agreed = new Map<string, unknown>()
  await eventually(async () => {
    const all = await Promise.all(cluster.replicas.map(contents))
    const first = JSON.stringify([...all[0] ?? []])
    agreed = all[0] ?? new Map()
    return all.every((content) => JSON.stringify([...content]) === first)
  }, 60_000, 'identical replicas')
  return agreed
}

/** What README promises of each outcome, checked against the converged data. */
function checkOutcomes (outcomes: ReadonlyMap<string, string>, data: ReadonlyMap<string, unknown>): { ok: number, failed: number } {
  let ok = 0
  let failed = 0
  for (const [key, outcome] of outcomes) {
    if (outcome === 'ok' || outcome === 'LEVEL_COMMITTED_UNCONFIRMED') {
      assert.equal(data.get(key), key, `${key} (${outcome}) is on every host`)
      if (outcome === 'ok') ok++
    } else {
      assert.ok(CHANGED_NOTHING.has(outcome), `${key} failed with a known code, not ${outcome}`)
      assert.equal(data.has(key), false, `${key} failed (${outcome}) and is nowhere`)
      failed++
    }
  }
  return { ok, failed }
}

test('a wall clock stepped back 5 s and forward 30 s on one host changes nothing but timestamps', { timeout: 180_000 }, async () => {
  await withCluster({ writeTimeout: 2_000 }, async (cluster) => {
    const [stepped, ...others] = cluster.replicas as [Replica, Replica, Replica]
    // Acknowledged writes of the stepped host must be on the others at once (minConsensus: all).
    const checks: Array<Promise<void>> = []
    let cursor = stepped.replies.length
    const onAck = setInterval(() => {
      for (; cursor < stepped.replies.length; cursor++) {
        const reply = stepped.replies[cursor]
        if (reply?.type !== 'written' || reply.outcome !== 'ok') continue
        checks.push(...others.map(async (other) => {
          const { value } = await other.request({ type: 'get', key: reply.key }, 'value', (answer) => answer.key === reply.key)
          assert.equal(value, reply.key, `${reply.key}, acknowledged by the stepped host, is on its peers`)
        }))
      }
    }, 5)
    try {
      const outcomes = await writeEverywhere(cluster, 'clock', 300, async () => {
        await new Promise((resolve) => setTimeout(resolve, 300))
        stepped.send({ type: 'clock', offsetMs: -5_000 })
        await new Promise((resolve) => setTimeout(resolve, 300))
        stepped.send({ type: 'clock', offsetMs: 30_000 })
      })
      const { ok } = checkOutcomes(outcomes, await converged(cluster))
      assert.ok(ok > 600, `most writes succeed (${ok} of 900)`)
      // Not even a recovered fault: the core never saw time go back.
      const errors = cluster.replicas.flatMap((replica) => replica.replies.filter((reply) => reply.type === 'event' && reply.name.startsWith('error')))
      assert.deepEqual(errors, [])
    } finally {
      clearInterval(onAck)
    }
    await Promise.all(checks)
  })
})

test('storage failing for 3 s on one host: its writes fail clearly or wait, none unreplicated, and it converges', { timeout: 180_000 }, async () => {
  await withCluster({ writeTimeout: 2_000 }, async (cluster) => {
    const [failing] = cluster.replicas as [Replica, Replica, Replica]
    // The outage starts before the writes and outlasts writeTimeout (2 s), so some of them
    // must fail however fast the others go.
    failing.send({ type: 'fail-storage', ms: 3_000 })
    const outcomes = await writeEverywhere(cluster, 'disk', 300)
    const data = await converged(cluster)
    const { ok, failed } = checkOutcomes(outcomes, data)
    assert.ok(failed > 0, 'some writes waited too long and failed')
    assert.ok(ok > 0)
    assert.ok(failing.replies.some((reply) => reply.type === 'event' && reply.name === 'error:LEVEL_IO_ERROR'), 'the host said why')
    // And it works again afterwards.
    const after = await writeEverywhere(cluster, 'after', 20)
    const { failed: failedAfter } = checkOutcomes(after, await converged(cluster))
    assert.equal(failedAfter, 0)
  })
})

test('a host restored from a copy of its directory taken 1,000 writes earlier rejoins without divergence', { timeout: 240_000 }, async () => {
  await withCluster({ minConsensus: 1, writeTimeout: 2_000 }, async (cluster) => {
    const before = await writeEverywhere(cluster, 'before', 50)
    const copy = join(cluster.root, 'copy')
    await stop(cluster.replicas[2] as Replica)
    await cp(cluster.locations[2] as string, copy, { recursive: true })
    await start(cluster, 2)
    // 1,000 writes, from every host: the restored host's own among them.
    const during = await writeEverywhere(cluster, 'during', 334)
    await stop(cluster.replicas[2] as Replica)
    await rm(cluster.locations[2] as string, { recursive: true, force: true })
    await cp(copy, cluster.locations[2] as string, { recursive: true })
    const restored = await start(cluster, 2)
    await restored.waitFor('event', (event) => event.name === 'ready', 60_000)
    const after = await writeEverywhere(cluster, 'after', 50)
    const data = await converged(cluster)
    for (const outcomes of [before, during, after]) {
      const { failed } = checkOutcomes(outcomes, data)
      assert.equal(failed, 0, 'with one peer to agree, every write commits')
    }
    assert.equal(data.size, 3 * (50 + 334 + 50))
  })
})

test('a restored host killed while it still asks its peers asks them again after the restart', { timeout: 180_000 }, async () => {
  await withCluster({ minConsensus: 1, writeTimeout: 2_000 }, async (cluster) => {
    const copy = join(cluster.root, 'copy')
    const location = cluster.locations[2] as string
    await stop(cluster.replicas[2] as Replica)
    await cp(location, copy, { recursive: true })
    let restored = await start(cluster, 2)
    await restored.waitFor('event', (event) => event.name === 'ready', 60_000)
    // Its own writes, which the copy lacks and its peers hold.
    const mark = restored.replies.length
    restored.send({ type: 'write', prefix: 'own/', count: 50, concurrency: 4 })
    await restored.waitFor('done', (done) => done.prefix === 'own/', 60_000, mark)
    await stop(restored)
    await rm(location, { recursive: true, force: true })
    await cp(copy, location, { recursive: true })
    // Host 1 is away: host 2 cannot finish asking, but takes back what host 0 holds of its log.
    await stop(cluster.replicas[1] as Replica)
    const own = [...(await contents(cluster.replicas[0] as Replica)).keys()].filter((key) => key.startsWith('own/'))
    restored = await start(cluster, 2)
    await eventually(async () => {
      const held = await contents(restored)
      return own.every((key) => held.has(key))
    }, 60_000, 'host 2 took its own writes back from host 0')
    assert.equal(await recoveryOf(restored), 'asking')
    // Long enough for the witness to write a note (at most once a second), were one made.
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    restored.kill()
    await restored.exited()
    // Its disk holds its writes again, but not the numbers it reserved: only its peers know
    // them all. Trusting the disk now could reuse one.
    restored = await start(cluster, 2)
    assert.equal(await recoveryOf(restored), 'asking', 'the restart asks its peers again')
    await start(cluster, 1)
    await restored.waitFor('event', (event) => event.name === 'ready', 60_000)
    assert.equal(await recoveryOf(restored), null)
    const data = await converged(cluster)
    for (const key of own) assert.equal(data.get(key), key)
  })
})

/** The replica's recovery state once its Replicator is open (SPEC §5.4). */
async function recoveryOf (replica: Replica): Promise<string | null> {
  let recovery: string | null = null
  await eventually(async () => {
    const status = await replica.request({ type: 'status' }, 'status')
    recovery = status.recovery
    return status.state === 'open'
  }, 30_000, 'the Replicator is open')
  return recovery
}
