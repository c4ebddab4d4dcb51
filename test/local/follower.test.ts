/**
 * Goal: a process opened with `lead: false` only ever follows a leader: without one it fails
 * to open with a clear error, with one it reads and writes, and when its leader goes it waits
 * for the next instead of taking over, never holding the LevelDB lock. Method: QuorumLevel
 * instances in this process on a temporary directory; whether the lock is free is asked of
 * classic-level itself, which can open the directory only then.
 */
import assert from 'node:assert/strict'
import { access } from 'node:fs/promises'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { QuorumLevel } from '../../src/index.js'
import { WAIT_MS, instances, leads, settle, within } from './instances.js'

/** Short, so that the tests that wait it out stay quick. */
const FOLLOWER_WAIT_MS = 400

/** Whether classic-level can take the directory's lock now (and let it go again). */
async function unlocked (location: string): Promise<boolean> {
  const db = new ClassicLevel(location)
  try {
    await within(db.open(), WAIT_MS, 'opening the directory with classic-level')
    return true
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') return false
    throw error
  } finally {
    await db.close()
  }
}

test('lead: false with no leader: open() fails with LEVEL_NOT_READY as its cause, and leaves the directory alone', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make({ lead: false, lockWait: FOLLOWER_WAIT_MS })
  const started = performance.now()
  const opened = await within(settle(db.open()), WAIT_MS, 'open()')
  assert.equal(opened.ok, false)
  assert.ok(!opened.ok)
  assert.equal(opened.code, 'LEVEL_DATABASE_NOT_OPEN')
  const cause = await db.open().catch((error: unknown) => (error as { cause?: { code?: string, message?: string } }).cause)
  assert.equal(cause?.code, 'LEVEL_NOT_READY')
  assert.match(cause?.message ?? '', /No quorum-level host serves .* start one, e\.g\. with `quorum-level serve`/)
  assert.ok(performance.now() - started >= FOLLOWER_WAIT_MS, 'it waited for a leader first')
  assert.equal(db.isLeader, false)
  // It never opened the database: the directory was not even made.
  await assert.rejects(access(dbs.location), { code: 'ENOENT' })
})

test('lead: false with a leader: it reads and writes through the leader, which sees its writes', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await leads(leader)
  const follower = dbs.make({ lead: false, lockWait: FOLLOWER_WAIT_MS })
  await within(follower.open(), WAIT_MS, 'follower open')
  assert.equal(follower.isLeader, false)
  await within(follower.put('a', '1'), WAIT_MS, 'follower put')
  await within(leader.put('b', '2'), WAIT_MS, 'leader put')
  assert.equal(await within(leader.get('a'), WAIT_MS, 'leader get'), '1')
  assert.deepEqual(await within(follower.iterator().all(), WAIT_MS, 'follower iterator'), [['a', '1'], ['b', '2']])
  assert.equal((await within(follower.cluster.status(), WAIT_MS, 'follower status')).state, 'open')
})

test('lead: false, its leader closes: it does not take over, and carries on with the next leader', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const first = dbs.make()
  await leads(first)
  const follower = dbs.make({ lead: false, lockWait: WAIT_MS })
  let led = false
  follower.on('leader', () => { led = true })
  await within(follower.open(), WAIT_MS, 'follower open')
  await within(first.close(), WAIT_MS, 'the first leader closes')
  // Made while no process leads: it waits for the next leader.
  const put = settle(follower.put('during', 'the gap'))
  // A normal process would have taken the lock by now (it retries every 50 ms).
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(follower.isLeader, false)
  assert.equal(await unlocked(dbs.location), true, 'nothing holds the lock: the follower did not take it')
  const next = dbs.make()
  await leads(next)
  assert.deepEqual(await within(put, WAIT_MS, 'the put made in the gap'), { ok: true, value: undefined })
  assert.equal(await within(next.get('during'), WAIT_MS, 'the new leader reads it'), 'the gap')
  assert.equal(await within(follower.get('during'), WAIT_MS, 'the follower reads it'), 'the gap')
  assert.equal(led, false)
})

test('lead: false, its leader closes and none comes within lockWait: pending operations fail, the database closes', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await leads(leader)
  const follower = dbs.make({ lead: false, lockWait: FOLLOWER_WAIT_MS })
  await within(follower.open(), WAIT_MS, 'follower open')
  const errors: Error[] = []
  follower.cluster.on('error', (error: Error) => { errors.push(error) })
  await within(leader.close(), WAIT_MS, 'the leader closes')
  const put = await within(settle(follower.put('k', 'v')), WAIT_MS, 'the put made with no leader')
  assert.ok(!put.ok)
  assert.equal(put.code, 'LEVEL_NOT_READY')
  await within(new Promise<void>((resolve) => { if (follower.status === 'closed') resolve(); else follower.once('closed', resolve) }), WAIT_MS, 'the follower closes')
  assert.deepEqual(errors.map((error) => (error as { code?: string }).code), ['LEVEL_NOT_READY'])
  assert.equal(await unlocked(dbs.location), true)
})

test('lead must be a boolean', () => {
  assert.throws(() => new QuorumLevel('unused', { lead: 'no' as unknown as boolean }), { code: 'LEVEL_INVALID_OPTION' })
})
