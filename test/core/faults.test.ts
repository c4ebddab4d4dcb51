/**
 * Goal: each path the real-world faults work added to the core (SPEC §3, §4.5-§4.7, §5.4)
 * does what the spec says, in a situation a reader can follow. Method: scripted scenarios on
 * the synchronous in-memory cluster: wall clocks that step, disks that go back (a copy
 * restored, a power loss), storage that fails, writes retried under their write ids,
 * acknowledgements and aborts that get lost, and a close with work in flight. Assertions are
 * on what users see: write results, values on each host's disk, and the log entries.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Message } from '../../src/core/index.js'
import { ScriptedCluster, put, valueOn } from '../helpers/scripted-cluster.js'

const hosts = ['a', 'b', 'c']

/** Every log entry of `origin` on `host`'s disk, as `kind` strings in seq order. */
function logOf (cluster: ScriptedCluster, host: string, origin: string): string[] {
  const log = cluster.disk(host).log.get(origin)
  return [...log?.entries() ?? []].sort(([a], [b]) => a - b).map(([seq, entry]) => `${seq}:${entry.kind}`)
}

test('clock: a wall clock stepped back 5 s or forward 30 s changes nothing but timestamps', () => {
  const cluster = new ScriptedCluster(hosts, { minConsensus: 1 })
  cluster.write('a', [put('x', 'first')])
  cluster.settle()
  cluster.stepClock('b', -5_000)
  const later = cluster.write('b', [put('x', 'second')])
  cluster.settle()
  assert.deepEqual(cluster.results.get(later), { ok: true })
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), 'second', 'the later write wins though its host\'s clock went back')
  cluster.stepClock('c', 30_000)
  cluster.write('c', [put('x', 'third')])
  cluster.settle()
  cluster.write('a', [put('x', 'fourth')])
  cluster.settle()
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), 'fourth', 'a clock far ahead only pushes timestamps forward')
})

test('clock: a yes vote carries the clock persisted with its prepare record, never more', () => {
  const cluster = new ScriptedCluster(hosts)
  const votes: Array<Extract<Message, { type: 'vote' }>> = []
  cluster.cut(({ from, message }) => {
    if (from === 'b' && message.type === 'vote') votes.push(message)
    return false
  })
  cluster.write('a', [put('x', '1')])
  cluster.settle()
  cluster.stepClock('a', 60_000)
  cluster.write('a', [put('y', '2')])
  cluster.rounds(2)
  const record = [...cluster.disk('b').prepared.values()][0]
  assert.ok(record !== undefined, 'b holds the second prepare')
  cluster.settle()
  const vote = votes[votes.length - 1]
  assert.ok(vote?.yes === true)
  assert.equal(vote.clock, record.clock, 'the vote carries the clock of its record')
  assert.ok(cluster.disk('b').clock >= vote.clock, 'and that clock is durable')
})

test('recovery: a restart after the disk went back takes its own decisions back from peers, and decides nothing before', () => {
  const cluster = new ScriptedCluster(hosts, { minConsensus: 1, writeTimeoutMs: 200 })
  const copy = cluster.disk('a').copy(0)
  cluster.write('a', [put('x', '1')])
  cluster.write('a', [put('y', '2')])
  cluster.settle()
  assert.deepEqual(logOf(cluster, 'b', 'a'), ['1:commit', '2:commit'])
  // a comes back from its copy, which predates both commits; c is away.
  cluster.crash('a')
  cluster.disk('a').restore(copy)
  cluster.isolate('c')
  cluster.restart('a', false)
  const early = cluster.write('a', [put('z', '3')])
  cluster.advance(250)
  assert.deepEqual(cluster.results.get(early), { ok: false, reason: 'recovering' }, 'it waits to hear from every peer')
  assert.equal(cluster.node('a').inspect().recovery, 'asking')
  assert.equal(valueOn(cluster, 'a', 'x'), '1', 'it took back what b holds meanwhile')
  cluster.rejoin('c')
  cluster.advance(50)
  assert.equal(cluster.node('a').inspect().recovery, null)
  const next = cluster.write('a', [put('z', '4')])
  cluster.advance(50)
  assert.deepEqual(cluster.results.get(next), { ok: true })
  for (const host of hosts) {
    assert.deepEqual(logOf(cluster, host, 'a'), ['1:commit', '2:commit', '3:commit'], `${host}: one decision per number`)
    assert.equal(valueOn(cluster, host, 'y'), '2')
    assert.equal(valueOn(cluster, host, 'z'), '4')
  }
})

test('full copy: one started while a batch is being written claims it, so an origin restored from a copy takes that decision back', () => {
  const cluster = new ScriptedCluster(hosts, { minConsensus: 0, logRetention: 1 })
  // b and c are away while a writes twice: a's log keeps only the last entry.
  cluster.isolate('b')
  cluster.isolate('c')
  cluster.write('a', [put('x', '1')])
  cluster.write('a', [put('y', '2')])
  cluster.settle()
  const copy = cluster.disk('a').copy(0)
  // a decides a third commit; while its batch waits for the disk, b comes back and asks
  // for a full copy. b learns the third commit from that copy only.
  let onlyTheCopy = true
  cluster.cut(({ to, message }) => onlyTheCopy && to === 'b' && (message.type === 'commit' || message.type === 'entries'))
  cluster.stallDisk('a')
  cluster.write('a', [put('z', '3')])
  cluster.rejoin('b')
  cluster.rounds(2)
  cluster.resumeDisk('a')
  cluster.settle()
  assert.equal(valueOn(cluster, 'b', 'z'), '3')
  assert.equal(cluster.node('b').inspect().marks['a'], 3, 'the copy claims the decision whose data it carries')
  // a comes back from its copy, which predates the third commit; only b holds it.
  onlyTheCopy = false
  cluster.crash('a')
  cluster.disk('a').restore(copy)
  cluster.rejoin('c')
  cluster.restart('a', false)
  cluster.advance(300)
  assert.equal(cluster.node('a').inspect().recovery, null)
  for (const host of hosts) {
    for (const [key, value] of [['x', '1'], ['y', '2'], ['z', '3']]) assert.equal(valueOn(cluster, host, key as string), value, `${host} ${key as string}`)
  }
})

/** a's prepare of number 1 reaches b and c, then a loses the disk it reserved it on, and restarts asking. */
function preparedThenRestored (): ScriptedCluster {
  const cluster = new ScriptedCluster(hosts)
  const copy = cluster.disk('a').copy(0)
  cluster.write('a', [put('x', '1')])
  cluster.rounds(2)
  cluster.crash('a')
  assert.equal(cluster.disk('b').prepared.size, 1)
  cluster.disk('a').restore(copy)
  cluster.restart('a', false)
  return cluster
}

test('recovery: a number a peer holds prepared, and nobody decided, is aborted once every peer answered', () => {
  const cluster = preparedThenRestored()
  cluster.advance(50)
  for (const host of hosts) {
    assert.deepEqual(logOf(cluster, host, 'a'), ['1:abort'], `${host}: the number is aborted`)
    assert.equal(cluster.disk(host).prepared.size, 0, `${host} released the lock`)
  }
  const next = cluster.write('a', [put('x', '2')])
  cluster.advance(50)
  assert.deepEqual(cluster.results.get(next), { ok: true })
  assert.deepEqual(logOf(cluster, 'c', 'a'), ['1:abort', '2:commit'], 'the reused number would have forked; a new one is taken')
})

test('recovery: the disk is trusted again only once the numbers peers hold are durably reserved (seed 79,974)', () => {
  const cluster = preparedThenRestored()
  assert.equal(cluster.node('a').trustsOwnLog, false, 'asking')
  // Every peer answers; b and c hold number 1 prepared. a reserves it, but its disk waits.
  cluster.stallDisk('a')
  cluster.advance(50)
  assert.equal(cluster.node('a').inspect().recovery, 'aborting', 'a asks no more')
  assert.equal(cluster.disk('a').load(true).reserved, 0, 'the reservation is not durable')
  // A witness noting progress now would let the next start trust this disk, which says
  // number 1 was never reserved: that start would take it for a new transaction, and b and c
  // would apply the ops they hold prepared for it.
  assert.equal(cluster.node('a').trustsOwnLog, false, 'the disk is not trusted yet')
  cluster.resumeDisk('a')
  cluster.advance(50)
  assert.equal(cluster.disk('a').load(true).reserved, 1)
  assert.equal(cluster.node('a').trustsOwnLog, true)
  assert.equal(cluster.node('a').inspect().recovery, null)
  for (const host of hosts) assert.deepEqual(logOf(cluster, host, 'a'), ['1:abort'], `${host}: the number is aborted`)
})

test('recovery: a disk that went back to an older membership asks the members added since too (seed 195,482)', () => {
  // a and b are the members; c is added by b after a's disk was copied.
  const cluster = new ScriptedCluster(hosts, { minConsensus: 1 }, 'c')
  const copy = cluster.disk('a').copy(0)
  cluster.changeMembership('b', { add: 'c' })
  cluster.advance(50)
  for (const host of hosts) assert.deepEqual(cluster.node(host).membership, { epoch: 1, members: hosts, minConsensus: 1 }, host)
  // a's prepare of number 1 reaches c only; a loses its disk back to the copy.
  cluster.cut(({ from, to, message }) => from === 'a' && to === 'b' && message.type === 'prepare')
  cluster.write('a', [put('x', '1')])
  for (let round = 0; round < 10 && cluster.disk('c').prepared.size === 0; round++) cluster.rounds(1)
  cluster.crash('a')
  assert.equal(cluster.disk('c').prepared.size, 1)
  assert.equal(cluster.disk('b').prepared.size, 0)
  cluster.disk('a').restore(copy)
  cluster.restart('a', false)
  assert.deepEqual(cluster.node('a').membership.members, ['a', 'b'], 'the copy predates c')
  cluster.advance(200)
  // b alone answered first, naming a later membership: a took it up before finishing, and
  // asked c, which holds number 1.
  assert.equal(cluster.node('a').inspect().recovery, null)
  assert.deepEqual(cluster.node('a').membership.members, hosts)
  for (const host of hosts) {
    assert.deepEqual(logOf(cluster, host, 'a'), ['1:abort'], `${host}: the number is aborted, not taken again`)
    assert.equal(cluster.disk(host).prepared.size, 0, `${host} holds no lock`)
  }
})

test('write ids: a retried write that committed is confirmed, not applied again', () => {
  const cluster = new ScriptedCluster(hosts)
  const first = cluster.write('a', [put('x', '1')], { writer: 'w', counter: 1 })
  cluster.settle()
  assert.deepEqual(cluster.results.get(first), { ok: true })
  cluster.write('b', [put('x', 'other')])
  cluster.settle()
  // The leader process changes; the client, which never saw the answer, retries.
  cluster.crash('a')
  cluster.restart('a')
  const retry = cluster.write('a', [put('x', '1')], { writer: 'w', counter: 1 })
  cluster.advance(50)
  assert.deepEqual(cluster.results.get(retry), { ok: true })
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), 'other', 'the retry did not undo a later write')
  assert.deepEqual(logOf(cluster, 'b', 'a').filter((entry) => entry.endsWith('commit')), ['1:commit'], 'one commit; the rest is the restart\'s aborts')
})

test('write ids: a retried write resolves only once its quorum holds it', () => {
  const cluster = new ScriptedCluster(hosts)
  // The commit never leaves a: no peer applies it, so no ack comes.
  cluster.cut(({ from, message }) => from === 'a' && message.type === 'commit')
  cluster.write('a', [put('x', '1')], { writer: 'w', counter: 1 })
  cluster.settle()
  assert.equal(valueOn(cluster, 'a', 'x'), '1')
  cluster.crash('a')
  cluster.isolate('b')
  cluster.isolate('c')
  cluster.restart('a')
  const retry = cluster.write('a', [put('x', '1')], { writer: 'w', counter: 1 })
  cluster.advance(100)
  assert.equal(cluster.results.has(retry), false, 'committed here, but no peer holds it: not answered yet')
  cluster.rejoin('b')
  cluster.rejoin('c')
  cluster.advance(100)
  assert.deepEqual(cluster.results.get(retry), { ok: true })
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), '1')
})

test('write ids: a failed write retried after a later write of its writer committed fails again', () => {
  const cluster = new ScriptedCluster(hosts, { writeTimeoutMs: 100 })
  cluster.isolate('a')
  const failed = cluster.write('a', [put('x', 'lost')], { writer: 'w', counter: 1 })
  cluster.advance(120)
  assert.deepEqual(cluster.results.get(failed), { ok: false, reason: 'not-ready' })
  cluster.rejoin('a')
  const next = cluster.write('a', [put('y', '2')], { writer: 'w', counter: 2 })
  cluster.advance(20)
  assert.deepEqual(cluster.results.get(next), { ok: true })
  cluster.crash('a')
  cluster.restart('a')
  const retry = cluster.write('a', [put('x', 'lost')], { writer: 'w', counter: 1 })
  cluster.advance(20)
  assert.deepEqual(cluster.results.get(retry), { ok: false, reason: 'not-ready' }, 'answered as the first try was')
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), undefined)
})

test('unconfirmed: a committed write whose acks never come settles at its deadline, committed', () => {
  const cluster = new ScriptedCluster(hosts, { writeTimeoutMs: 100 })
  cluster.cut(({ message }) => message.type === 'ack')
  const request = cluster.write('a', [put('x', '1')])
  cluster.advance(120)
  assert.deepEqual(cluster.results.get(request), { ok: false, reason: 'unconfirmed' })
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), '1', 'it is committed, and reaches every host')
})

test('aborts: a lost abort is sent again until the participant acknowledges it', () => {
  const cluster = new ScriptedCluster(hosts, { writeTimeoutMs: 60, prepareTimeoutMs: 1_000, syncIntervalMs: 10_000 })
  // c never votes, so the write fails; the first abort to c is lost.
  let aborts = 0
  cluster.cut(({ from, to, message }) => (from === 'c' && message.type === 'vote') || (to === 'c' && message.type === 'abort' && aborts++ === 0))
  cluster.write('a', [put('x', '1')])
  cluster.advance(65)
  assert.equal(cluster.disk('c').prepared.size, 1, 'c holds the lock after the first abort was lost')
  cluster.advance(20)
  assert.equal(cluster.disk('c').prepared.size, 0, 'the resent abort released it, with no sync')
  assert.equal(cluster.node('a').inspect().aborting, 0, 'and every peer acknowledged it')
})

test('storage: while storage fails, writes wait and fail with storage; afterwards they commit', () => {
  const cluster = new ScriptedCluster(hosts, { writeTimeoutMs: 100 })
  cluster.setStorage('a', false)
  assert.equal(cluster.node('a').inspect().ready, false)
  const during = cluster.write('a', [put('x', '1')])
  cluster.advance(120)
  assert.deepEqual(cluster.results.get(during), { ok: false, reason: 'storage' })
  cluster.setStorage('a', true)
  const after = cluster.write('a', [put('x', '2')])
  cluster.advance(20)
  assert.deepEqual(cluster.results.get(after), { ok: true })
  for (const host of hosts) assert.equal(valueOn(cluster, host, 'x'), '2')
})

test('close: queued writes fail having changed nothing, a committed one is answered unconfirmed', () => {
  const cluster = new ScriptedCluster(hosts)
  cluster.cut(({ message }) => message.type === 'ack')
  const committed = cluster.write('a', [put('x', '1')])
  cluster.settle()
  cluster.isolate('b')
  cluster.isolate('c')
  const queued = cluster.write('a', [put('y', '2')])
  cluster.close('a')
  cluster.settle()
  assert.deepEqual(cluster.results.get(committed), { ok: false, reason: 'unconfirmed' })
  assert.deepEqual(cluster.results.get(queued), { ok: false, reason: 'closed' })
  const late = cluster.write('a', [put('z', '3')])
  assert.deepEqual(cluster.results.get(late), { ok: false, reason: 'closed' })
  assert.equal(valueOn(cluster, 'a', 'y'), undefined)
})

test('recovery: a host asking its peers votes no, so its lost clock orders nothing', () => {
  const cluster = new ScriptedCluster(hosts, { minConsensus: 1, writeTimeoutMs: 100 })
  const copy = cluster.disk('a').copy(0)
  cluster.crash('a')
  cluster.disk('a').restore(copy)
  cluster.isolate('c')
  cluster.restart('a', false)
  const meanwhile = cluster.write('b', [put('x', 'b')])
  cluster.advance(120)
  assert.deepEqual(cluster.results.get(meanwhile), { ok: false, reason: 'conflict' }, 'a, still asking, voted no')
  cluster.rejoin('c')
  cluster.advance(50)
  const after = cluster.write('b', [put('x', 'b')])
  cluster.advance(20)
  assert.deepEqual(cluster.results.get(after), { ok: true })
})
