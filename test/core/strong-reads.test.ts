/**
 * Goal: a strong read (SPEC §14) answers with the newest record among its host and enough
 * peers, only once no transaction a host knows of holds its keys; it refuses a minority
 * minConsensus, and a host that may have lost data answers nothing. Method: scripted
 * scenarios on the synchronous in-memory cluster.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReadResult } from '../../src/core/index.js'
import { ScriptedCluster, put } from '../helpers/scripted-cluster.js'

function values (result: ReadResult | undefined): Array<string | null> | string | undefined {
  if (result === undefined) return undefined
  if (!result.ok) return result.reason
  return result.records.map((record) => record?.value == null ? null : new TextDecoder().decode(record.value))
}

test('strong read: a host that holds a prepared transaction on the key waits for its decision, then answers with it', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1 })
  cluster.write('a', [put('x', 'old')])
  cluster.settle()
  // c votes for the next write, but never hears it decided: it holds x's lock.
  cluster.cut(({ from, to, message }) => from === 'a' && to === 'c' && message.type === 'commit')
  cluster.write('a', [put('x', 'new')])
  cluster.settle()
  assert.equal(cluster.node('c').inspect().locks, 1)
  const request = cluster.strongRead('c', ['x', 'nothing'])
  cluster.settle()
  assert.equal(cluster.readResults.get(request), undefined, 'it waits while c holds the lock')
  // c's termination sync (SPEC §5.3) learns the decision: the read answers.
  cluster.advance(100)
  assert.deepEqual(values(cluster.readResults.get(request)), ['new', null])
})

test('strong read: the newest record among the host and enough peers wins over the host\'s own stale one', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1 })
  cluster.write('a', [put('x', 'old')])
  cluster.settle()
  cluster.isolate('c')
  cluster.write('a', [put('x', 'new')])
  cluster.settle()
  cluster.cut(({ from, to, message }) => (from === 'a' || to === 'a') && (from === 'c' || to === 'c') && message.type !== 'read' && message.type !== 'read-answer')
  cluster.cut(({ from, to }) => (from === 'b' && to === 'c') || (from === 'c' && to === 'b'))
  cluster.rejoin('c')
  const request = cluster.strongRead('c', ['x'])
  cluster.settle()
  assert.deepEqual(values(cluster.readResults.get(request)), ['new'])
  const own = cluster.disk('c').data.get('x')?.value
  assert.equal(own == null ? own : new TextDecoder().decode(own), 'old', 'c itself still holds the old value')
})

test('strong read: refused below a majority minConsensus, and times out without enough peers', () => {
  const minority = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 0 })
  assert.deepEqual(values(minority.readResults.get(minority.strongRead('a', ['x']))), 'not-majority')
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1, writeTimeoutMs: 100 })
  cluster.isolate('a')
  const request = cluster.strongRead('a', ['x'])
  cluster.settle()
  assert.equal(cluster.readResults.get(request), undefined)
  cluster.advance(150)
  assert.deepEqual(values(cluster.readResults.get(request)), 'not-ready')
})

test('strong read: a host asking its peers after a start that may have lost data answers no read', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1, writeTimeoutMs: 100 })
  cluster.write('a', [put('x', '1')])
  cluster.settle()
  cluster.isolate('b')
  cluster.restart('c', false)
  // c asks every peer before it trusts itself (SPEC §5.4); b is away, so c keeps asking.
  cluster.settle()
  assert.equal(cluster.node('c').inspect().recovery, 'asking')
  const request = cluster.strongRead('a', ['x'])
  cluster.settle()
  assert.equal(cluster.readResults.get(request), undefined, 'c does not answer, b cannot')
  cluster.rejoin('b')
  cluster.settle()
  assert.deepEqual(values(cluster.readResults.get(request)), ['1'])
})
