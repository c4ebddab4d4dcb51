/**
 * Goal: many processes on one host share one database through a local leader, and losing the
 * leader loses nothing. Method: real forked processes opening QuorumLevel on one temporary
 * directory; leaders are closed or killed with SIGKILL while others write; what the database
 * acknowledged is then read back from a fresh process.
 */
import assert from 'node:assert/strict'
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { eventually, tempDir } from '../helpers/hosts.js'
import { Member } from './member.js'

async function withMembers (run: (spawn: () => Member, location: string) => Promise<void>): Promise<void> {
  const location = join(await tempDir(), 'db')
  const members: Member[] = []
  try {
    await run(() => {
      const member = new Member()
      members.push(member)
      return member
    }, location)
  } finally {
    for (const member of members) member.kill()
    await Promise.all(members.map((member) => member.exited()))
    await rm(join(location, '..'), { recursive: true, force: true })
  }
}

async function readAll (spawn: () => Member, location: string): Promise<string[]> {
  const reader = spawn()
  await reader.open(location)
  reader.send({ type: 'keys', reverse: false, pauseMs: 0 })
  const { keys } = await reader.waitFor('keys')
  await reader.close()
  return keys
}

test('10 processes each write a key; all are readable from a fresh instance', { timeout: 60_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const members = Array.from({ length: 10 }, spawn)
    const leaders = await Promise.all(members.map((member) => member.open(location)))
    assert.equal(leaders.filter(Boolean).length, 1, 'exactly one leader')
    members.forEach((member, i) => { member.send({ type: 'put', key: `key-${i}`, value: i }) })
    await Promise.all(members.map((member) => member.waitFor('acked')))
    for (const member of members) await member.close()
    assert.deepEqual(await readAll(spawn, location), Array.from({ length: 10 }, (_, i) => `key-${i}`))
  })
})

test('the leader closes while another instance has 100 writes pending; all land', { timeout: 60_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const leader = spawn()
    assert.equal(await leader.open(location), true)
    const guest = spawn()
    assert.equal(await guest.open(location), false)
    guest.send({ type: 'put-many', prefix: 'pending-', count: 100 })
    await leader.close()
    await guest.waitFor('leader')
    for (let i = 0; i < 100; i++) await guest.waitFor('acked', 15_000, (reply) => reply.key === `pending-${String(i).padStart(4, '0')}`)
    assert.equal(guest.count('write-failed'), 0)
    await guest.close()
    assert.equal((await readAll(spawn, location)).length, 100)
  })
})

test('election party: 6 instances closed one by one, each write readable from another', { timeout: 90_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const members = Array.from({ length: 6 }, spawn)
    for (const member of members) await member.open(location)
    for (let i = 0; i < members.length - 1; i++) {
      const member = members[i] as Member
      member.send({ type: 'put', key: `party-${i}`, value: i })
      await member.waitFor('acked')
      await member.close()
      const next = members[i + 1] as Member
      next.send({ type: 'get', key: `party-${i}` })
      assert.equal((await next.waitFor('value', 15_000, (reply) => reply.key === `party-${i}`)).value, i)
    }
    assert.ok(members.slice(1).some((member) => member.count('leader') > 0), 'leadership moved on')
  })
})

test('the leader is killed with SIGKILL while guests write: no acknowledged write is lost', { timeout: 90_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const leader = spawn()
    assert.equal(await leader.open(location), true)
    const guests = [spawn(), spawn()]
    for (const guest of guests) await guest.open(location)
    guests.forEach((guest, i) => { guest.send({ type: 'put-many', prefix: `g${i}-`, count: 200 }) })
    await guests[0]?.waitFor('acked')
    leader.kill()
    await leader.exited()
    // Polled, not raced: the losing waitFor's timer would hold this file's process for 30 s.
    await eventually(() => guests.some((guest) => guest.count('leader') > 0), 30_000, 'a guest leads')
    for (const guest of guests) {
      await guest.waitFor('acked', 30_000, (reply) => reply.key.endsWith('0199'))
    }
    const acked = guests.flatMap((guest) => guest.replies.flatMap((reply) => reply.type === 'acked' ? [reply.key] : []))
    for (const guest of guests) await guest.close()
    const stored = new Set(await readAll(spawn, location))
    for (const key of acked) assert.ok(stored.has(key), `acknowledged ${key} survived`)
    assert.equal(acked.length, 400)
  })
})

test('with retry: false, a write pending when the leader dies fails with LEVEL_CONNECTION_LOST', { timeout: 60_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const leader = spawn()
    await leader.open(location)
    const guest = spawn()
    await guest.open(location, { retry: false })
    guest.send({ type: 'put-many', prefix: 'doomed-', count: 200 })
    leader.kill()
    const failed = await guest.waitFor('write-failed', 30_000)
    assert.equal(failed.code, 'LEVEL_CONNECTION_LOST')
  })
})

test('a lock held by something that serves no socket fails open with LEVEL_LOCKED after lockWait', { timeout: 30_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const squatter = new ClassicLevel(location)
    await squatter.open()
    try {
      const member = spawn()
      member.send({ type: 'open', location, options: { lockWait: 500 } })
      const failed = await member.waitFor('open-failed')
      // As classic-level reports its own lock: the open error, with the reason as its cause.
      assert.equal(failed.code, 'LEVEL_DATABASE_NOT_OPEN')
      assert.equal(failed.cause, 'LEVEL_LOCKED')
    } finally {
      await squatter.close()
    }
  })
})

test('a data directory whose path is longer than a unix socket path still works', { timeout: 30_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const deep = join(location, 'x'.repeat(60), 'y'.repeat(60))
    const [a, b] = [spawn(), spawn()]
    assert.equal(await a.open(deep), true)
    assert.equal(await b.open(deep), false)
    b.send({ type: 'put', key: 'far', value: 'away' })
    await b.waitFor('acked')
    a.send({ type: 'get', key: 'far' })
    assert.equal((await a.waitFor('value')).value, 'away')
  })
})

for (const reverse of [false, true]) {
  test(`a ${reverse ? 'reverse' : 'forward'} iterator across failover yields every key exactly once`, { timeout: 60_000 }, async () => {
    await withMembers(async (spawn, location) => {
      const leader = spawn()
      await leader.open(location)
      leader.send({ type: 'put-many', prefix: 'it-', count: 300 })
      await leader.waitFor('acked', 15_000, (reply) => reply.key === 'it-0299')
      // Keys that extend others: many-level's reverse resume skipped them.
      for (const key of ['it-0150a', 'it-0150az', 'it-0151\u0000']) {
        leader.send({ type: 'put', key, value: 0 })
        await leader.waitFor('acked', 15_000, (reply) => reply.key === key)
      }
      const reader = spawn()
      await reader.open(location)
      reader.send({ type: 'keys', reverse, pauseMs: 300 })
      await new Promise((resolve) => setTimeout(resolve, 100))
      leader.kill()
      const { keys } = await reader.waitFor('keys', 30_000)
      const expected = [...Array.from({ length: 300 }, (_, i) => `it-${String(i).padStart(4, '0')}`), 'it-0150a', 'it-0150az', 'it-0151\u0000'].sort()
      assert.deepEqual(keys, reverse ? expected.reverse() : expected)
    })
  })
}

test('the leader socket is readable and writable by its owner only', { timeout: 30_000 }, async () => {
  await withMembers(async (spawn, location) => {
    const leader = spawn()
    assert.equal(await leader.open(location), true)
    const { mode } = await stat(join(location, 'quorum-level-leader.sock'))
    assert.equal(mode & 0o777, 0o600)
  })
})
