/**
 * Goal: reads in flight on a guest survive its leader going away: a get is answered by the
 * next leader, and an iterator yields every key exactly once, in order, whatever its options
 * (many-level's retry tests, with a real failover where many-level cuts a stream). Method:
 * QuorumLevel instances in this process on a temporary directory, whose leader is closed
 * mid-read; and a forked guest stepping through an iterator while two instances in this
 * process hand leadership back and forth. The forked guest is stopped (SIGSTOP) during each
 * handover, so it cannot win the election itself: every change is served by another process.
 */
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import type { QuorumLevel } from '../../src/index.js'
import type { IteratorSpec, MemberReply } from './fixtures/member.js'
import { type Instances, WAIT_MS, instances, leads, settle, within } from './instances.js'
import { Member } from './member.js'

/**
 * Enough entries, with values large enough, that many-level's read-ahead (a first entry,
 * then at most two messages of about 16 KiB) cannot hold them all: most must come from the
 * leader that follows.
 */
const ENTRIES = 2_000
/**
 * The key of entry `i`, in sorted order: 00000, 00000x, 00001, 00001x, ... Every other key
 * extends the one before it, which a resume point computed by changing the last byte (as
 * many-level's reverse bookmark does: after 00001 it lands on 00000) would skip.
 */
const keyOf = (i: number): string => `${String(i >> 1).padStart(5, '0')}${i % 2 === 1 ? 'x' : ''}`
const valueOf = (i: number): string => `${'v'.repeat(100)}${i}`
/** Entries read before the leader goes: more than the first message, so that some are buffered. */
const READ_BEFORE_CUT = 10

/** A forked process, killed when the test ends, opened on the test's directory as leader or guest. */
async function memberOpening (dbs: Instances, leader: boolean): Promise<Member> {
  const member = new Member()
  dbs.track(async () => {
    member.kill()
    await member.exited()
  })
  assert.equal(await member.open(dbs.location), leader)
  return member
}

async function fill<V> (db: QuorumLevel<string, V>, value: (i: number) => V): Promise<void> {
  for (let start = 0; start < ENTRIES; start += 500) {
    const ops = Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, key: keyOf(start + j), value: value(start + j) }))
    await within(db.batch(ops), WAIT_MS, 'filling the database')
  }
}

/** `[first, ..., last]` (or reversed): the indexes an iterator over them must yield. */
function range (first: number, last: number, reverse: boolean): number[] {
  const indexes = Array.from({ length: last - first + 1 }, (_, i) => first + i)
  return reverse ? indexes.reverse() : indexes
}

test('gets issued on a guest just before the leader closes are all answered', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = dbs.make()
  await leads(leader)
  await within(leader.put('k', 'v'), WAIT_MS, 'put')
  const guest = dbs.make()
  await within(guest.open(), WAIT_MS, 'guest open')
  const gets = Array.from({ length: 100 }, (_, i) => settle(guest.get(i % 2 === 0 ? 'k' : 'missing')))
  const takeover = leads(guest)
  await within(leader.close(), WAIT_MS, 'leader close')
  await takeover
  const outcomes = await within(Promise.all(gets), WAIT_MS, 'the gets')
  assert.deepEqual(outcomes.map((outcome) => outcome.ok ? outcome.value : outcome.code), gets.map((_, i) => i % 2 === 0 ? 'v' : 'LEVEL_NOT_FOUND'))
})

test('a guest\'s get the leader never answered is answered by the next leader', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = await memberOpening(dbs, true)
  leader.send({ type: 'put', key: 'k', value: 'v' })
  await leader.waitFor('acked')
  const guest = dbs.make<string, unknown>({ valueEncoding: 'json' })
  await within(guest.open(), WAIT_MS, 'guest open')
  // A stopped leader reads nothing: the get waits on it until it is killed.
  leader.pause()
  const got = settle(guest.get('k'))
  leader.kill()
  await within(leader.exited(), WAIT_MS, 'the leader\'s exit')
  assert.deepEqual(await within(got, WAIT_MS, 'the get'), { ok: true, value: 'v' })
  assert.equal(guest.isLeader, true)
})

test('with retry: false, a guest\'s get the leader never answered fails with LEVEL_CONNECTION_LOST', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const leader = await memberOpening(dbs, true)
  const guest = dbs.make({ retry: false })
  await within(guest.open(), WAIT_MS, 'guest open')
  leader.pause()
  const got = settle(guest.get('k'))
  leader.kill()
  const outcome = await within(got, WAIT_MS, 'the get')
  assert.equal(outcome.ok ? 'answered' : outcome.code, 'LEVEL_CONNECTION_LOST')
})

/** A leader in this process, with a guest that iterates; `cut` closes the leader. */
async function leaderAndGuest<V> (t: TestContext, valueEncoding: 'utf8' | 'json', value: (i: number) => V): Promise<{ guest: QuorumLevel<string, V>, cut: () => Promise<void> }> {
  const dbs = await instances(t)
  const leader = dbs.make<string, V>({ valueEncoding })
  await leads(leader)
  await fill(leader, value)
  const guest = dbs.make<string, V>({ valueEncoding })
  await within(guest.open(), WAIT_MS, 'guest open')
  assert.equal(guest.isLeader, false)
  return {
    guest,
    cut: async () => {
      const takeover = leads(guest)
      await within(leader.close(), WAIT_MS, 'leader close')
      await takeover
    }
  }
}

for (const reverse of [false, true]) {
  test(`a guest's iterator with gte survives the leader closing mid-iteration (reverse: ${reverse})`, { timeout: 30_000 }, async (t) => {
    const { guest, cut } = await leaderAndGuest(t, 'utf8', valueOf)
    const iterator = guest.iterator({ gte: keyOf(1), reverse })
    const entries: Array<[string, string]> = []
    try {
      for (let i = 0; i < READ_BEFORE_CUT; i++) entries.push(await within(iterator.next(), WAIT_MS, 'first entries') ?? ['end', ''])
      await cut()
      for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) entries.push(entry)
    } finally {
      await iterator.close()
    }
    assert.deepEqual(entries, range(1, ENTRIES - 1, reverse).map((i) => [keyOf(i), valueOf(i)]))
  })
}

test('a guest\'s values-only iterator survives the leader closing mid-iteration', { timeout: 30_000 }, async (t) => {
  const { guest, cut } = await leaderAndGuest(t, 'json', (i) => ({ i }))
  const iterator = guest.values()
  const values: unknown[] = []
  try {
    for (let i = 0; i < READ_BEFORE_CUT; i++) values.push(await within(iterator.next(), WAIT_MS, 'first values'))
    await cut()
    for (let value = await iterator.next(); value !== undefined; value = await iterator.next()) values.push(value)
  } finally {
    await iterator.close()
  }
  assert.deepEqual(values, range(0, ENTRIES - 1, false).map((i) => ({ i })))
})

for (const reverse of [false, true]) {
  test(`a guest's iterator with a limit yields exactly its limit across the leader closing (reverse: ${reverse})`, { timeout: 30_000 }, async (t) => {
    const { guest, cut } = await leaderAndGuest(t, 'utf8', valueOf)
    const limit = ENTRIES / 2
    const iterator = guest.keys({ limit, reverse })
    const keys: string[] = []
    try {
      for (let i = 0; i < READ_BEFORE_CUT; i++) keys.push(await within(iterator.next(), WAIT_MS, 'first keys') ?? 'end')
      await cut()
      for (let key = await iterator.next(); key !== undefined; key = await iterator.next()) keys.push(key)
    } finally {
      await iterator.close()
    }
    assert.deepEqual(keys, (reverse ? range(ENTRIES - limit, ENTRIES - 1, true) : range(0, limit - 1, false)).map(keyOf))
  })
}

test('for await over a guest\'s iterator, the leader closing inside the loop', { timeout: 30_000 }, async (t) => {
  const { guest, cut } = await leaderAndGuest(t, 'utf8', valueOf)
  const entries: Array<[string, string]> = []
  for await (const [key, value] of guest.iterator()) {
    entries.push([key, value])
    if (entries.length === READ_BEFORE_CUT) await cut()
  }
  assert.deepEqual(entries, range(0, ENTRIES - 1, false).map((i) => [keyOf(i), valueOf(i)]))
})

test('without any failover, a seek() back to keys already yielded yields them again', { timeout: 30_000 }, async (t) => {
  // The baseline of the revisiting tests below: abstract-level's seek() contract on its own.
  const dbs = await instances(t)
  const db = dbs.make()
  await within(db.batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put', key: String(i), value: String(i) }))), WAIT_MS, 'batch')
  for (const reverse of [false, true]) {
    const iterator = db.keys({ reverse })
    const seen: string[] = []
    try {
      for (let key = await iterator.next(); key !== undefined; key = await iterator.next()) {
        seen.push(key)
        if (seen.length === 3) iterator.seek(reverse ? '9' : '0')
      }
    } finally {
      await iterator.close()
    }
    assert.deepEqual(seen, reverse ? ['9', '8', '7', ...'9876543210'] : ['0', '1', '2', ...'0123456789'], `reverse: ${reverse}`)
  }
})

/**
 * A forked guest, and two instances here that lead by turns. `handover` moves leadership
 * from one to the other (the old leader then reopens as a guest) while the forked guest is
 * stopped, so that when it resumes it finds its leader gone and a new one serving.
 */
interface Handovers {
  readonly guest: Member
  /** Whichever of the two instances here leads now. */
  readonly leader: () => QuorumLevel<string, unknown>
  readonly handover: () => Promise<void>
  /** Opens an iterator on the guest and reads it to the end one item at a time, calling `before` before each. */
  readonly step: (spec: IteratorSpec, before?: () => Promise<void>) => Promise<Array<{ key?: string, value?: unknown }>>
}

async function handovers (t: TestContext): Promise<Handovers> {
  const dbs = await instances(t)
  const a = dbs.make<string, unknown>({ valueEncoding: 'json' })
  await leads(a)
  const b = dbs.make<string, unknown>({ valueEncoding: 'json' })
  await within(b.open(), WAIT_MS, 'b open')
  const guest = await memberOpening(dbs, false)
  const leader = (): QuorumLevel<string, unknown> => a.isLeader ? a : b
  const handover = async (): Promise<void> => {
    const [current, next] = a.isLeader ? [a, b] : [b, a]
    const since = guest.replies.length
    guest.pause()
    try {
      const takeover = leads(next)
      await within(current.close(), WAIT_MS, 'leader close')
      await takeover
      await within(current.open(), WAIT_MS, 'former leader reopens')
      assert.equal(current.isLeader, false)
    } finally {
      guest.resume()
    }
    // SPEC §12.3: a guest that connects to a leader gets its readiness first. Once it has, the
    // guest has resent what it had pending to the new leader: the change was not skipped.
    await guest.waitFor('cluster', WAIT_MS, (reply) => reply.event === 'ready' && guest.replies.indexOf(reply) >= since)
  }
  let ids = 0
  const step = async (spec: IteratorSpec, before: () => Promise<void> = async () => {}): Promise<Array<{ key?: string, value?: unknown }>> => {
    const id = ++ids
    guest.send({ type: 'iterator', id, spec })
    const items: Array<{ key?: string, value?: unknown }> = []
    for (let reply: Extract<MemberReply, { type: 'entries' }> | undefined; reply?.done !== true;) {
      await before()
      reply = await guest.request({ type: 'next', id, count: 1 }, 'entries', (entries) => entries.id === id)
      assert.equal(reply.code, undefined, `the iterator failed after ${items.length} items`)
      items.push(...reply.entries)
      assert.ok(items.length <= 1_000, 'the iterator does not loop')
    }
    await guest.request({ type: 'iterator-close', id }, 'iterator-closed', (closed) => closed.id === id)
    return items
  }
  return { guest, leader, handover, step }
}

/**
 * Keys with edge bytes: empty, 0x00 and 0xFF, and keys that extend others ([0, 255] after
 * [0], anything starting with [1] before [2]), which a resume point computed from the last
 * byte would skip or repeat.
 */
const EDGE_KEYS = [[], [0], [0, 255], [1], [1, 0], [1, 0, 0], [1, 0, 254], [1, 0, 255], [1, 1, 0], [2], [255], [255, 0], [255, 255], [255, 255, 255]]
  .map((bytes) => Buffer.from(bytes))

for (const reverse of [false, true]) {
  test(`a forked guest's iterator over buffer keys with edge bytes, the leader changing before every next() (reverse: ${reverse})`, { timeout: 60_000 }, async (t) => {
    const { guest, leader, handover, step } = await handovers(t)
    await within(leader().batch(EDGE_KEYS.map((key, i) => ({ type: 'put', key, value: i })), { keyEncoding: 'buffer' }), WAIT_MS, 'batch')
    const keys = await step({ kind: 'keys', hex: true, reverse }, handover)
    const expected = EDGE_KEYS.map((key) => key.toString('hex'))
    assert.deepEqual(keys.map((item) => item.key), reverse ? expected.reverse() : expected)
    assert.equal(guest.count('leader'), 0, 'the guest never led: every change was served by another process')
  })
}

for (const reverse of [false, true]) {
  test(`a forked guest's iterator with a seek() that skips keys, the leader changing after each seek (reverse: ${reverse})`, { timeout: 60_000 }, async (t) => {
    const { guest, leader, handover } = await handovers(t)
    await within(leader().batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put', key: String(i).padStart(2, '0'), value: i }))), WAIT_MS, 'batch')
    guest.send({ type: 'iterator', id: 1, spec: { kind: 'keys', reverse } })
    const seen: number[] = []
    for (;;) {
      const reply = await guest.request({ type: 'next', id: 1, count: 1 }, 'entries', (entries) => entries.id === 1)
      assert.equal(reply.code, undefined)
      if (reply.done) break
      const key = Number(reply.entries[0]?.key)
      seen.push(key)
      guest.send({ type: 'seek', id: 1, target: String(key + (reverse ? -2 : 2)).padStart(2, '0') })
      await handover()
      assert.ok(seen.length <= 10, 'the iterator does not loop')
    }
    assert.deepEqual(seen, reverse ? [9, 7, 5, 3, 1] : [0, 2, 4, 6, 8])
    assert.equal(guest.count('leader'), 0)
  })
}

for (const reverse of [false, true]) {
  test(`a forked guest's iterator with a seek() that revisits keys, the leader changing before every next() (reverse: ${reverse})`, { timeout: 60_000 }, async (t) => {
    const { guest, leader, handover } = await handovers(t)
    await within(leader().batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put', key: String(i), value: i }))), WAIT_MS, 'batch')
    guest.send({ type: 'iterator', id: 1, spec: { kind: 'keys', reverse } })
    const seen: number[] = []
    let revisited = false
    for (;;) {
      await handover()
      const reply = await guest.request({ type: 'next', id: 1, count: 1 }, 'entries', (entries) => entries.id === 1)
      assert.equal(reply.code, undefined)
      if (reply.done) break
      const key = Number(reply.entries[0]?.key)
      seen.push(key)
      if (!revisited && key === (reverse ? 5 : 4)) {
        revisited = true
        guest.send({ type: 'seek', id: 1, target: reverse ? '9' : '0' })
      }
      assert.ok(seen.length <= 20, 'the iterator does not loop')
    }
    assert.deepEqual(seen, reverse ? [9, 8, 7, 6, 5, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0] : [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.equal(guest.count('leader'), 0)
  })
}

for (const reverse of [false, true]) {
  test(`a forked guest's iterator while the leader changes twice yields every entry once, in order (reverse: ${reverse})`, { timeout: 60_000 }, async (t) => {
    const { guest, leader, handover } = await handovers(t)
    await fill(leader(), valueOf)
    guest.send({ type: 'iterator', id: 1, spec: { kind: 'entries', gte: keyOf(1), reverse } })
    const read = async (count: number): Promise<Extract<MemberReply, { type: 'entries' }>> => {
      const reply = await guest.request({ type: 'next', id: 1, count }, 'entries', (entries) => entries.id === 1)
      assert.equal(reply.code, undefined)
      return reply
    }
    const first = await read(READ_BEFORE_CUT)
    await handover()
    // Past whatever the guest had buffered from the first leader, into what the second serves.
    const second = await read(600)
    await handover()
    const rest = await read(ENTRIES)
    assert.equal(rest.done, true)
    const entries = [...first.entries, ...second.entries, ...rest.entries]
    assert.deepEqual(entries, range(1, ENTRIES - 1, reverse).map((i) => ({ key: keyOf(i), value: valueOf(i) })))
    assert.equal(guest.count('leader'), 0)
  })
}
