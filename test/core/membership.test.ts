/**
 * Goal: membership changes (SPEC §15) follow their rules, take effect on every member, and
 * keep a host that lags or was removed from acting on an old membership. Method: the pure
 * planner, then scripted clusters of real cores whose links and messages the test controls.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Membership, planChange } from '../../src/core/index.js'
import { ScriptedCluster, put, valueOn } from '../helpers/scripted-cluster.js'

const three: Membership = { epoch: 4, members: ['a', 'b', 'c'], minConsensus: 1 }

test('planChange: one member at a time, never the proposer, always a majority', () => {
  assert.deepEqual(planChange(three, 'a', { add: 'd' }), { ok: true, next: { epoch: 5, members: ['a', 'b', 'c', 'd'], minConsensus: 2 } }, 'a majority of four needs two peers')
  assert.deepEqual(planChange(three, 'a', { remove: 'c' }), { ok: true, next: { epoch: 5, members: ['a', 'b'], minConsensus: 1 } })
  assert.deepEqual(planChange(three, 'a', { minConsensus: 2 }), { ok: true, next: { epoch: 5, members: ['a', 'b', 'c'], minConsensus: 2 } })
  assert.deepEqual(planChange({ ...three, minConsensus: 2 }, 'a', { remove: 'c' }), { ok: true, next: { epoch: 5, members: ['a', 'b'], minConsensus: 1 } }, 'all peers of three is one peer of two')
  assert.deepEqual(planChange(three, 'a', { add: 'd', minConsensus: 3 }), { ok: true, next: { epoch: 5, members: ['a', 'b', 'c', 'd'], minConsensus: 3 } })
  // Already true: the same membership, no new epoch.
  const same = planChange(three, 'a', { add: 'b' })
  assert.ok(same.ok && same.next === three)
  const refusals: Array<[Parameters<typeof planChange>[2], RegExp]> = [
    [{ add: 'd', remove: 'c' }, /one change at a time/],
    [{}, /adds, removes, or sets minConsensus/],
    [{ remove: 'a' }, /cannot remove itself/],
    [{ minConsensus: 0 }, /two quorums miss each other/],
    [{ add: 'd', minConsensus: 1 }, /two quorums miss each other: at least 2/],
    [{ minConsensus: 3 }, /from 0 to 2/],
    [{ minConsensus: 1.5 }, /integer/]
  ]
  for (const [change, reason] of refusals) {
    const plan = planChange(three, 'a', change)
    assert.ok(!plan.ok, JSON.stringify(change))
    assert.match(plan.reason, reason)
  }
})

test('a member gone for good is removed by a majority, though every write needed it, and writes go on', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 2 })
  cluster.crash('c')
  const stuck = cluster.write('a', [put('k', '1')])
  cluster.advance(10_100, 50)
  assert.equal(cluster.results.get(stuck)?.ok, false, 'with every peer in every quorum, a write needs c')
  const change = cluster.changeMembership('a', { remove: 'c' })
  cluster.advance(50)
  const expected = { epoch: 1, members: ['a', 'b'], minConsensus: 1 }
  assert.deepEqual(cluster.changeResults.get(change), { ok: true, membership: expected })
  for (const host of ['a', 'b']) {
    assert.deepEqual(cluster.node(host).membership, expected, `${host} runs under it`)
    assert.deepEqual(cluster.disk(host).membership, expected, `${host} stored it`)
  }
  const after = cluster.write('b', [put('k', '2')])
  cluster.advance(50)
  assert.deepEqual(cluster.results.get(after), { ok: true })
  assert.equal(valueOn(cluster, 'a', 'k'), '2')
  // Asked again, it is already true: answered at once, no new epoch.
  const again = cluster.changeMembership('b', { remove: 'c' })
  assert.deepEqual(cluster.changeResults.get(again), { ok: true, membership: expected })
})

test('one change at a time on a host: a second is refused busy while the first is under way', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1 })
  const first = cluster.changeMembership('a', { minConsensus: 2 })
  const second = cluster.changeMembership('a', { remove: 'c' })
  assert.equal(cluster.changeResults.get(second)?.ok, false)
  assert.deepEqual(cluster.changeResults.get(second), { ok: false, reason: 'busy', message: 'another membership change is under way on this host' })
  cluster.advance(50)
  assert.equal(cluster.changeResults.get(first)?.ok, true)
  const invalid = cluster.changeMembership('b', { minConsensus: 0 })
  assert.equal(cluster.changeResults.get(invalid)?.ok, false)
  assert.match(JSON.stringify(cluster.changeResults.get(invalid)), /"reason":"invalid"/)
})

test('a host applies a change only once it holds what the change\'s voters had: until then it is parked', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1 })
  // Whatever would bring a's first transaction to c is lost: its prepare, its commit, catch-up.
  let cutting = true
  cluster.cut(({ from, to, message }) => cutting && to === 'c' && (
    (from === 'a' && (message.type === 'prepare' || message.type === 'commit') && message.seq === 1) ||
    (message.type === 'entries' && message.entries.some((entry) => entry.origin === 'a' && entry.seq === 1))))
  const write = cluster.write('a', [put('k', 'before the change')])
  cluster.advance(50)
  assert.deepEqual(cluster.results.get(write), { ok: true })
  const change = cluster.changeMembership('a', { minConsensus: 2 })
  cluster.advance(100)
  assert.equal(cluster.changeResults.get(change)?.ok, true)
  assert.equal(cluster.node('c').inspect().parkedChanges, 1, 'c holds the change, parked')
  assert.equal(cluster.node('c').membership.epoch, 0)
  assert.equal(valueOn(cluster, 'c', 'k'), undefined)
  cutting = false
  cluster.advance(200)
  assert.equal(cluster.node('c').inspect().parkedChanges, 0)
  assert.equal(cluster.node('c').membership.epoch, 1)
  assert.equal(valueOn(cluster, 'c', 'k'), 'before the change', 'the write came first')
})

test('a host removed while away cannot complete a strong read on its old membership', () => {
  // Every peer in every write quorum: a strong read used to ask no peer at all.
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 2, writeTimeoutMs: 500 })
  cluster.isolate('c')
  const change = cluster.changeMembership('a', { remove: 'c' })
  cluster.advance(50)
  assert.equal(cluster.changeResults.get(change)?.ok, true)
  const write = cluster.write('a', [put('k', 'after c left')])
  cluster.advance(50)
  assert.deepEqual(cluster.results.get(write), { ok: true })
  cluster.rejoin('c')
  const read = cluster.strongRead('c', ['k'])
  cluster.advance(600)
  const result = cluster.readResults.get(read)
  assert.ok(result !== undefined && !result.ok, `c answered ${JSON.stringify(result)}`)
  assert.equal(cluster.node('c').membership.epoch, 0, 'nobody counts c: it never learns')
})

test('the change\'s lock: no change is prepared beside a write, and no write beside a change, until applied', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1 })
  const votes: Array<{ from: string, to: string, seq: number, yes: boolean }> = []
  let holdDecisionsToB = true
  cluster.cut(({ from, to, message }) => {
    if (message.type === 'vote') votes.push({ from, to, seq: message.seq, yes: message.yes })
    // b learns no decision (neither the write's nor the change's) while this holds.
    return holdDecisionsToB && to === 'b' && (message.type === 'commit' || message.type === 'abort' || message.type === 'entries' || message.type === 'snapshot')
  })
  const write = cluster.write('a', [put('k', '1')])
  cluster.advance(20)
  assert.deepEqual(cluster.results.get(write), { ok: true })
  assert.equal(cluster.node('b').inspect().prepared, 1, 'b holds the write prepared, its decision withheld')
  // c proposes a change: b, holding a write's lock, votes no; a votes yes, and it is decided.
  const change = cluster.changeMembership('c', { minConsensus: 2 })
  cluster.advance(20)
  assert.ok(votes.some((vote) => vote.from === 'b' && vote.to === 'c' && !vote.yes), 'b refused the change beside a write')
  assert.equal(cluster.changeResults.get(change)?.ok, true)
  // b learns everything now; then a change prepared at b blocks a write's prepare there.
  holdDecisionsToB = false
  cluster.advance(100)
  assert.equal(cluster.node('b').membership.epoch, 1)
  holdDecisionsToB = true
  const second = cluster.changeMembership('a', { minConsensus: 1 })
  cluster.advance(20)
  assert.equal(cluster.node('b').inspect().locks, 1, 'b holds the change, its decision withheld')
  votes.length = 0
  const blocked = cluster.write('c', [put('k', '2')])
  cluster.advance(20)
  assert.ok(votes.some((vote) => vote.from === 'b' && vote.to === 'c' && !vote.yes), 'b refused a write beside a change')
  holdDecisionsToB = false
  cluster.advance(2_000)
  assert.equal(cluster.changeResults.get(second)?.ok, true)
  assert.deepEqual(cluster.results.get(blocked), { ok: true })
})
