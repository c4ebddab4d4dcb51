/**
 * Goal: the core's `applied` effect (SPEC §2.2) tells each host, once durable, the other
 * origins' commits it applied, with exactly the operations that took effect: never its own
 * writes, never an operation a newer version superseded. Method: scripted scenarios on the
 * synchronous in-memory cluster.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ScriptedCluster, del, put } from '../helpers/scripted-cluster.js'

function describe (cluster: ScriptedCluster): string[] {
  return cluster.announced.map(({ host, change }) => `${host}: ${change.origin}#${change.seq} ${change.ops.map((op) => op.type === 'put' ? `${op.key}=${new TextDecoder().decode(op.value)}` : `-${op.key}`).join(' ')}`)
}

test('applied: every other host announces a commit once, with its operations; the origin does not', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'])
  cluster.write('a', [put('x', '1'), del('y')])
  cluster.settle()
  cluster.write('b', [put('z', '2')])
  cluster.settle()
  assert.deepEqual(describe(cluster).sort(), ['a: b#1 z=2', 'b: a#1 x=1 -y', 'c: a#1 x=1 -y', 'c: b#1 z=2'])
})

test('applied: an operation superseded by the time it is applied is left out', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1 })
  cluster.isolate('c')
  cluster.write('a', [put('x', 'old'), put('w', 'kept')])
  cluster.settle()
  cluster.write('b', [put('x', 'new')])
  cluster.settle()
  cluster.announced.length = 0
  // c takes both by catch-up; one of them reaches it after the newer version of x.
  cluster.rejoin('c')
  cluster.advance(200)
  cluster.settle()
  const onC = describe(cluster).filter((line) => line.startsWith('c:'))
  assert.ok(onC.includes('c: b#1 x=new'), onC.join('\n'))
  assert.ok(onC.some((line) => line.startsWith('c: a#1 ') && line.includes('w=kept')), onC.join('\n'))
  assert.ok(!onC.some((line) => line.includes('x=old')), `x=old was superseded: ${onC.join('\n')}`)
})
