import { assert } from './assert.js'
import { changeOf, decidedMarks, enqueueApply } from './apply.js'
import type { ChangeResult, FailureReason, RequestId } from './effects.js'
import { describeApplied } from './marks.js'
import { MEMBERSHIP_KEY, changeQuorum, encodeChange, isMembershipOps, planChange } from './membership.js'
import type { Message } from './messages.js'
import { type ActiveTxn, type CommittingTxn, type NodeState, type PendingWrite, backoffMs, persist, queueWrite, send, uniqueKeys } from './state.js'
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
    queueWrite(s, { requests: [request], ops, id, deadline, order: 0 })
  }
}

/** Starts transactions from the head of the queue while the pipeline has room (SPEC §4.2). */
export function maybeStartTxn (s: NodeState): void {
  failExpiredWrites(s)
  while (startTxn(s));
}

function startTxn (s: NodeState): boolean {
  if (s.closing || s.now < s.retryAt) return false
  // SPEC §15.2: a membership change goes alone, once nothing of this host is in flight or
  // locked; writes wait for it, and while it is prepared here or anywhere it is voted on. It
  // needs its own quorum connected, not the writes': a member gone for good can be removed.
  if (s.change !== null) return s.change.seq === null && s.active.length === 0 && s.locks.size === 0 && canChange(s) && startChange(s)
  if (!s.ready || s.queue.length === 0 || s.locks.holders(MEMBERSHIP_KEY) !== undefined) return false
  const { config } = s
  if (s.active.length >= config.pipelineDepth) return false
  for (const txn of s.active) {
    // An abort puts its writes back in the queue once durable: until then nothing behind
    // them may start, or a writer's later write could commit before its earlier one. A
    // reservation covers the numbers after it too: wait for it rather than write another.
    if (txn.decision === 'abort' || txn.state === 'reserving') return false
  }
  const writes: PendingWrite[] = []
  let opCount = 0
  let byteCount = 0
  let full = false
  for (const write of s.queue) {
    const bytes = opsBytes(write.ops)
    if (writes.length > 0 && (opCount + write.ops.length > config.groupOpsMax || byteCount + bytes > config.groupBytesMax)) {
      full = true
      break
    }
    // Own transactions in flight never share a key: the write waits, and so does every
    // write behind it (one order for the queue).
    if (write.ops.some((op) => s.activeKeys.has(op.key))) break
    writes.push(write)
    opCount += write.ops.length
    byteCount += bytes
  }
  if (writes.length === 0) return false
  // One transaction collects votes at a time unless the queue holds more than a group: the
  // writes that arrive meanwhile make the next group bigger, which costs less per write than
  // more transactions would (every transaction is messages, a synced record per participant
  // and batches). Those beyond a full group go at once.
  if (!full && s.active.some((txn) => txn.state === 'preparing')) return false
  const ops = writes.flatMap((write) => write.ops)
  if (!launch(s, writes, ops)) {
    for (const write of writes) write.reason = 'conflict'
    return false
  }
  s.queue.splice(0, writes.length)
  return true
}

/**
 * Starts the membership change this host proposes, planned again against the membership in
 * force now: it may have become true, or impossible, since it was asked for.
 */
function startChange (s: NodeState): boolean {
  const pending = s.change
  assert(pending !== null && pending.seq === null, 'a change starts once at a time')
  const plan = planChange(s.membership, s.config.name, pending.change)
  if (!plan.ok || plan.next === s.membership) {
    finishChange(s, plan.ok ? { ok: true, membership: s.membership } : { ok: false, reason: 'invalid', message: plan.reason })
    return false
  }
  if (!launch(s, [], [{ type: 'put', key: MEMBERSHIP_KEY, value: encodeChange(plan.next, null) }])) return false
  pending.seq = s.nextSeq - 1
  return true
}

function canChange (s: NodeState): boolean {
  return s.recovery === null && s.storageOk && s.membership.members.includes(s.config.name) && s.connected.size >= changeQuorum(s.membership, s.peerCount)
}

/** Answers the change this host proposes. */
export function finishChange (s: NodeState, result: ChangeResult): void {
  const pending = s.change
  if (pending === null) return
  s.change = null
  s.out.push({ type: 'membership-result', request: pending.request, result })
}

/** Locks `ops`' keys and starts an own transaction with them, unless a key is held. */
function launch (s: NodeState, writes: PendingWrite[], ops: Op[]): boolean {
  const { config } = s
  const keys = uniqueKeys(ops)
  const seq = s.nextSeq
  // SPEC §5.4: after a start, nextSeq lies above every own number anyone holds a decision for.
  assert(!s.marks.covers(config.id, seq), `own sequence number ${seq} is decided already`)
  // SPEC §4.2: no-wait; a key held by a prepared remote transaction means back off and retry.
  if (!s.locks.tryAcquire(txnKey(config.id, seq), keys)) {
    s.retryAt = s.now + backoffMs(s)
    return false
  }
  for (const key of keys) s.activeKeys.add(key)
  s.nextSeq++
  const change = isMembershipOps(ops)
  const txn: ActiveTxn = { seq, writes, ops, keys, state: 'preparing', startedAt: s.now, yes: new Map(), no: new Set<string>(), ...(change ? { before: new Map() } : {}) }
  s.active.push(txn)
  if (quorumOf(s, txn) === 0) {
    decideInOrder(s)
    return true
  }
  if (seq <= s.reserved) {
    sendPrepares(s, txn)
    return true
  }
  // SPEC §5.1: a sequence number is durably reserved before any peer hears of it, so a
  // restarted origin never reuses one that a participant may hold prepared.
  txn.state = 'reserving'
  const reserved = seq + config.reserveBlock - 1
  persist(s, [{ type: 'reserved', seq: reserved }], () => {
    if (reserved > s.reserved) s.reserved = reserved
    if (txn.state !== 'reserving') return
    txn.state = 'preparing'
    txn.startedAt = s.now
    // Aborted while reserving (a close, or an earlier transaction's abort): no peer heard of
    // it, so it is aborted before anyone does.
    if (txn.abortWhenReserved !== undefined) decideAbort(s, txn, txn.abortWhenReserved)
    else sendPrepares(s, txn)
  })
  return true
}

function sendPrepares (s: NodeState, txn: ActiveTxn): void {
  for (const peer of s.peers) send(s, peer, { type: 'prepare', seq: txn.seq, ops: txn.ops, clock: s.clock, epoch: s.membership.epoch })
}

/** Yes votes `txn` needs: `minConsensus`, and for a membership change a majority at least (SPEC §15.2). */
function quorumOf (s: NodeState, txn: ActiveTxn): number {
  return txn.before === undefined ? s.membership.minConsensus : changeQuorum(s.membership, s.peerCount)
}

export function onVote (s: NodeState, from: string, vote: Extract<Message, { type: 'vote' }>): void {
  const { seq, yes, clock } = vote
  if (clock > s.clock) s.clock = clock
  const txn = s.active.find((active) => active.seq === seq)
  if (txn === undefined || txn.state !== 'preparing') return
  if (yes && txn.before !== undefined) {
    // A yes to a change that names nothing it applied cannot be counted (SPEC §15.3).
    if (vote.before === null) return
    txn.before.set(from, vote.before)
  }
  if (yes) {
    txn.no.delete(from)
    txn.yes.set(from, clock)
  } else if (!txn.yes.has(from)) {
    txn.no.add(from)
  }
  // Too many no votes make a quorum impossible.
  if (!txn.yes.has(from) && Math.max(s.peerCount, s.peers.length) - txn.no.size < quorumOf(s, txn)) abortFrom(s, txn, 'conflict')
  else decideInOrder(s)
}

/**
 * SPEC §4.4: own transactions commit in sequence order. One whose quorum voted yes commits
 * once every earlier one is decided commit; until then it waits. So a writer's writes commit
 * in the order they were queued, whatever order the votes arrive in.
 */
function decideInOrder (s: NodeState): void {
  const outOfOrder = s.config.mutation === 'commit-out-of-order'
  for (const txn of s.active) {
    if (txn.state === 'preparing' && txn.yes.size >= quorumOf(s, txn)) decideCommit(s, txn)
    else if (txn.decision !== 'commit' && !outOfOrder) return
  }
}

/**
 * Aborts `txn` and every later undecided own transaction: a later one may carry a later write
 * of the same writer, which must not commit before this one's writes do. None of them is
 * decided commit, since commits are decided in order.
 */
function abortFrom (s: NodeState, txn: ActiveTxn, reason: FailureReason): void {
  const later = s.config.mutation === 'commit-out-of-order' ? [txn] : s.active.filter((active) => active.seq >= txn.seq)
  for (const active of later) {
    if (active.state === 'preparing') decideAbort(s, active, reason)
    else if (active.state === 'reserving') active.abortWhenReserved = reason
  }
}

/**
 * Own transactions not yet decided are aborted, and their writes queued again: their
 * prepares carry an epoch no longer in force here (SPEC §15.4).
 */
export function abortUndecided (s: NodeState): void {
  const first = s.active.find((txn) => txn.state === 'preparing' || txn.state === 'reserving')
  if (first !== undefined) abortFrom(s, first, 'conflict')
}

function decideCommit (s: NodeState, txn: ActiveTxn): void {
  assert(txn.state === 'preparing', 'commit is decided for a preparing transaction')
  txn.state = 'deciding'
  txn.decision = 'commit'
  // SPEC §3: the commit timestamp exceeds every clock in the quorum, hence every version
  // any quorum member has applied to these keys. The wall clock is only a lower bound.
  let ts = Math.max(s.clock, s.wall)
  for (const clock of txn.yes.values()) if (clock > ts) ts = clock
  if (s.config.mutation === 'commit-ts-from-wall') ts = s.wall
  ts += 1
  s.clock = Math.max(s.clock, ts)
  const writers = commitWriters(s, txn.seq, txn.writes)
  enqueueApply(s, { entries: [{ entry: { kind: 'commit', origin: s.config.id, seq: txn.seq, ts, ops: decidedOps(s, txn) }, source: 'own' }], writers })
}

/**
 * What the commit entry carries: the transaction's ops; for a membership change, with what
 * its quorum had applied or decided, this host included, which every host applies first
 * (SPEC §15.3).
 */
function decidedOps (s: NodeState, txn: ActiveTxn): readonly Op[] {
  if (txn.before === undefined) return txn.ops
  const own = describeApplied(decidedMarks(s), Number.POSITIVE_INFINITY)
  assert(own !== null, 'marks are described whatever their spans')
  const { membership } = changeOf({ kind: 'commit', origin: s.config.id, seq: txn.seq, ts: 0, ops: txn.ops })
  return [{ type: 'put', key: MEMBERSHIP_KEY, value: encodeChange(membership, [own, ...txn.before.values()]) }]
}

function decideAbort (s: NodeState, txn: ActiveTxn, reason: FailureReason): void {
  assert(txn.state === 'preparing', 'abort is decided for a preparing transaction')
  txn.state = 'deciding'
  txn.decision = 'abort'
  txn.abortReason = reason
  enqueueApply(s, { entries: [{ entry: { kind: 'abort', origin: s.config.id, seq: txn.seq }, source: 'own' }] })
}

/** Called by the apply pipeline once an own transaction's decision is durable: now it may be told. */
export function onActiveDecisionDurable (s: NodeState, entry: LogEntry): void {
  const { config } = s
  const index = s.active.findIndex((active) => active.seq === entry.seq)
  const txn = s.active[index]
  assert(txn !== undefined && txn.state === 'deciding', 'an own decision belongs to an active transaction')
  s.locks.release(txnKey(config.id, txn.seq), txn.keys)
  for (const key of txn.keys) s.activeKeys.delete(key)
  s.active.splice(index, 1)
  if (txn.before !== undefined) {
    onChangeDecisionDurable(s, txn, entry)
    return
  }
  if (entry.kind === 'commit') {
    const committing: CommittingTxn = { seq: txn.seq, writes: txn.writes, entry, yesVoters: new Set(txn.yes.keys()), acks: new Set(), sentAt: s.now }
    sendCommit(s, committing, s.peers)
    if (s.membership.minConsensus === 0) replyOk(s, committing)
    else if (s.closing) settleCommitting(s, committing)
    else s.committing.set(txn.seq, committing)
  } else {
    tellAbort(s, txn.seq)
    // A failed write reports the latest reason it was held back for.
    for (const write of txn.writes) write.reason = txn.abortReason
    if (s.closing) {
      failWrites(s, txn.writes)
    } else {
      requeue(s, txn.writes)
      s.retryAt = s.now + backoffMs(s)
    }
  }
}

/**
 * An own membership change is decided and durable, and a commit applied (SPEC §15.3): the
 * membership is in force here, and the change answered. Its peers learn the decision as any
 * other: the commit is sent and resent until acknowledged, and catch-up carries it too.
 */
function onChangeDecisionDurable (s: NodeState, txn: ActiveTxn, entry: LogEntry): void {
  if (entry.kind === 'commit') {
    // Sent once: a peer that misses it pulls it by catch-up, as a prepared one asks its origin (§5.3).
    sendCommit(s, { seq: txn.seq, writes: [], entry, yesVoters: new Set(), acks: new Set(), sentAt: s.now }, s.peers)
    finishChange(s, { ok: true, membership: changeOf(entry).membership })
    return
  }
  tellAbort(s, txn.seq)
  if (s.change !== null) s.change.seq = null
  if (s.closing) finishChange(s, { ok: false, reason: 'closed' })
  else s.retryAt = s.now + backoffMs(s)
}

/** Puts an aborted transaction's writes back where they were in the queue. */
function requeue (s: NodeState, writes: readonly PendingWrite[]): void {
  s.queue.push(...writes)
  s.queue.sort((a, b) => a.order - b.order)
}

function sendCommit (s: NodeState, txn: CommittingTxn, peers: readonly string[]): void {
  for (const peer of peers) {
    // Participants that voted yes hold the ops in their prepare record already; but for a
    // membership change's, whose entry adds what its quorum had applied.
    const ops = txn.yesVoters.has(peer) && !isMembershipOps(txn.entry.ops) ? null : txn.entry.ops
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
  if (txn.acks.size < s.membership.minConsensus) return
  s.committing.delete(seq)
  replyOk(s, txn)
}

function replyOk (s: NodeState, txn: CommittingTxn): void {
  // A membership change was answered when it applied here; its acks only stop the resends.
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
  return s.connected.size >= s.membership.minConsensus ? 'timeout' : 'not-ready'
}

function failExpiredWrites (s: NodeState): void {
  if (s.change !== null && s.change.seq === null && s.change.deadline <= s.now) finishChange(s, { ok: false, reason: canChange(s) ? 'timeout' : 'not-ready' })
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
  for (const txn of s.active) {
    if (txn.state !== 'preparing') continue
    const expired = txn.writes.some((write) => write.deadline <= s.now)
    if (expired || s.now - txn.startedAt >= s.config.prepareTimeoutMs) {
      abortFrom(s, txn, txn.no.size > 0 ? 'conflict' : 'no-quorum')
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
  for (const txn of s.active) {
    if (txn.state === 'preparing') decideAbort(s, txn, 'closed')
    else if (txn.state === 'reserving') txn.abortWhenReserved = 'closed'
  }
  for (const txn of s.committing.values()) settleCommitting(s, txn)
  s.committing.clear()
  settleConfirming(s, 'unconfirmed')
  if (s.change?.seq === null) finishChange(s, { ok: false, reason: 'closed' })
}
