/**
 * Goal: the small pure helpers behave as SPEC §3 and §4.2 say. Method: versions are checked
 * as a total order against a sort of tuples; the lock table by direct cases.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LockTable } from '../../src/core/locks.js'
import { compareVersions, supersedes } from '../../src/core/version.js'
import { isMajority, resolveConfig } from '../../src/core/config.js'
import { Prng } from '../sim/prng.js'

test('versions are totally ordered by (ts, origin, seq)', () => {
  const random = new Prng(7)
  const versions = Array.from({ length: 200 }, () => ({ ts: random.int(1, 5), origin: random.pick(['a', 'b', 'c']), seq: random.int(1, 4) }))
  const naive = (x: typeof versions[number], y: typeof versions[number]): number =>
    x.ts - y.ts || (x.origin < y.origin ? -1 : x.origin > y.origin ? 1 : 0) || x.seq - y.seq
  for (const x of versions) {
    for (const y of versions) {
      assert.equal(Math.sign(compareVersions(x, y)), Math.sign(naive(x, y)))
      assert.equal(Math.sign(compareVersions(x, y)) + Math.sign(compareVersions(y, x)), 0)
    }
  }
})

test('a write supersedes older versions and its own transaction, not newer ones', () => {
  const older = { ts: 1, origin: 'b', seq: 9 }
  const newer = { ts: 2, origin: 'a', seq: 1 }
  assert.equal(supersedes(newer, older), true)
  assert.equal(supersedes(older, newer), false)
  assert.equal(supersedes(newer, { ...newer }), true)
  assert.equal(supersedes(older, undefined), true)
})

test('locks are all-or-nothing and never wait', () => {
  const locks = new LockTable()
  assert.equal(locks.tryAcquire('t1', ['a', 'b']), true)
  assert.equal(locks.tryAcquire('t2', ['b', 'c']), false)
  assert.equal(locks.size, 2, 'a failed attempt takes nothing')
  assert.equal(locks.tryAcquire('t1', ['a']), true, 'an owner may take its own key again')
  locks.release('t2', ['a'])
  assert.equal(locks.size, 2, 'only the owner releases')
  locks.release('t1', ['a', 'b'])
  assert.equal(locks.tryAcquire('t2', ['b', 'c']), true)
})

test('majority means any two quorums intersect', () => {
  for (let peers = 0; peers <= 8; peers++) {
    for (let minConsensus = 0; minConsensus <= peers; minConsensus++) {
      const quorum = minConsensus + 1
      assert.equal(isMajority(minConsensus, peers), quorum + quorum > peers + 1, `${minConsensus} of ${peers}`)
    }
  }
})

test('config defaults minConsensus to all peers and rejects impossible values', () => {
  const random = (): number => 0
  assert.equal(resolveConfig({ id: 'a', peers: ['b', 'c'], random }).minConsensus, 2)
  assert.throws(() => resolveConfig({ id: 'a', peers: ['b'], random, minConsensus: 2 }), RangeError)
  assert.throws(() => resolveConfig({ id: 'a', peers: ['a'], random }), RangeError)
  assert.throws(() => resolveConfig({ id: 'a', peers: ['b', 'b'], random }), RangeError)
})
