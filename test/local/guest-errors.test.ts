/**
 * Goal: a guest's failed write says what failed, not many-level's "Could not get value": only
 * the code crosses the local socket, and the message is rebuilt from it. Method: a leader
 * whose one peer is never served (so no write can be ready) and a guest in this process; the
 * guest's put must fail as the leader's own does, code and meaning.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { freePorts } from '../../src/cli/free-ports.js'
import { WAIT_MS, instances, leads, settle, within } from './instances.js'

test('a guest\'s write that the leader fails carries the failure\'s code and meaning', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const [port, unserved] = await freePorts(2) as [number, number]
  const options = { host: '127.0.0.1', port, peers: [{ host: '127.0.0.1', port: unserved }], minConsensus: 1, writeTimeout: 300 }
  const leader = dbs.make(options)
  await leads(leader)
  const guest = dbs.make(options)
  await within(guest.open(), WAIT_MS, 'guest open')
  assert.equal(guest.isLeader, false)
  const [own, theirs] = await within(Promise.all([settle(leader.put('a', '1')), settle(guest.put('b', '2'))]), WAIT_MS, 'the puts')
  assert.ok(own !== undefined && !own.ok && theirs !== undefined && !theirs.ok)
  assert.equal(own.code, 'LEVEL_NOT_READY')
  assert.equal(theirs.code, 'LEVEL_NOT_READY')
  assert.match(own.message, /^Write failed: fewer than minConsensus peers were connected; nothing was written$/)
  assert.match(theirs.message, /^Write failed: fewer than minConsensus peers were connected, or .*; nothing was written$/)
})
