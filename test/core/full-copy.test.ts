/**
 * Goal: a full copy is staged chunk by chunk and applied page by page (SPEC §6.3), and goes on
 * from where it stood after what cuts it short: a lost connection, a restart of the receiver
 * while it receives (with chunks not yet durable: the first, two in the middle, the last), a
 * restart while it applies; and what is applied between its pages leaves it whole. Method:
 * scripted clusters of the real core over the simulator's disks; c, behind a log that no
 * longer reaches back, takes a copy from a alone, and is cut off, crashed, or sent a write
 * at a chosen point of it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ScriptedCluster, del, put, valueOn } from '../helpers/scripted-cluster.js'

const KEYS = 20

interface CopyRun {
  readonly cluster: ScriptedCluster
  /** The sessions of every copy a started to c. */
  readonly sessions: number[]
  /** Every chunk a sent c, in order. */
  readonly chunks: Array<{ readonly part: number, readonly done: boolean }>
}

/** c is behind a's truncated log; only a's copies reach it, 4 records a chunk and a page. */
function behind (): CopyRun {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 1, logRetention: 3, groupOpsMax: 1, snapshotRecordsPerMessageMax: 4, copyPageRecordsMax: 4, snapshotIdleMs: 10_000 })
  cluster.isolate('c')
  for (let i = 0; i < KEYS; i++) {
    cluster.write('a', [put(`k${String(i).padStart(2, '0')}`, String(i))])
    cluster.settle()
  }
  const sessions: number[] = []
  const chunks: CopyRun['chunks'] = []
  cluster.cut(({ from, to, message }) => {
    if (to !== 'c' || message.type !== 'snapshot') return false
    if (from !== 'a') return true
    if (message.part === 0 && !sessions.includes(message.session)) sessions.push(message.session)
    chunks.push({ part: message.part, done: message.done })
    return false
  })
  cluster.rejoin('c')
  return { cluster, sessions, chunks }
}

/** The highest chunk a sent c so far. */
function lastSent (chunks: CopyRun['chunks']): number {
  return Math.max(-1, ...chunks.map((chunk) => chunk.part))
}

/** Runs round by round until `reached` holds; fails if the cluster stops first. */
function runUntil (cluster: ScriptedCluster, reached: () => boolean): void {
  for (let round = 0; round < 10_000; round++) {
    if (reached()) return
    if (!cluster.rounds(1)) break
  }
  assert.fail('the point was never reached')
}

/** The copy is done well within snapshotIdleMs, as one copy: none was given up and begun again. */
function goesOnToTheEnd (cluster: ScriptedCluster, sessions: readonly number[]): void {
  cluster.advance(300)
  assert.deepEqual(sessions.length, 1, 'one copy, not started over')
  assertCopied(cluster)
}

function assertCopied (cluster: ScriptedCluster): void {
  for (let i = 0; i < KEYS; i++) assert.equal(valueOn(cluster, 'c', `k${String(i).padStart(2, '0')}`), String(i))
  assert.ok((cluster.disk('c').floors.get('a') ?? 1) > 1, 'c took a full copy')
  assert.equal(cluster.disk('c').load(true).copy, null, 'the staging header is gone')
  assert.equal(cluster.disk('c').staged.size, 0, 'and every staged record')
  assert.equal(cluster.node('c').inspect().fullCopyIn, null)
}

test('a copy cut off by a lost connection goes on from the chunk it lacks, in the same session', () => {
  const { cluster, sessions } = behind()
  runUntil(cluster, () => (cluster.disk('c').load(true).copy?.nextPart ?? 0) >= 2)
  cluster.isolate('c')
  cluster.advance(100)
  assert.equal(cluster.node('a').inspect().fullCopiesOut, 1, 'a keeps the session while c is away')
  cluster.rejoin('c')
  goesOnToTheEnd(cluster, sessions)
  assert.equal(cluster.node('a').inspect().fullCopiesOut, 0)
})

test('a receiver restarted while it receives takes the copy up from the chunk it staged last', () => {
  const { cluster, sessions } = behind()
  runUntil(cluster, () => (cluster.disk('c').load(true).copy?.nextPart ?? 0) >= 2)
  cluster.crash('c')
  const staged = cluster.disk('c').load(true).copy
  assert.ok(staged !== null && !staged.applying && staged.nextPart >= 2, `staged ${JSON.stringify(staged)}`)
  cluster.restart('c')
  assert.deepEqual(cluster.node('c').inspect().fullCopyIn, { from: 'a', parts: staged.nextPart, records: 0, applying: false })
  goesOnToTheEnd(cluster, sessions)
})

test('a receiver restarted with two chunks unstaged gets both again: its sender keeps as many as it may lack', () => {
  const { cluster, sessions, chunks } = behind()
  runUntil(cluster, () => (cluster.disk('c').load(true).copy?.nextPart ?? 0) >= 2)
  // c's disk holds: the chunk that arrives is being staged, and the next one comes meanwhile.
  cluster.stallDisk('c')
  const staged = cluster.disk('c').load(true).copy?.nextPart ?? 0
  runUntil(cluster, () => lastSent(chunks) >= staged + 1)
  cluster.rounds(3)
  assert.equal(lastSent(chunks), staged + 1, 'a sent two chunks past what c staged')
  cluster.crash('c')
  cluster.resumeDisk('c')
  assert.equal(cluster.disk('c').load(true).copy?.nextPart, staged, 'neither is durable')
  cluster.restart('c')
  goesOnToTheEnd(cluster, sessions)
})

test('a receiver restarted before its last chunk was durable gets it again: a finished session is kept', () => {
  const { cluster, sessions, chunks } = behind()
  runUntil(cluster, () => chunks.some((chunk) => chunk.done))
  cluster.stallDisk('c')
  cluster.rounds(3)
  cluster.crash('c')
  cluster.resumeDisk('c')
  const staged = cluster.disk('c').load(true).copy
  assert.ok(staged !== null && !staged.applying, 'the last chunk is not durable')
  assert.equal(cluster.node('a').inspect().fullCopiesOut, 1, 'a holds the finished session')
  cluster.restart('c')
  goesOnToTheEnd(cluster, sessions)
  // c's next sync shows it holds all the copy carries: a drops the session then.
  assert.equal(cluster.node('a').inspect().fullCopiesOut, 0)
})

test('a receiver restarted before its first chunk was durable is sent it again when it syncs', () => {
  const { cluster, sessions, chunks } = behind()
  cluster.stallDisk('c')
  runUntil(cluster, () => lastSent(chunks) >= 1)
  cluster.crash('c')
  cluster.resumeDisk('c')
  assert.equal(cluster.disk('c').load(true).copy, null, 'nothing of the copy is durable')
  cluster.restart('c')
  goesOnToTheEnd(cluster, sessions)
})

test('a receiver restarted while it applies finishes the pages left before anything else, and holds reads meanwhile', () => {
  const { cluster } = behind()
  runUntil(cluster, () => cluster.disk('c').load(true).copy?.after != null)
  cluster.crash('c')
  const disk = cluster.disk('c')
  assert.ok(disk.applyingCopy, 'the copy is half applied on disk')
  // Half applied: some keys are in, others still staged, so a read now would see half a copy.
  assert.ok(disk.data.has('k00') && !disk.data.has(`k${KEYS - 1}`))
  // Its peers are out of reach: the pages come from its own disk.
  cluster.isolate('c')
  cluster.restart('c')
  assert.equal(cluster.node('c').applyingCopy, true, 'reads wait from the start')
  assert.equal(cluster.node('c').inspect().fullCopyIn?.applying, true)
  cluster.advance(50)
  assert.equal(cluster.node('c').applyingCopy, false)
  assertCopied(cluster)
})

test('a copy whose sender never comes back is given up once idle, and its staged records deleted', () => {
  const { cluster, sessions } = behind()
  runUntil(cluster, () => (cluster.disk('c').load(true).copy?.nextPart ?? 0) >= 2)
  assert.ok(cluster.disk('c').staged.size > 0)
  cluster.crash('a')
  cluster.advance(10_100, 50)
  assert.equal(sessions.length, 1)
  // c gave up a's copy after snapshotIdleMs; b's copies are cut, so it holds none now.
  assert.equal(cluster.disk('c').load(true).copy, null)
  assert.equal(cluster.disk('c').staged.size, 0)
  assert.equal(cluster.node('c').inspect().fullCopyIn, null)
})

test('a host applying a copy sends none of its own: its data holds half of one', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c'], { minConsensus: 0, logRetention: 3, groupOpsMax: 1, snapshotRecordsPerMessageMax: 4, copyPageRecordsMax: 4, snapshotIdleMs: 10_000 })
  // b misses everything; c has the first half and a log reaching back before b's gap.
  cluster.isolate('b')
  for (let i = 0; i < KEYS; i++) {
    if (i === KEYS / 2) cluster.isolate('c')
    cluster.write('a', [put(`k${String(i).padStart(2, '0')}`, String(i))])
    cluster.settle()
  }
  // Only a's copies reach c; b gets none from a, so that any copy b gets comes from c.
  cluster.cut(({ from, to, message }) => message.type === 'snapshot' && ((to === 'c' && from !== 'a') || (to === 'b' && from === 'a')))
  cluster.rejoin('c')
  runUntil(cluster, () => cluster.node('c').applyingCopy)
  cluster.rejoin('b')
  let sentWhileApplying = 0
  for (let round = 0; round < 10_000 && cluster.node('c').applyingCopy; round++) {
    cluster.rounds(1)
    if (cluster.node('c').applyingCopy) sentWhileApplying = Math.max(sentWhileApplying, cluster.node('c').inspect().fullCopiesOut)
  }
  assert.equal(sentWhileApplying, 0, 'c started no copy while it applied one')
  cluster.advance(500)
  assertCopied(cluster)
  // Once done, c serves b: the whole of it.
  for (let i = 0; i < KEYS; i++) assert.equal(valueOn(cluster, 'b', `k${String(i).padStart(2, '0')}`), String(i))
})

test('a transaction a copy decided, whose commit comes while the copy is applied, does not overwrite a newer write', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c', 'd'], { minConsensus: 1, logRetention: 3, groupOpsMax: 1, snapshotRecordsPerMessageMax: 4, copyPageRecordsMax: 4, snapshotIdleMs: 10_000 })
  // c votes for b's write of x, and its commit is held from c: c keeps it prepared, x locked.
  cluster.cut(({ from, to, message }) => from === 'b' && to === 'c' && message.type === 'commit')
  cluster.write('b', [put('x', 'old')])
  cluster.settle()
  assert.equal(cluster.node('c').inspect().prepared, 1)
  // b and c miss a's writes; only b's log still holds b's write, and b needs no copy to send it.
  cluster.isolate('b')
  cluster.isolate('c')
  for (let i = 0; i < KEYS; i++) {
    cluster.write('a', [put(`k${String(i).padStart(2, '0')}`, String(i))])
    cluster.settle()
  }
  // Back, c takes a's copy, which holds b's write and decides it: the lock on x goes.
  cluster.cut(({ from, to, message }) => to === 'c' && message.type === 'snapshot' && from !== 'a')
  cluster.rejoin('c')
  runUntil(cluster, () => cluster.node('c').applyingCopy)
  // c writes x anew while the copy is applied.
  cluster.write('c', [put('x', 'new')])
  runUntil(cluster, () => cluster.disk('c').data.get('x')?.version.origin === 'c')
  assert.ok(cluster.node('c').applyingCopy)
  // b's write comes in by catch-up from b while pages are left: c's disk waits until it is
  // queued behind one.
  cluster.stallDisk('c')
  cluster.rejoin('b')
  cluster.advance(30)
  cluster.resumeDisk('c')
  cluster.advance(500)
  assert.equal(valueOn(cluster, 'a', 'x'), 'new')
  assert.equal(valueOn(cluster, 'c', 'x'), 'new', 'the old write, applied late, stays below the newer one')
})

test('an older write of a key a copy dropped, come in while later pages are applied, stays dropped', () => {
  const cluster = new ScriptedCluster(['a', 'b', 'c', 'd'], { minConsensus: 1, logRetention: 3, groupOpsMax: 1, snapshotRecordsPerMessageMax: 4, copyPageRecordsMax: 4, snapshotIdleMs: 10_000, collectIntervalMs: 20 })
  const open = { prepareFromB: false, commitFromA: false, entriesFromB: false, toB: true }
  cluster.cut(({ from, to, message }) => {
    if (to === 'b') return !open.toB && (message.type === 'entries' || message.type === 'snapshot')
    if (to !== 'c') return false
    if (message.type === 'prepare') return !(open.prepareFromB && from === 'b')
    if (message.type === 'commit') return !(open.commitFromA && from === 'a')
    if (message.type === 'entries') return !(open.entriesFromB && from === 'b')
    return message.type === 'snapshot' && from !== 'a'
  })
  // c votes for b's put of k, and never hears of its commit: it holds it prepared.
  open.prepareFromB = true
  cluster.write('b', [put('k', 'old')])
  cluster.settle()
  open.prepareFromB = false
  assert.equal(cluster.node('c').inspect().prepared, 1)
  // a deletes k; c, told of the commit only, stores the tombstone, and its clock passes it.
  open.commitFromA = true
  cluster.write('a', [del('k')])
  cluster.settle()
  open.commitFromA = false
  assert.ok(cluster.disk('c').data.has('k') && valueOn(cluster, 'c', 'k') === undefined, 'c holds the tombstone')
  // Every member reports a clock past the delete.
  cluster.advance(50)
  // b and c go; a writes on, past its log's reach for c, and collects k's tombstone.
  cluster.isolate('b')
  cluster.isolate('c')
  open.toB = false
  for (let i = 0; i < 5; i++) {
    cluster.write('a', [put(`m${i}`, String(i))])
    cluster.settle()
  }
  cluster.advance(100)
  assert.equal(cluster.disk('a').data.has('k'), false, 'a collected the tombstone of k')
  // c, which never decided b's put (its own horizon is 0), takes a's copy. Its first page
  // covers k, and drops c's tombstone: the copy lacks k, and k's newest version was a delete.
  cluster.rejoin('c')
  // c's disk holds while the first page is being written.
  const firstPage = (): boolean => cluster.disk('c').queue.some((op) => op.kind === 'persist' && op.writes.some((write) => write.type === 'copy' && write.progress?.after != null))
  runUntil(cluster, firstPage)
  cluster.stallDisk('c')
  // Meanwhile b's put comes in: b is back, and answers c's sync about the put it holds. It
  // is queued before the next page, which is queued once the first is durable.
  open.entriesFromB = true
  cluster.rejoin('b')
  cluster.advance(30)
  cluster.resumeDisk('c')
  runUntil(cluster, () => !firstPage())
  assert.equal(cluster.disk('c').data.has('k'), false, 'the first page dropped k')
  cluster.advance(500)
  assert.equal(cluster.disk('c').load(true).copy, null, 'the copy is applied')
  for (const host of ['a', 'b', 'c', 'd']) assert.equal(valueOn(cluster, host, 'k'), undefined, `k stays deleted on ${host}`)
  for (let i = 0; i < 5; i++) assert.equal(valueOn(cluster, 'c', `m${i}`), String(i))
})
