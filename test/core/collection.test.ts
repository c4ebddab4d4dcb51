/**
 * Goal: the rules that keep tombstone collection safe hold in the scripted cases the
 * simulator reaches only by chance (SPEC §6.5). Method: scripted clusters of the real core
 * over the simulator's disks; each test goes red without its rule (the mutations named).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Mutation } from '../../src/core/index.js'
import { ScriptedCluster, del, put, valueOn } from '../helpers/scripted-cluster.js'

/**
 * b's disk goes back to a copy taken before a's writes, and its wall clock is far behind, so
 * it restarts with a clock below the horizon a collected through. It finishes recovering
 * before a's entries reach it (they are held back), and with minConsensus 0 commits alone:
 * only the peers' clocks, taken while it recovers, keep its write above that horizon.
 */
function restoredHostWrites (mutation?: Mutation): ScriptedCluster {
  const cluster = new ScriptedCluster(['a', 'b'], { minConsensus: 0, collectIntervalMs: 20, ...(mutation === undefined ? {} : { mutation }) })
  const copy = cluster.disk('b').copy(0)
  cluster.advance(1_000)
  cluster.write('a', [put('x', '1')])
  cluster.write('a', [del('x')])
  cluster.advance(200)
  assert.ok(cluster.node('a').inspect().horizon >= 1_000, `a collected through ${cluster.node('a').inspect().horizon}`)
  assert.equal(cluster.disk('a').data.has('x'), false, 'the tombstone is collected')
  let holding = true
  cluster.cut(({ to, message }) => holding && to === 'b' && (message.type === 'entries' || message.type === 'snapshot'))
  cluster.crash('b')
  cluster.disk('b').restore(copy)
  cluster.stepClock('b', -10_000)
  cluster.restart('b', false)
  cluster.advance(100)
  assert.equal(cluster.node('b').inspect().recovery, null)
  cluster.write('b', [put('y', 'new')])
  cluster.advance(100)
  holding = false
  cluster.advance(200)
  return cluster
}

test('a host back from an older disk takes its peers\' clock while it recovers, so its writes land above their horizon', () => {
  const cluster = restoredHostWrites()
  assert.equal(valueOn(cluster, 'b', 'y'), 'new')
  assert.equal(valueOn(cluster, 'a', 'y'), 'new', 'a applies it: its ts is above the horizon')
})

test('without that clock, the write lands below the horizon and a drops it: the replicas differ', () => {
  const cluster = restoredHostWrites('recovery-keeps-clock')
  assert.equal(valueOn(cluster, 'b', 'y'), 'new')
  assert.equal(valueOn(cluster, 'a', 'y'), undefined)
})
