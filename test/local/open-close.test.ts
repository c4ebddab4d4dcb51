/**
 * Goal: open() and close() racing each other and pending operations leave no operation
 * unsettled and no outcome untrue (rave-level's open-close tests, made stricter): every
 * operation issued settles, close() resolves, a write reported successful is in the
 * database and a write reported failed (with a LEVEL_* code) changed nothing. Method:
 * QuorumLevel instances in this process on temporary directories; each outcome is checked
 * against what a fresh instance reads afterwards, and a closed instance must have let go of
 * the LevelDB lock.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import type { QuorumLevel } from '../../src/index.js'
import { type Instances, type Outcome, type Write, WAIT_MS, assertOutcomesAreTrue, instances, leads, settle, within } from './instances.js'

/** Checks each write's outcome against a fresh instance on the same directory. */
async function assertOutcomesAreTrueFresh (dbs: Instances, writes: Array<Write<string>>): Promise<void> {
  await assertOutcomesAreTrue(dbs.make(), writes)
}

/** A closed instance holds nothing: LevelDB itself can open the directory. */
async function assertUnlocked (location: string): Promise<void> {
  const db = new ClassicLevel(location)
  try {
    await within(db.open(), WAIT_MS, 'opening the directory with classic-level')
  } finally {
    await db.close()
  }
}

test('a put issued before open finishes lands once the instance leads (self-flush)', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  const put = db.put('abc', 'xyz')
  await leads(db)
  await within(put, WAIT_MS, 'the put')
  assert.equal(await within(db.get('abc'), WAIT_MS, 'get'), 'xyz')
})

test('close() inside the leader event, a put pending: both settle and the put\'s outcome is true', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  const put = settle(db.put('abc', 'xyz'))
  // Synchronously in the listener: the leader has had no chance to serve the put yet.
  const closed = new Promise<Outcome<void>>((resolve) => db.once('leader', () => { resolve(settle(db.close())) }))
  assert.deepEqual(await within(closed, WAIT_MS, 'close()'), { ok: true, value: undefined })
  const outcome = await within(put, WAIT_MS, 'the put')
  assert.equal(db.status, 'closed')
  await assertUnlocked(dbs.location)
  await assertOutcomesAreTrueFresh(dbs, [{ key: 'abc', value: 'xyz', outcome }])
})

test('close() just after the leader event, a put pending: both settle and the put\'s outcome is true', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  const put = settle(db.put('abc', 'xyz'))
  await leads(db)
  await within(db.close(), WAIT_MS, 'close()')
  const outcome = await within(put, WAIT_MS, 'the put')
  await assertOutcomesAreTrueFresh(dbs, [{ key: 'abc', value: 'xyz', outcome }])
})

test('close() right after construction, a put pending: both settle and the put\'s outcome is true', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  const put = settle(db.put('abc', 'xyz'))
  await within(db.close(), WAIT_MS, 'close()')
  const outcome = await within(put, WAIT_MS, 'the put')
  assert.equal(db.status, 'closed')
  await assertUnlocked(dbs.location)
  await assertOutcomesAreTrueFresh(dbs, [{ key: 'abc', value: 'xyz', outcome }])
})

/** Issues `count` puts on `db` and closes it at once; returns each put's outcome. */
async function closeWithPendingPuts (db: QuorumLevel, prefix: string, count: number): Promise<Array<Write<string>>> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`)
  const puts = keys.map((key) => settle(db.put(key, `value of ${key}`)))
  await within(db.close(), WAIT_MS, 'close()')
  const outcomes = await within(Promise.all(puts), WAIT_MS, 'the puts')
  return keys.map((key, i) => ({ key, value: `value of ${key}`, outcome: outcomes[i] as Outcome<unknown> }))
}

test('the leader closes with 50 of its own puts pending: each outcome is true', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await within(leader.open(), WAIT_MS, 'open')
  await assertOutcomesAreTrueFresh(dbs, await closeWithPendingPuts(leader, 'leader-', 50))
})

test('a guest closes with 50 puts pending: each outcome is true', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await leads(leader)
  const guest = dbs.make()
  await within(guest.open(), WAIT_MS, 'guest open')
  assert.equal(guest.isLeader, false)
  await assertOutcomesAreTrue(leader, await closeWithPendingPuts(guest, 'guest-', 50))
})

test('a guest closes with a read and an iterator pending: both settle', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await within(leader.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put', key: `k${i}`, value: 'v' }))), WAIT_MS, 'batch')
  const guest = dbs.make()
  await within(guest.open(), WAIT_MS, 'guest open')
  const get = settle(guest.get('k1'))
  const iterator = guest.iterator()
  const next = settle(iterator.next())
  await within(guest.close(), WAIT_MS, 'close()')
  const outcomes: Array<[string, Outcome<unknown>]> = [['get', await within(get, WAIT_MS, 'the get')], ['next', await within(next, WAIT_MS, 'the iterator')]]
  for (const [what, outcome] of outcomes) {
    if (!outcome.ok) assert.match(outcome.code ?? '', /^LEVEL_/, `the ${what} failed with a LEVEL_* code (${outcome.message})`)
  }
})

test('close() while open() is in progress: close resolves, the open settles, the lock is free', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  const opening = settle(db.open())
  const closing = settle(db.close())
  assert.deepEqual(await within(closing, WAIT_MS, 'close()'), { ok: true, value: undefined })
  // As classic-level does: the open lands, then the close; open() reports that it was undone.
  assert.equal((await within(opening, WAIT_MS, 'open()')).ok ? 'opened' : 'LEVEL_DATABASE_NOT_OPEN', 'LEVEL_DATABASE_NOT_OPEN')
  assert.equal(db.status, 'closed')
  assert.equal(db.isLeader, false)
  await assertUnlocked(dbs.location)
})

test('a guest\'s close() while its open() is in progress: close resolves, the leader serves on', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await leads(leader)
  const guest = dbs.make()
  const opening = settle(guest.open())
  await within(guest.close(), WAIT_MS, 'close()')
  await within(opening, WAIT_MS, 'open()')
  assert.equal(guest.status, 'closed')
  await within(leader.put('after', 'yes'), WAIT_MS, 'leader put')
  assert.equal(await within(leader.get('after'), WAIT_MS, 'leader get'), 'yes')
})

test('close() then open() without awaiting: the open wins, as with classic-level, and the instance works', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  await within(db.put('before', '1'), WAIT_MS, 'put')
  const closing = settle(db.close())
  const opening = settle(db.open())
  // As classic-level does: the close lands, then the open; close() reports that it was undone.
  const closed = await within(closing, WAIT_MS, 'close()')
  assert.equal(closed.ok ? 'closed' : closed.code, 'LEVEL_DATABASE_NOT_CLOSED')
  assert.deepEqual(await within(opening, WAIT_MS, 'open()'), { ok: true, value: undefined })
  assert.equal(db.status, 'open')
  assert.equal(db.isLeader, true, 'alone on its directory, it leads again')
  await within(db.put('after', '2'), WAIT_MS, 'put after reopening')
  assert.deepEqual(await within(db.iterator().all(), WAIT_MS, 'iterator'), [['after', '2'], ['before', '1']])
})

test('open() then close() without awaiting, from closed: both settle and the lock is free', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  await within(db.open(), WAIT_MS, 'first open')
  await within(db.close(), WAIT_MS, 'first close')
  const opening = settle(db.open())
  const closing = settle(db.close())
  assert.deepEqual(await within(closing, WAIT_MS, 'close()'), { ok: true, value: undefined })
  // As classic-level does: the open lands, then the close; open() reports that it was undone.
  assert.equal((await within(opening, WAIT_MS, 'open()')).ok ? 'opened' : 'LEVEL_DATABASE_NOT_OPEN', 'LEVEL_DATABASE_NOT_OPEN')
  assert.equal(db.status, 'closed')
  await assertUnlocked(dbs.location)
})

test('a leader reopens after close(): it leads again and reads what it wrote', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make()
  await leads(db)
  await within(db.put('a', '1'), WAIT_MS, 'put')
  await within(db.close(), WAIT_MS, 'close()')
  const again = leads(db)
  await within(db.open(), WAIT_MS, 'open()')
  await again
  assert.equal(db.isLeader, true)
  assert.equal(await within(db.get('a'), WAIT_MS, 'get'), '1')
  await within(db.put('b', '2'), WAIT_MS, 'put after reopening')
  assert.equal(await within(db.get('b'), WAIT_MS, 'get after reopening'), '2')
})

test('a guest reopens after close(): it is a guest again, and its writes reach the leader', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await leads(leader)
  const guest = dbs.make()
  await within(guest.put('g1', '1'), WAIT_MS, 'guest put')
  await within(guest.close(), WAIT_MS, 'close()')
  await within(guest.open(), WAIT_MS, 'open()')
  assert.equal(guest.isLeader, false)
  assert.equal(await within(guest.get('g1'), WAIT_MS, 'guest get'), '1')
  await within(guest.put('g2', '2'), WAIT_MS, 'guest put after reopening')
  assert.equal(await within(leader.get('g2'), WAIT_MS, 'leader get'), '2')
})

test('a leader that closed reopens as the guest of the instance that took over', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const first = dbs.make()
  await leads(first)
  const second = dbs.make()
  await within(second.open(), WAIT_MS, 'second open')
  const takeover = leads(second)
  await within(first.close(), WAIT_MS, 'close()')
  await takeover
  await within(first.open(), WAIT_MS, 'reopen')
  assert.equal(first.isLeader, false)
  await within(first.put('from-first', '1'), WAIT_MS, 'put')
  assert.equal(await within(second.get('from-first'), WAIT_MS, 'get'), '1')
})
