import { dropCopiesOut, onPeerGone } from './catch-up.js'
import { unnamedMember } from './config.js'
import { abortUndecided, finishChange } from './coordinator.js'
import type { RequestId } from './effects.js'
import { restartFences } from './fences.js'
import { type Membership, type MembershipChange, peerCountOf, planChange } from './membership.js'
import { dropPrepared } from './participant.js'
import { onRecoveryPeerGone } from './recovery.js'
import { type NodeState, updateReady } from './state.js'
import { restartStrongReads } from './strong-reads.js'

/** A membership change asked of this host (SPEC §15.2): checked now, started when nothing else is in flight. */
export function submitChange (s: NodeState, request: RequestId, change: MembershipChange): void {
  const reply = (result: Parameters<typeof finishChange>[1]): void => { s.out.push({ type: 'membership-result', request, result }) }
  if (s.closing) return reply({ ok: false, reason: 'closed' })
  if (s.change !== null) return reply({ ok: false, reason: 'busy', message: 'another membership change is under way on this host' })
  const plan = planChange(s.membership, s.config.name, change)
  if (!plan.ok) return reply({ ok: false, reason: 'invalid', message: plan.reason })
  if (plan.next === s.membership) return reply({ ok: true, membership: s.membership })
  s.change = { request, change, deadline: s.now + s.config.writeTimeoutMs, seq: null }
}

/**
 * This host applied a membership change, or a full copy of a later membership (SPEC §15.4).
 * Everything counted against the old one starts over: connections are forgotten until the
 * host reports the members connected again, own transactions not yet decided are aborted
 * (their prepares carry the old epoch), and strong reads, fences and a recovery round ask again.
 */
export function switchMembership (s: NodeState, membership: Membership): void {
  s.membership = membership
  // SPEC §15.4: a transaction prepared here under an earlier membership and not applied now
  // is none the change's voters had decided: it never committed, and never will (its quorum
  // would have met one of them). Dropped, so that an origin gone with the old membership
  // holds no lock here for ever; its abort, if it comes, is applied as any other.
  for (const txn of [...s.prepared.values()]) if (txn.durable && !s.marks.covers(txn.origin, txn.seq)) dropPrepared(s, txn)
  s.peerCount = peerCountOf(membership, s.config.name)
  for (const peer of s.connected) onPeerGone(s, peer)
  dropCopiesOut(s)
  s.connected.clear()
  s.peers.length = 0
  s.peerMarks.clear()
  abortUndecided(s)
  restartStrongReads(s)
  restartFences(s)
  onRecoveryPeerGone(s)
  updateReady(s)
  s.out.push({ type: 'membership', membership })
}

/**
 * The host was told of one more peer without a name (`addPeer` of level-2pc, kept for
 * epoch 0): it counts as an unnamed member, until a change names the members.
 */
export function addUnnamedMember (s: NodeState): void {
  const { members } = s.membership
  let n = 1
  while (members.includes(unnamedMember(n))) n++
  s.membership = { ...s.membership, members: [...members, unnamedMember(n)].sort() }
  s.peerCount = peerCountOf(s.membership, s.config.name)
}
