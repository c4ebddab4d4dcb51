import { assert } from './assert.js'
import { enqueueApply } from './apply.js'
import type { FailureReason, RequestId } from './effects.js'
import { type CommittingTxn, type NodeState, type PendingWrite, backoffMs, persist, send, uniqueKeys } from './state.js'
import { type LogEntry, type Op, type WriteId, opsBytes, txnKey } from './types.js'
import { admitWrite, commitWriters, failWrites, settleConfirming, settleWrite } from './writers.js'

/** The origin's side of two-phase commit: group, lock, prepare, decide, collect acks. */

export function submitWrite (s: NodeState, request: RequestId, ops: readonly Op[], id: WriteId | undefined): void {
  const deadline = s.now + s.config.writeTimeoutMs
  if (id !== undefined) {
    admitWrite(s, request, ops, id, deadline)
  } else if (s.closing) {
    s.out.push({ type: 'reply', request, result: { ok: false, reason: 'closed' } })
  } else {
    s.queue.push({ requests: [request], ops, id, deadline })
  }
}

export function maybeStartTxn (s: NodeState): void {
  failExpiredWrites(s)
  if (s.active !== null || s.queue.length === 0 || s.closing || !s.ready || s.now < s.retryAt) return
  const { config } = s
  const writes: PendingWrite[] = []
  let opCount = 0
  let byteCount = 0
  for (const write of s.queue) {
    const bytes = opsBytes(write.ops)
    if (writes.length > 0 && (opCount + write.ops.length > config.groupOpsMax || byteCount + bytes > config.groupBytesMax)) break
    writes.push(write)
    opCount += write.ops.length
    byteCount += bytes
  }
  const ops = writes.flatMap((write) => write.ops)
  const keys = uniqueKeys(ops)
  const seq = s.nextSeq
  // SPEC §4.2: no-wait; a key held by a prepared remote transaction means back off and retry.
  if (!s.locks.tryAcquire(txnKey(config.id, seq), keys)) {
    for (const write of writes) write.reason = 'conflict'
    s.retryAt = s.now + backoffMs(s)
    return
  }
  s.queue.splice(0, writes.length)
  s.nextSeq++
  const txn = { seq, writes, ops, keys, state: 'preparing' as const, startedAt: s.now, yes: new Map(), no: new Set<string>() }
  s.active = txn
  if (config.minConsensus === 0) {
    decideCommit(s)
    return
  }
  if (seq <= s.reserved) {
    sendPrepares(s)
    return
  }
  // SPEC §5.1: a sequence number is durably reserved before any peer hears of it, so a
  // restarted origin never reuses one that a participant may hold prepared.
  s.active.state = 'reserving'
  const reserved = seq + config.reserveBlock - 1
  persist(s, [{ type: 'reserved', seq: reserved }], () => {
    if (reserved > s.reserved) s.reserved = reserved
    if (s.active?.seq !== seq || s.active.state !== 'reserving') return
    s.active.state = 'preparing'
    s.active.startedAt = s.now
    // Closed while reserving: no peer heard of it, so it is aborted before anyone does.
    if (s.closing) decideAbort(s, 'closed')
    else sendPrepares(s)
  })
}

function sendPrepares (s: NodeState): void {
  const txn = s.active
  assert(txn !== null, 'prepares are sent for the active transaction')
  for (const peer of s.peers) send(s, peer, { type: 'prepare', seq: txn.seq, ops: txn.ops, clock: s.clock })
}

export function onVote (s: NodeState, from: string, seq: number, yes: boolean, clock: number): void {
  if (clock > s.clock) s.clock = clock
  const txn = s.active
  if (txn === null || txn.seq !== seq || txn.state !== 'preparing') return
  if (yes) {
    txn.no.delete(from)
    txn.yes.set(from, clock)
  } else if (!txn.yes.has(from)) {
    txn.no.add(from)
  }
  const { minConsensus } = s.config
  if (txn.yes.size >= minConsensus) decideCommit(s)
  else if (Math.max(s.peerCount, s.peers.length) - txn.no.size < minConsensus) decideAbort(s, 'conflict')
}

function decideCommit (s: NodeState): void {
  const txn = s.active
  assert(txn !== null && txn.state === 'preparing', 'commit is decided for a preparing transaction')
  txn.state = 'deciding'
  // SPEC §3: the commit timestamp exceeds every clock in the quorum, hence every version
  // any quorum member has applied to these keys. The wall clock is only a lower bound.
  let ts = Math.max(s.clock, s.wall)
  for (const clock of txn.yes.values()) if (clock > ts) ts = clock
  if (s.config.mutation === 'commit-ts-from-wall') ts = s.wall
  ts += 1
  s.clock = Math.max(s.clock, ts)
  const writers = commitWriters(s, txn.seq, txn.writes)
  enqueueApply(s, { entries: [{ entry: { kind: 'commit', origin: s.config.id, seq: txn.seq, ts, ops: txn.ops }, source: 'own' }], writers })
}

function decideAbort (s: NodeState, reason: FailureReason): void {
  const txn = s.active
  assert(txn !== null && txn.state === 'preparing', 'abort is decided for a preparing transaction')
  txn.state = 'deciding'
  txn.abortReason = reason
  enqueueApply(s, { entries: [{ entry: { kind: 'abort', origin: s.config.id, seq: txn.seq }, source: 'own' }] })
}

/** Called by the apply pipeline once the active transaction's decision is durable: now it may be told. */
export function onActiveDecisionDurable (s: NodeState, entry: LogEntry): void {
  const { config } = s
  const txn = s.active
  assert(txn !== null && txn.seq === entry.seq && txn.state === 'deciding', 'an own decision belongs to the active transaction')
  s.locks.release(txnKey(config.id, txn.seq), txn.keys)
  s.active = null
  if (entry.kind === 'commit') {
    const committing: CommittingTxn = { seq: txn.seq, writes: txn.writes, entry, yesVoters: new Set(txn.yes.keys()), acks: new Set(), sentAt: s.now }
    sendCommit(s, committing, s.peers)
    if (config.minConsensus === 0) replyOk(s, committing)
    else if (s.closing) settleCommitting(s, committing)
    else s.committing.set(txn.seq, committing)
  } else {
    tellAbort(s, txn.seq)
    // A failed write reports the latest reason it was held back for.
    for (const write of txn.writes) write.reason = txn.abortReason
    if (s.closing) {
      failWrites(s, txn.writes)
    } else {
      s.queue.unshift(...txn.writes)
      s.retryAt = s.now + backoffMs(s)
    }
  }
}

function sendCommit (s: NodeState, txn: CommittingTxn, peers: readonly string[]): void {
  for (const peer of peers) {
    // Participants that voted yes hold the ops in their prepare record already.
    const ops = txn.yesVoters.has(peer) ? null : txn.entry.ops
    send(s, peer, { type: 'commit', seq: txn.seq, ts: txn.entry.ts, ops })
  }
  txn.sentAt = s.now
}

/**
 * SPEC §4.5: an abort is sent to every peer, and resent to connected ones until each peer
 * acknowledged it, so no participant holds its locks while the origin is there to tell it.
 */
export function tellAbort (s: NodeState, seq: number): void {
  for (const peer of s.peers) send(s, peer, { type: 'abort', seq })
  s.aborting.set(seq, { acked: new Set(), sentAt: s.now })
  // Bounded: a peer gone for good would keep entries for ever. The oldest go first; a peer
  // that missed one still learns it by catch-up (SPEC §6).
  for (const oldest of s.aborting.keys()) {
    if (s.aborting.size <= ABORTS_TOLD_MAX) break
    s.aborting.delete(oldest)
  }
}

/** Own aborts resent at once: beyond this many, the oldest are left to catch-up. */
const ABORTS_TOLD_MAX = 10_000

export function onAck (s: NodeState, from: string, seq: number): void {
  const aborting = s.aborting.get(seq)
  if (aborting !== undefined) {
    aborting.acked.add(from)
    if (aborting.acked.size >= Math.max(s.peerCount, s.peers.length)) s.aborting.delete(seq)
  }
  const txn = s.committing.get(seq)
  if (txn === undefined) return
  txn.acks.add(from)
  if (txn.acks.size < s.config.minConsensus) return
  s.committing.delete(seq)
  replyOk(s, txn)
}

function replyOk (s: NodeState, txn: CommittingTxn): void {
  for (const write of txn.writes) settleWrite(s, write, { ok: true })
}

/** Committed, not confirmed: at a close, every waiting write learns so at once. */
function settleCommitting (s: NodeState, txn: CommittingTxn): void {
  for (const write of txn.writes) settleWrite(s, write, { ok: false, reason: 'unconfirmed' })
}

/** Why a queued write that reaches its deadline failed, when nothing more specific was recorded. */
function blocker (s: NodeState): FailureReason {
  if (!s.storageOk) return 'storage'
  if (s.recovery !== null) return 'recovering'
  return s.connected.size >= s.config.minConsensus ? 'timeout' : 'not-ready'
}

function failExpiredWrites (s: NodeState): void {
  // It runs at the end of every step: look before building anything.
  if (!s.queue.some((write) => write.deadline <= s.now)) return
  const expired: PendingWrite[] = []
  const kept = s.queue.filter((write) => {
    if (write.deadline > s.now) return true
    write.reason ??= blocker(s)
    expired.push(write)
    return false
  })
  if (expired.length === 0) return
  s.queue.splice(0, s.queue.length, ...kept)
  failWrites(s, expired)
}

export function onCoordinatorTick (s: NodeState): void {
  const txn = s.active
  if (txn?.state === 'preparing') {
    const expired = txn.writes.some((write) => write.deadline <= s.now)
    if (expired || s.now - txn.startedAt >= s.config.prepareTimeoutMs) {
      decideAbort(s, txn.no.size > 0 ? 'conflict' : 'no-quorum')
    }
  }
  for (const committing of s.committing.values()) {
    if (s.now - committing.sentAt < s.config.commitResendMs) continue
    sendCommit(s, committing, s.peers.filter((peer) => !committing.acks.has(peer)))
  }
  for (const [seq, aborting] of s.aborting) {
    if (s.now - aborting.sentAt < s.config.commitResendMs) continue
    aborting.sentAt = s.now
    for (const peer of s.connected) if (!aborting.acked.has(peer)) send(s, peer, { type: 'abort', seq })
  }
}

/**
 * SPEC §4.6: a close starts nothing new and settles every write: queued ones fail, the
 * preparing transaction is aborted, committed ones are answered `unconfirmed` unless their
 * quorum already acknowledged them. A transaction being reserved or decided finishes first.
 */
export function onClose (s: NodeState): void {
  if (s.closing) return
  s.closing = true
  const queued = s.queue.splice(0)
  for (const write of queued) write.reason = 'closed'
  failWrites(s, queued)
  if (s.active?.state === 'preparing') decideAbort(s, 'closed')
  for (const txn of s.committing.values()) settleCommitting(s, txn)
  s.committing.clear()
  settleConfirming(s, 'unconfirmed')
}
