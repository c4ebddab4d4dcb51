/**
 * Goal: a write retried across a local failover resolves only once its quorum holds it, as
 * the first try would have, and is applied once (README "Guarantees", SPEC §4.7). Method: 3
 * hosts of QuorumLevel processes on 127.0.0.1, host A with a leader and a guest. A's messages
 * to its peers pass through proxies that drop its commits and its log entries, so the guest's
 * write commits at A while no peer holds it. Then A's leader is killed with SIGKILL: the guest
 * takes over and retries the write. It must stay unanswered while the peers cannot hold it,
 * and resolve once the proxies let A's messages through; A's log must hold it once.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { freePorts } from '../../src/cli/free-ports.js'
import { TAG, parseSequencedKey, tagRange } from '../../src/storage/keys.js'
import { decodeLogEntry } from '../../src/storage/records.js'
import { FilterProxy } from '../helpers/filter-proxy.js'
import { tempDir } from '../helpers/hosts.js'
import { Member } from './member.js'

const KEY = 'retried'
const PEER = { reconnectMsMin: 20, reconnectMsMax: 200, secret: 'retry-test' }

test('a guest\'s write retried after its leader died between commit and acks resolves only once peers hold it', { timeout: 120_000 }, async () => {
  const root = await tempDir()
  const [portA, portB, portC] = await freePorts(3) as [number, number, number]
  const toB = await FilterProxy.start(portB)
  const toC = await FilterProxy.start(portC)
  const locations = ['a', 'b', 'c'].map((name) => join(root, name)) as [string, string, string]
  const b = new Member()
  const c = new Member()
  const leader = new Member()
  const guest = new Member()
  const members = [b, c, leader, guest]
  try {
    await b.open(locations[1], { ...PEER, host: '127.0.0.1', port: portB, peers: [{ host: '127.0.0.1', port: portA }, { host: '127.0.0.1', port: portC }] })
    await c.open(locations[2], { ...PEER, host: '127.0.0.1', port: portC, peers: [{ host: '127.0.0.1', port: portA }, { host: '127.0.0.1', port: portB }] })
    // A reaches its peers through the proxies only.
    const viaProxies = { ...PEER, host: '127.0.0.1', port: portA, peers: [{ host: '127.0.0.1', port: toB.port }, { host: '127.0.0.1', port: toC.port }] }
    assert.equal(await leader.open(locations[0], viaProxies), true)
    assert.equal(await guest.open(locations[0], viaProxies), false)
    for (const member of members) await member.waitFor('cluster', 20_000, (reply) => reply.event === 'ready')

    for (const proxy of [toB, toC]) proxy.blocked = new Set(['commit', 'entries', 'snapshot'])
    guest.send({ type: 'put', key: KEY, value: 'once' })
    // Committed at A: its leader reads it. The peers voted, so they hold it prepared, no more.
    for (let attempt = 0; attempt < 200; attempt++) {
      const before = leader.replies.length
      leader.send({ type: 'get', key: KEY })
      const reply = await leader.waitFor('value', 10_000, (value) => value.key === KEY && leader.replies.indexOf(value) >= before)
      if (reply.value === 'once') break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(guest.count('acked'), 0, 'no peer acknowledged it, so the first try is unanswered')

    leader.kill()
    await guest.waitFor('leader', 20_000)
    // The guest leads now and has retried its write: with no peer able to hold it, it waits.
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    assert.equal(guest.count('acked') + guest.count('write-failed'), 0, 'the retried write waits for its quorum')

    for (const proxy of [toB, toC]) proxy.blocked = new Set()
    await guest.waitFor('acked', 30_000, (reply) => reply.key === KEY)
    for (const member of [b, c]) {
      const before = member.replies.length
      member.send({ type: 'get', key: KEY })
      const reply = await member.waitFor('value', 10_000, (value) => value.key === KEY && member.replies.indexOf(value) >= before)
      assert.equal(reply.value, 'once', 'every peer holds it when it resolves')
    }
  } finally {
    for (const member of members) member.kill()
    await Promise.all(members.map((member) => member.exited()))
    await toB.close()
    await toC.close()
  }
  try {
    // Applied once: A's own log holds one commit that writes the key.
    const db = new ClassicLevel<Uint8Array, Uint8Array>(locations[0], { keyEncoding: 'view', valueEncoding: 'view' })
    let commits = 0
    for await (const [key, value] of db.iterator(tagRange(TAG.log))) {
      const { origin, seq } = parseSequencedKey(key, TAG.log)
      const entry = decodeLogEntry(origin, seq, value)
      if (entry.kind === 'commit' && entry.ops.some((op) => op.key.endsWith(KEY))) commits++
    }
    await db.close()
    assert.equal(commits, 1, 'the retry committed nothing more')
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
