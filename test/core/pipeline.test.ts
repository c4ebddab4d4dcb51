/**
 * Goal: the origin's pipeline (SPEC §4.2, §4.4) and the apply path's reads (SPEC §5.2) do what
 * the spec says: writes made together share a transaction, a full queue puts more
 * transactions in flight, they commit in order, an abort takes the later ones with it, a key
 * in flight holds back the queue, and applying reads each stored version at most once while
 * it stays cached. Method: scripted scenarios on the synchronous in-memory cluster.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { LogEntry } from '../../src/core/index.js'
import { ScriptedCluster, put, valueOn } from '../helpers/scripted-cluster.js'

const hosts = ['a', 'b', 'c']

function ownLog (cluster: ScriptedCluster, host: string): LogEntry[] {
  return [...cluster.disk(host).log.get(host)?.values() ?? []].sort((x, y) => x.seq - y.seq)
}

function committedKeys (cluster: ScriptedCluster, host: string): string[] {
  return ownLog(cluster, host).flatMap((entry) => entry.kind === 'commit' ? entry.ops.map((op) => op.key) : [])
}

test('pipeline: writes made together go through one transaction', () => {
  const cluster = new ScriptedCluster(hosts)
  const requests = cluster.writeTogether('a', [[put('x', '1')], [put('y', '2')], [put('z', '3')]])
  cluster.settle()
  for (const request of requests) assert.deepEqual(cluster.results.get(request), { ok: true })
  assert.equal(ownLog(cluster, 'a').length, 1)
})

test('pipeline: a queue holding more than a group puts more transactions in flight, up to pipelineDepth', () => {
  const cluster = new ScriptedCluster(hosts, { groupOpsMax: 1, pipelineDepth: 3 })
  const requests = cluster.writeTogether('a', ['w', 'x', 'y', 'z'].map((key) => [put(key, key)]))
  // The first one reserves its number; nothing else starts until that is durable.
  assert.deepEqual(cluster.node('a').inspect().active, [1])
  cluster.rounds(1)
  assert.deepEqual(cluster.node('a').inspect().active, [1, 2, 3])
  cluster.settle()
  for (const request of requests) assert.deepEqual(cluster.results.get(request), { ok: true })
  assert.deepEqual(committedKeys(cluster, 'a'), ['w', 'x', 'y', 'z'])
})

test('pipeline: with room for one group, a second transaction waits while the first collects votes', () => {
  const cluster = new ScriptedCluster(hosts, { groupOpsMax: 2 })
  cluster.writeTogether('a', [[put('w', '1')], [put('x', '2')], [put('y', '3')]])
  cluster.rounds(1)
  assert.deepEqual(cluster.node('a').inspect().active, [1], 'y alone is no full group: it waits for the next one')
  cluster.settle()
  assert.deepEqual(ownLog(cluster, 'a').map((entry) => entry.kind === 'commit' ? entry.ops.length : 0), [2, 1])
})

test('pipeline: a later transaction whose votes came first waits; an abort aborts it too, and the writes keep their order', () => {
  const cluster = new ScriptedCluster(hosts, { groupOpsMax: 1, pipelineDepth: 3 })
  // Seq 1's votes never arrive; 2 and 3 collect theirs.
  cluster.cut(({ message }) => message.type === 'vote' && message.seq === 1)
  const requests = cluster.writeTogether('a', ['w', 'x', 'y', 'z'].map((key) => [put(key, key)]))
  cluster.settle()
  assert.deepEqual(cluster.node('a').inspect().active, [1, 2, 3])
  for (const peer of ['b', 'c']) assert.equal(cluster.disk(peer).prepared.size, 3, `${peer} voted yes on all three`)
  assert.deepEqual(ownLog(cluster, 'a'), [], 'nothing commits ahead of seq 1')
  assert.equal(cluster.results.size, 0)
  // Seq 1 times out (prepareTimeoutMs 50): 2 and 3 are aborted with it, and all are retried.
  cluster.advance(200)
  const log = ownLog(cluster, 'a')
  assert.deepEqual(log.slice(0, 3).map((entry) => entry.kind), ['abort', 'abort', 'abort'])
  for (const request of requests) assert.deepEqual(cluster.results.get(request), { ok: true })
  assert.deepEqual(committedKeys(cluster, 'a'), ['w', 'x', 'y', 'z'])
  for (const peer of hosts) assert.equal(cluster.disk(peer).prepared.size, 0)
})

test('pipeline: a write touching a key in flight waits, and every write behind it', () => {
  const cluster = new ScriptedCluster(hosts, { groupOpsMax: 1 })
  const requests = cluster.writeTogether('a', [[put('x', '1')], [put('x', '2')], [put('y', '3')], [put('z', '4')]])
  cluster.rounds(1)
  assert.deepEqual(cluster.node('a').inspect().active, [1])
  cluster.settle()
  for (const request of requests) assert.deepEqual(cluster.results.get(request), { ok: true })
  assert.deepEqual(committedKeys(cluster, 'a'), ['x', 'x', 'y', 'z'])
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), '2')
})

function versionReads (cluster: ScriptedCluster, host: string): string[][] {
  return cluster.queries.filter((read) => read.host === host && read.query.type === 'versions').map((read) => read.query.type === 'versions' ? [...read.query.keys] : [])
}

test('apply: a commit reads no stored version at its origin, nor at a host that voted on it and saw nothing else on its keys since', () => {
  const cluster = new ScriptedCluster(hosts)
  cluster.write('a', [put('x', '1')])
  cluster.settle()
  cluster.write('b', [put('x', '2')])
  cluster.settle()
  for (const host of hosts) {
    assert.deepEqual(versionReads(cluster, host), [], host)
    assert.equal(valueOn(cluster, host, 'x'), '2')
  }
})

test('apply: entries learned by catch-up read their keys once, then from the cache', () => {
  const cluster = new ScriptedCluster(hosts, { minConsensus: 1 })
  cluster.isolate('c')
  cluster.write('a', [put('y', '1')])
  cluster.settle()
  cluster.rejoin('c')
  cluster.advance(50)
  cluster.isolate('c')
  cluster.write('a', [put('y', '2')])
  cluster.settle()
  cluster.rejoin('c')
  cluster.advance(50)
  assert.deepEqual(versionReads(cluster, 'c'), [['y']])
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'y'), '2')
})

test('apply: the version cache is bounded by versionCacheMax, and an evicted key is read again', () => {
  // It holds up to an eighth more (rounded up), then drops the least recently used down to 1.
  const cluster = new ScriptedCluster(hosts, { minConsensus: 1, versionCacheMax: 1 })
  cluster.isolate('c')
  for (const [key, value] of [['x', '1'], ['y', '2'], ['z', '3']] as const) {
    cluster.write('a', [put(key, value)])
    cluster.settle()
  }
  cluster.rejoin('c')
  cluster.advance(50)
  cluster.isolate('c')
  cluster.write('a', [put('x', '4')])
  cluster.settle()
  cluster.rejoin('c')
  cluster.advance(50)
  assert.deepEqual(versionReads(cluster, 'c'), [['x', 'y', 'z'], ['x']])
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), '4')
})

test('apply: a prepared transaction whose key another commit wrote meanwhile reads the stored version, and the newer write stays', () => {
  const five = ['a', 'b', 'c', 'd', 'e']
  const cluster = new ScriptedCluster(five, { minConsensus: 1 })
  // a's transaction on k is prepared at b only, and commits with b's vote; b hears of the
  // commit from nobody yet, neither from a nor by catch-up.
  const holdFromA = { prepare: true, commit: true }
  cluster.cut(({ from, to, message }) => (from === 'a' && message.type === 'prepare' && holdFromA.prepare && to !== 'b') ||
    (holdFromA.commit && to === 'b' && ((from === 'a' && message.type === 'commit') || message.type === 'snapshot' || (message.type === 'entries' && message.entries.some((entry) => entry.origin === 'a')))))
  cluster.write('a', [put('k', 'from-a')])
  cluster.settle()
  assert.equal(cluster.disk('b').prepared.size, 1)
  holdFromA.prepare = false
  // Later, d commits a newer write of k with e's vote, and b applies it while it holds a's lock.
  cluster.advance(20)
  cluster.isolate('a')
  cluster.cut(({ from, to, message }) => from === 'd' && message.type === 'prepare' && to !== 'e')
  cluster.write('d', [put('k', 'from-d')])
  cluster.settle()
  assert.equal(valueOn(cluster, 'b', 'k'), 'from-d')
  // Now b learns a's older commit: it must not overwrite the newer write.
  holdFromA.commit = false
  cluster.rejoin('a')
  cluster.advance(100)
  for (const host of five) assert.equal(valueOn(cluster, host, 'k'), 'from-d', host)
})
