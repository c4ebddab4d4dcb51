import { decidedMarks, enqueueApply, isApplyPending } from './apply.js'
import { SPANS_MAX, sendSync } from './catch-up.js'
import type { StorageWrite } from './effects.js'
import type { Message } from './messages.js'
import { type NodeState, type PreparedTxn, persist, send, uniqueKeys } from './state.js'
import { type HostId, type Op, txnKey } from './types.js'
import { MEMBERSHIP_KEY, isMembershipOps } from './membership.js'
import { describeApplied } from './marks.js'

/** A participant's side of two-phase commit: lock and record, vote, apply the decision. */

export function onPrepare (s: NodeState, from: HostId, message: Extract<Message, { type: 'prepare' }>): void {
  const { seq, ops } = message
  if (message.clock > s.clock) s.clock = message.clock
  // A decided transaction's prepare is a late or duplicated message: nothing to vote on.
  if (s.marks.covers(from, seq) || isApplyPending(s, from, seq)) return
  const key = txnKey(from, seq)
  const existing = s.prepared.get(key)
  if (existing !== undefined) {
    if (existing.durable) sendVote(s, existing)
    return
  }
  const keys = uniqueKeys(ops)
  // SPEC §5.4: a host asking its peers may have lost its own decisions, and the clock they
  // raised: a yes vote now could order a write before one of them. It votes no until then.
  // SPEC §15.2: nor does it vote on a transaction of another membership than its own, nor
  // beside a membership change, which prepares only where nothing else is.
  // Nor does a host outside its own membership (removed, or not yet added): it is nobody's peer.
  if (s.recovery?.kind === 'asking' || !sameEpoch(s, message.epoch) || !isMember(s) || !admits(s, ops) || !s.locks.tryAcquire(key, keys)) {
    send(s, from, { type: 'vote', seq, yes: false, clock: s.clock, before: null })
    return
  }
  // SPEC §3: the vote carries the clock of this moment, and it is persisted with the record,
  // so a vote sent again after a restart never carries a lower one.
  const withoutClock = s.config.mutation === 'prepare-without-clock'
  const clock = s.clock
  const txn: PreparedTxn = { origin: from, seq, ops, keys, clock, durable: false, locked: true, touched: false, since: s.now }
  s.prepared.set(key, txn)
  const epoch = s.membership.epoch
  const onDurable = (): void => {
    txn.durable = true
    if (s.prepared.get(key) !== txn) return
    // Decided while the record was being written: the record is stale. Or the membership
    // changed meanwhile: it never committed (SPEC §15.4), and no vote is owed.
    if (s.marks.covers(from, seq) || s.membership.epoch !== epoch) {
      dropPrepared(s, txn)
      return
    }
    if (s.config.mutation === 'release-locks-early') {
      s.locks.release(key, keys)
      txn.locked = false
    }
    sendVote(s, txn)
  }
  // SPEC §4.3: a yes vote is sent only once the prepare record is durable, and synced: a
  // vote is a promise that must outlive a power loss, whatever the host's `sync` setting.
  if (s.config.mutation === 'skip-durable-prepare') {
    onDurable()
    return
  }
  const writes: StorageWrite[] = [{ type: 'prepare', origin: from, seq, ops, clock }]
  const writesClock = !withoutClock && clock > s.clockIssued
  if (writesClock) {
    writes.push({ type: 'clock', ts: clock })
    s.clockIssued = clock
  }
  persist(s, writes, () => {
    if (writesClock && clock > s.clockDurable) s.clockDurable = clock
    onDurable()
  }, true)
}

/**
 * Deletes a prepare record whose decision is already applied. No sync would ever resolve it,
 * since the decision is not missing; left alone, it would hold its locks forever.
 */
export function dropPrepared (s: NodeState, txn: PreparedTxn): void {
  const key = txnKey(txn.origin, txn.seq)
  persist(s, [{ type: 'unprepare', origin: txn.origin, seq: txn.seq }], () => {
    if (s.prepared.get(key) === txn) s.prepared.delete(key)
    if (txn.locked) s.locks.release(key, txn.keys)
  })
}

function sendVote (s: NodeState, txn: PreparedTxn): void {
  const clock = s.config.mutation === 'prepare-without-clock' ? s.clock : txn.clock
  // SPEC §15.3: a yes to a membership change names every decision this host knows, applied
  // or being applied: whoever applies the change applies those first.
  const before = isMembershipOps(txn.ops) ? describeApplied(decidedMarks(s), SPANS_MAX) : null
  if (isMembershipOps(txn.ops) && before === null) {
    send(s, txn.origin, { type: 'vote', seq: txn.seq, yes: false, clock, before: null })
    return
  }
  send(s, txn.origin, { type: 'vote', seq: txn.seq, yes: true, clock, before })
}

function isMember (s: NodeState): boolean {
  return s.membership.members.includes(s.config.name)
}

function sameEpoch (s: NodeState, epoch: number): boolean {
  return epoch === s.membership.epoch || s.config.mutation === 'membership-without-epoch-check'
}

/**
 * SPEC §15.2: a membership change is prepared only where no key is locked, and nothing is
 * prepared beside one; so every transaction a voter took part in before the change is
 * decided there first, and none after it is voted for under the old membership.
 */
function admits (s: NodeState, ops: readonly Op[]): boolean {
  if (isMembershipOps(ops)) return s.locks.size === 0
  return s.locks.holders(MEMBERSHIP_KEY) === undefined
}

export function onCommit (s: NodeState, from: HostId, message: Extract<Message, { type: 'commit' }>): void {
  const { seq, ts } = message
  if (ts > s.clock) s.clock = ts
  if (s.marks.covers(from, seq)) {
    send(s, from, { type: 'ack', seq })
    return
  }
  const ops = message.ops ?? s.prepared.get(txnKey(from, seq))?.ops
  if (ops === undefined) {
    // A yes-voter's commit carries no ops; without a prepare record, fetch the entry instead.
    sendSync(s, from)
    return
  }
  enqueueApply(s, { entries: [{ entry: { kind: 'commit', origin: from, seq, ts, ops }, source: 'decision' }] })
}

export function onAbort (s: NodeState, from: HostId, seq: number): void {
  if (s.marks.covers(from, seq)) {
    send(s, from, { type: 'ack', seq })
    return
  }
  enqueueApply(s, { entries: [{ entry: { kind: 'abort', origin: from, seq }, source: 'decision' }] })
}
