/**
 * Goal: when the local leader closes, another instance takes over without losing or failing
 * an operation that was waiting on it (rave-level's election tests). Method: QuorumLevel
 * instances in this process, and forked processes, on one temporary directory; the leader is
 * closed while others have writes and reads in flight, and every outcome is checked against
 * the database.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WAIT_MS, instances, leads, settle, within } from './instances.js'
import { Member } from './member.js'

const COUNT = 100
const keys = Array.from({ length: COUNT }, (_, i) => String(i).padStart(3, '0'))
const values = keys.map((_, i) => String(i))

/** Every outcome that is not a success, as `key: code`, for one readable assertion. */
function failures (outcomes: Array<{ ok: boolean, code?: string | undefined }>): string[] {
  return outcomes.flatMap((outcome, i) => outcome.ok ? [] : [`${keys[i] ?? i}: ${outcome.code ?? '?'}`])
}

test('basic failover: 100 puts issued on a new instance as the leader closes all land', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make()
  await leads(db1)
  const db2 = dbs.make()
  // Not awaited: db2 is still opening, racing db1's close for the lock.
  const puts = keys.map((key, i) => settle(db2.put(key, values[i] as string)))
  const takeover = leads(db2)
  await within(db1.close(), WAIT_MS, 'db1.close')
  await takeover
  assert.deepEqual(failures(await within(Promise.all(puts), WAIT_MS, 'the puts')), [])
  assert.equal(db2.isLeader, true)
  assert.deepEqual(await within(db2.values().all(), WAIT_MS, 'db2.values'), values)
})

test('basic failover, guest already connected: its 100 pending puts all land when the leader closes', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db1 = dbs.make()
  await leads(db1)
  const db2 = dbs.make()
  await within(db2.open(), WAIT_MS, 'db2.open')
  assert.equal(db2.isLeader, false)
  const puts = keys.map((key, i) => settle(db2.put(key, values[i] as string)))
  const takeover = leads(db2)
  await within(db1.close(), WAIT_MS, 'db1.close')
  await takeover
  assert.deepEqual(failures(await within(Promise.all(puts), WAIT_MS, 'the puts')), [])
  assert.deepEqual(await within(db2.values().all(), WAIT_MS, 'db2.values'), values)
})

test('basic failover across processes: 100 puts sent to a process still opening as the leader process closes all land', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const [leader, guest] = [new Member(), new Member()]
  dbs.track(async () => {
    for (const member of [leader, guest]) member.kill()
    await Promise.all([leader.exited(), guest.exited()])
  })
  assert.equal(await leader.open(dbs.location), true)
  // Not awaited: the puts queue behind the guest's open, which races the leader's close.
  guest.send({ type: 'open', location: dbs.location, options: {} })
  guest.send({ type: 'put-many', prefix: 'p', count: COUNT })
  await leader.close()
  await guest.waitFor('leader', WAIT_MS)
  for (let i = 0; i < COUNT; i++) {
    const key = `p${String(i).padStart(4, '0')}`
    await guest.waitFor('acked', WAIT_MS, (reply) => reply.key === key).catch(() => {
      const failed = guest.replies.flatMap((reply) => reply.type === 'write-failed' ? [`${reply.key}: ${reply.code ?? '?'}`] : [])
      assert.fail(`${key} was not acknowledged; failed writes: ${failed.join(', ') || 'none'}`)
    })
  }
  assert.equal(guest.count('write-failed'), 0)
  await guest.close()
  const reader = dbs.make<string, unknown>({ valueEncoding: 'json' })
  assert.deepEqual(await within(reader.values().all(), WAIT_MS, 'reading back'), Array.from({ length: COUNT }, (_, i) => i))
})

test('failover election party: 6 instances closed one by one, each round of writes read by a neighbour', { timeout: 60_000 }, async (t) => {
  const dbs = await instances(t)
  const names = ['a', 'b', 'c', 'd', 'e', 'f']
  const databases = new Map(names.map((name) => [name, dbs.make<string, unknown>({ valueEncoding: 'json' })]))
  await within(Promise.all([...databases.values()].map((db) => db.open())), WAIT_MS, 'opening all six')
  const alive = [...names]
  const closes: Array<Promise<void>> = []
  const last = new Map<string, unknown>()
  for (let round = 0; alive.length > 0; round++) {
    // Each survivor writes its own key; the next survivor reads it once the write resolved.
    await within(Promise.all(alive.map(async (name, i) => {
      const writer = databases.get(name)
      const reader = databases.get(alive[(i + 1) % alive.length] as string)
      assert.ok(writer !== undefined && reader !== undefined)
      const value = { round, name, random: Math.random() }
      await writer.put(name, value)
      last.set(name, value)
      assert.deepEqual(await reader.get(name), value, `round ${round}: ${name}'s write read by its neighbour`)
    })), WAIT_MS, `round ${round}`)
    // As rave-level's test does, the next round runs while this instance is still closing.
    closes.push((databases.get(alive.shift() as string) ?? assert.fail()).close())
  }
  await within(Promise.all(closes), WAIT_MS, 'the closes')

  const reader = dbs.make<string, unknown>({ valueEncoding: 'json' })
  assert.deepEqual(await within(reader.iterator().all(), WAIT_MS, 'reading back'), names.map((name) => [name, last.get(name)]))
})
