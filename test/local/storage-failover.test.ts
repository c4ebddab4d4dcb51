/**
 * Goal: a leader whose storage fails steps down, so that the host keeps serving (SPEC §12.1):
 * LevelDB refuses writes after an I/O error until it is reopened. Method: two QuorumLevel
 * processes on one directory; every LevelDB batch in the leader's process fails from now on.
 * A write from the other process must land, through whichever process leads next, and so
 * must the former leader's own write, made directly on its database as storage failed.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { tempDir } from '../helpers/hosts.js'
import { Member } from './member.js'

test('a leader whose storage fails steps down; its own write and a guest\'s land through the next leader', { timeout: 60_000 }, async () => {
  const location = await tempDir()
  const leader = new Member()
  const guest = new Member()
  try {
    assert.equal(await leader.open(location), true)
    assert.equal(await guest.open(location), false)
    leader.send({ type: 'fail-storage', ms: 120_000 })
    leader.send({ type: 'put', key: 'own', value: 'also landed' })
    guest.send({ type: 'put', key: 'k', value: 'landed' })
    await guest.waitFor('acked', 30_000, (reply) => reply.key === 'k')
    await leader.waitFor('acked', 30_000, (reply) => reply.key === 'own')
    assert.equal(leader.count('write-failed'), 0)
    assert.ok(guest.count('leader') > 0, 'the process whose storage works leads now')
    const before = leader.replies.length
    leader.send({ type: 'get', key: 'k' })
    const reply = await leader.waitFor('value', 10_000, (value) => value.key === 'k' && leader.replies.indexOf(value) >= before)
    assert.equal(reply.value, 'landed', 'the former leader reads it as a guest')
    const since = guest.replies.length
    guest.send({ type: 'get', key: 'own' })
    assert.equal((await guest.waitFor('value', 10_000, (value) => value.key === 'own' && guest.replies.indexOf(value) >= since)).value, 'also landed')
  } finally {
    leader.kill()
    guest.kill()
    await Promise.all([leader.exited(), guest.exited()])
    await rm(location, { recursive: true, force: true })
  }
})
