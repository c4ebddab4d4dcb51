import { assert } from './assert.js'
import type { FailedRun, RequestId, StorageWrite, WriteResult } from './effects.js'
import { type CommittingTxn, type NodeState, type PendingWrite, type WriterState, persist, queueWrite, read, send } from './state.js'
import type { Op, WriteId } from './types.js'

/**
 * Write ids (SPEC §4.7): a write retried with the id of its first try is applied at most once
 * and answered as the first try would have been. Each host keeps, per writer, the highest
 * counter it committed and the counters that failed; a retry below that counter and not
 * failed was committed, and resolves only once `minConsensus` peers hold it.
 */

/** Takes a write that carries an id: it waits until the writer's records are read. */
export function admitWrite (s: NodeState, request: RequestId, ops: readonly Op[], id: WriteId, deadline: number): void {
  let writer = s.writers.get(id.writer)
  if (writer === undefined) {
    const created: WriterState = { loaded: false, counter: 0, seq: 0, failed: [], waiting: [], inflight: new Map() }
    s.writers.set(id.writer, created)
    writer = created
    read(s, { type: 'writer', writer: id.writer }, (result) => {
      assert(result.type === 'writer', `storage answered a writer query with ${result.type}`)
      created.loaded = true
      created.counter = result.record.counter
      created.seq = result.record.seq
      created.failed = [...result.record.failed]
      for (const waiting of created.waiting.splice(0)) decide(s, created, waiting.request, waiting.ops, waiting.id, waiting.deadline)
    })
  }
  if (!writer.loaded) {
    writer.waiting.push({ request, ops, id, deadline })
    return
  }
  decide(s, writer, request, ops, id, deadline)
}

function decide (s: NodeState, writer: WriterState, request: RequestId, ops: readonly Op[], id: WriteId, deadline: number): void {
  const same = writer.inflight.get(id.counter)
  if (same !== undefined) {
    // The same write, retried while its first try is still in flight: one answer for both.
    same.requests.push(request)
    return
  }
  const failed = writer.failed.find((run) => run.from <= id.counter && id.counter <= run.to)
  if (failed !== undefined) {
    reply(s, [request], { ok: false, reason: failed.reason })
    return
  }
  const write: PendingWrite = { requests: [request], ops, id, deadline, order: 0 }
  writer.inflight.set(id.counter, write)
  if (id.counter <= writer.counter) {
    // A writer's writes commit in counter order, and failures are recorded before they are
    // answered: a counter below the highest committed that never failed was committed.
    if (s.config.mutation === 'retry-acked-early') {
      settleWrite(s, write, { ok: true })
      return
    }
    s.confirming.push({ write, seq: writer.seq })
    checkConfirms(s)
    if (s.closing) settleConfirming(s, 'unconfirmed')
    return
  }
  if (s.closing) {
    write.reason = 'closed'
    failWrites(s, [write])
    return
  }
  queueWrite(s, write)
}

function reply (s: NodeState, requests: readonly RequestId[], result: WriteResult): void {
  for (const request of requests) s.out.push({ type: 'reply', request, result })
}

/** Answers every try of `write` and forgets it as in flight. */
export function settleWrite (s: NodeState, write: PendingWrite, result: WriteResult): void {
  reply(s, write.requests, result)
  if (write.id === undefined) return
  const writer = s.writers.get(write.id.writer)
  if (writer?.inflight.get(write.id.counter) === write) writer.inflight.delete(write.id.counter)
  evictIdleWriters(s)
}

/**
 * Fails `writes` with the reason each carries. A failure is recorded durably before it is
 * answered, so that a retry is answered the same way even after a later write of the same
 * writer committed. A close is not recorded: a retry elsewhere should try the write afresh,
 * and nothing of that writer can commit after a close here.
 */
export function failWrites (s: NodeState, writes: readonly PendingWrite[]): void {
  const touched = new Map<string, WriterState>()
  for (const write of writes) {
    if (write.id === undefined || write.reason === 'closed') continue
    const writer = s.writers.get(write.id.writer)
    assert(writer?.loaded === true, 'a write with an id is queued only once its writer is loaded')
    addFailed(writer.failed, write.id.counter, write.reason ?? 'timeout')
    touched.set(write.id.writer, writer)
  }
  const answer = (): void => {
    for (const write of writes) settleWrite(s, write, { ok: false, reason: write.reason ?? 'timeout' })
  }
  if (touched.size === 0) {
    answer()
    return
  }
  const records: StorageWrite[] = [...touched].map(([writer, state]) => ({ type: 'writer-failed', writer, failed: [...state.failed] }))
  persist(s, records, answer)
}

function addFailed (runs: FailedRun[], counter: number, reason: FailedRun['reason']): void {
  if (runs.some((run) => run.from <= counter && counter <= run.to)) return
  runs.push({ from: counter, to: counter, reason })
  runs.sort((a, b) => a.from - b.from)
  // Runs of one reason stay merged: a writer that fails through an outage keeps one run.
  for (let i = runs.length - 1; i > 0; i--) {
    const before = runs[i - 1] as FailedRun
    const after = runs[i] as FailedRun
    if (before.to + 1 === after.from && before.reason === after.reason) runs.splice(i - 1, 2, { from: before.from, to: after.to, reason: before.reason })
  }
}

/**
 * The writer records an own commit makes true, in memory at once (its writes stay in flight
 * until answered, so no lookup reads the new counter early) and on disk with the commit.
 */
export function commitWriters (s: NodeState, seq: number, writes: readonly PendingWrite[]): Array<{ writer: string, counter: number, seq: number }> {
  const highest = new Map<string, number>()
  for (const write of writes) {
    if (write.id === undefined) continue
    highest.set(write.id.writer, Math.max(highest.get(write.id.writer) ?? 0, write.id.counter))
  }
  const records: Array<{ writer: string, counter: number, seq: number }> = []
  for (const [name, counter] of highest) {
    const writer = s.writers.get(name)
    if (writer !== undefined && counter > writer.counter) {
      writer.counter = counter
      writer.seq = seq
    }
    records.push({ writer: name, counter, seq })
  }
  return records
}

/** Resolves every confirming write whose quorum now holds its transaction. */
export function checkConfirms (s: NodeState): void {
  if (s.confirming.length === 0) return
  const { minConsensus } = s.membership
  for (let i = s.confirming.length - 1; i >= 0; i--) {
    const confirming = s.confirming[i]
    if (confirming === undefined) continue
    let holders = 0
    for (const mark of s.peerMarks.values()) if (mark >= confirming.seq) holders++
    if (holders < minConsensus) continue
    s.confirming.splice(i, 1)
    settleWrite(s, confirming.write, { ok: true })
  }
}

/** Answers every confirming write at once: at a close, it is committed but unconfirmed. */
export function settleConfirming (s: NodeState, reason: 'unconfirmed'): void {
  for (const confirming of s.confirming.splice(0)) settleWrite(s, confirming.write, { ok: false, reason })
}

/**
 * On each tick: committed writes past their deadline are answered `unconfirmed`, and peers
 * that have not reported holding what confirming writes wait for are asked to sync.
 */
export function onWritersTick (s: NodeState): void {
  for (const txn of s.committing.values()) settleExpired(s, txn)
  for (let i = s.confirming.length - 1; i >= 0; i--) {
    const confirming = s.confirming[i]
    if (confirming === undefined || confirming.write.deadline > s.now) continue
    s.confirming.splice(i, 1)
    settleWrite(s, confirming.write, { ok: false, reason: 'unconfirmed' })
  }
  if (s.confirming.length === 0 || s.now - s.lastProbeAt < s.config.commitResendMs) return
  s.lastProbeAt = s.now
  const lowest = Math.min(...s.confirming.map((confirming) => confirming.seq))
  for (const peer of s.connected) {
    if ((s.peerMarks.get(peer) ?? 0) < lowest) send(s, peer, { type: 'probe' })
  }
}

function settleExpired (s: NodeState, txn: CommittingTxn): void {
  for (let i = txn.writes.length - 1; i >= 0; i--) {
    const write = txn.writes[i]
    if (write === undefined || write.deadline > s.now) continue
    txn.writes.splice(i, 1)
    settleWrite(s, write, { ok: false, reason: 'unconfirmed' })
  }
  // Nobody waits any more: peers that lack the commit will pull it (SPEC §6).
  if (txn.writes.length === 0) s.committing.delete(txn.seq)
}

/** Whatever a peer reports of its contiguous mark of this host's log. */
export function onPeerMark (s: NodeState, peer: string, contiguous: number): void {
  if (!s.connected.has(peer)) return
  if (contiguous > (s.peerMarks.get(peer) ?? 0)) s.peerMarks.set(peer, contiguous)
  checkConfirms(s)
}

/**
 * Keeps the writers map bounded: writers with nothing in flight are forgotten, oldest first,
 * beyond `writersCachedMax`. Their records stay on disk and are read again when needed.
 */
function evictIdleWriters (s: NodeState): void {
  if (s.writers.size <= s.config.writersCachedMax) return
  for (const [name, writer] of s.writers) {
    if (s.writers.size <= s.config.writersCachedMax) return
    if (writer.loaded && writer.inflight.size === 0 && writer.waiting.length === 0) s.writers.delete(name)
  }
}
