import { assert } from './assert.js'
import { enqueueApply } from './apply.js'
import type { FailureReason, RequestId } from './effects.js'
import { type CommittingTxn, type NodeState, type PendingWrite, backoffMs, persist, send, uniqueKeys } from './state.js'
import { type LogEntry, type Op, opsBytes, txnKey } from './types.js'

/** The origin's side of two-phase commit: group, lock, prepare, decide, collect acks. */

export function submitWrite (s: NodeState, request: RequestId, ops: readonly Op[]): void {
  s.queue.push({ request, ops, deadline: s.now + s.config.writeTimeoutMs })
  maybeStartTxn(s)
}

export function maybeStartTxn (s: NodeState): void {
  failExpiredWrites(s)
  if (s.active !== null || s.queue.length === 0 || s.restarting || !s.ready || s.now < s.retryAt) return
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
    sendPrepares(s)
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
  // any quorum member has applied to these keys.
  let ts = Math.max(s.clock, s.now)
  for (const clock of txn.yes.values()) if (clock > ts) ts = clock
  ts += 1
  s.clock = ts
  enqueueApply(s, { entries: [{ entry: { kind: 'commit', origin: s.config.id, seq: txn.seq, ts, ops: txn.ops }, source: 'own' }] })
}

function decideAbort (s: NodeState, reason: FailureReason): void {
  const txn = s.active
  assert(txn !== null && txn.state === 'preparing', 'abort is decided for a preparing transaction')
  txn.state = 'deciding'
  txn.abortReason = reason
  enqueueApply(s, { entries: [{ entry: { kind: 'abort', origin: s.config.id, seq: txn.seq, last: txn.seq }, source: 'own' }] })
}

/** Called by the apply pipeline once an own decision is durable: now it may be told. */
export function onOwnDecisionDurable (s: NodeState, entry: LogEntry): void {
  const { config } = s
  if (s.active === null) {
    assert(s.restarting && entry.kind === 'abort', 'an own decision without an active transaction is the restart abort')
    s.restarting = false
    maybeStartTxn(s)
    return
  }
  const txn = s.active
  assert(txn !== null && txn.seq === entry.seq && txn.state === 'deciding', 'an own decision belongs to the active transaction')
  s.locks.release(txnKey(config.id, txn.seq), txn.keys)
  s.active = null
  if (entry.kind === 'commit') {
    const committing: CommittingTxn = { seq: txn.seq, writes: txn.writes, entry, yesVoters: new Set(txn.yes.keys()), acks: new Set(), sentAt: s.now }
    sendCommit(s, committing, s.peers)
    if (config.minConsensus === 0) replyOk(s, committing)
    else s.committing.set(txn.seq, committing)
  } else {
    for (const peer of s.peers) send(s, peer, { type: 'abort', seq: txn.seq })
    // A failed write reports the latest reason it was held back for.
    for (const write of txn.writes) write.reason = txn.abortReason
    s.queue.unshift(...txn.writes)
    s.retryAt = s.now + backoffMs(s)
  }
  maybeStartTxn(s)
}

function sendCommit (s: NodeState, txn: CommittingTxn, peers: readonly string[]): void {
  for (const peer of peers) {
    // Participants that voted yes hold the ops in their prepare record already.
    const ops = txn.yesVoters.has(peer) ? null : txn.entry.ops
    send(s, peer, { type: 'commit', seq: txn.seq, ts: txn.entry.ts, ops })
  }
  txn.sentAt = s.now
}

export function onAck (s: NodeState, from: string, seq: number): void {
  const txn = s.committing.get(seq)
  if (txn === undefined) return
  txn.acks.add(from)
  if (txn.acks.size < s.config.minConsensus) return
  s.committing.delete(seq)
  replyOk(s, txn)
}

function replyOk (s: NodeState, txn: CommittingTxn): void {
  for (const write of txn.writes) s.out.push({ type: 'reply', request: write.request, result: { ok: true } })
}

function failExpiredWrites (s: NodeState): void {
  if (s.queue.length === 0) return
  const kept = s.queue.filter((write) => {
    if (write.deadline > s.now) return true
    const reason = write.reason ?? (s.ready ? 'timeout' : 'not-ready')
    s.out.push({ type: 'reply', request: write.request, result: { ok: false, reason } })
    return false
  })
  s.queue.splice(0, s.queue.length, ...kept)
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
  maybeStartTxn(s)
}
