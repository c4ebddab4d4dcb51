import { enqueueApply } from './apply.js'
import { SPANS_MAX, sendSync } from './catch-up.js'
import type { Message } from './messages.js'
import { type NodeState, type RecoveryReport, persist, send, updateReady } from './state.js'
import type { HostId } from './types.js'

/**
 * SPEC §5.4: after a start, a host decides nothing until it knows which of its own sequence
 * numbers are decided. If storage is intact, its own log says so: every reserved number it
 * has no entry for was never decided, and is aborted at once (presumed abort). If storage may
 * have lost data (a power loss without sync, a restore from a copy), decisions it sent before
 * may be gone from its log but held by peers: it asks every peer, takes back what they hold,
 * and only then aborts the numbers nobody decided. Never two decisions for one number.
 */

export function startRecovery (s: NodeState, intact: boolean): void {
  // A host with no peers never sent a decision to anyone: its own log is all there is.
  if (intact || s.config.mutation === 'restart-abort-without-peers' || s.peerCount === 0) {
    finish(s, s.reserved)
    return
  }
  s.recovery = { kind: 'asking', reports: new Map(), askedAt: s.now }
}

/** A peer connected: ask it, if this host is still asking. */
export function askPeer (s: NodeState, peer: HostId): void {
  if (s.recovery?.kind === 'asking') send(s, peer, { type: 'recover', start: s.start })
}

/** A peer went away: what it answered may not hold when it is back. */
export function onRecoveryPeerGone (s: NodeState): void {
  startRoundOver(s)
}

/**
 * Asks again whoever has not answered this round, and pulls again from whoever named
 * entries this host does not hold yet.
 */
export function onRecoveryTick (s: NodeState): void {
  const recovery = s.recovery
  if (recovery?.kind !== 'asking' || s.now - recovery.askedAt < s.config.syncIntervalMs) return
  recovery.askedAt = s.now
  for (const peer of s.connected) {
    const report = recovery.reports.get(peer)
    if (report === undefined) send(s, peer, { type: 'recover', start: s.start })
    else if (!holdsReported(s, report)) sendSync(s, peer)
  }
}

/**
 * Answers a peer that asks what this host holds of the peer's own log: what it applied, and
 * what it received and is applying (an entry that reached this host is held here from then).
 * A peer asking with a new `start` lost data since it last asked: if this host is asking
 * too, its round starts over, since entries that peer named may be gone, and moved before.
 */
export function onRecover (s: NodeState, from: HostId, start: number): void {
  if (s.peerStarts.get(from) !== start) {
    s.peerStarts.set(from, start)
    startRoundOver(s)
  }
  const marks = s.marks.clone()
  for (const job of [...s.applyQueue, ...s.applying ?? []]) {
    for (const { entry } of job.entries) if (entry.origin === from) marks.add(from, entry.seq)
  }
  // A copy wholly staged is applied whatever happens, a restart included (SPEC §6.3).
  const copied = s.copyApply !== null && Object.hasOwn(s.copyApply.marks, from) ? s.copyApply.marks[from] : undefined
  if (copied !== undefined) marks.jump(from, copied)
  const above = marks.above(from)
  const prepared: number[] = []
  for (const txn of s.prepared.values()) if (txn.origin === from) prepared.push(txn.seq)
  // Too much to tell in one message: stay silent. The asker waits, this host's own
  // catch-up closes its gaps meanwhile, and a later answer fits.
  if (above.length > SPANS_MAX || prepared.length > SPANS_MAX) return
  send(s, from, { type: 'recovery', contiguous: marks.contiguous(from), above, prepared, clock: s.clock, epoch: s.membership.epoch })
}

/**
 * Forgets this round's answers and asks every connected peer again. An entry of this host's
 * log can only move between peers; it can be lost only where a peer loses data, and such a
 * peer disconnects, then asks with a new start. Within a round with neither, every entry a
 * live host holds was held by one that answered when it answered.
 */
function startRoundOver (s: NodeState): void {
  const recovery = s.recovery
  if (recovery?.kind !== 'asking') return
  recovery.reports.clear()
  recovery.askedAt = s.now
  for (const peer of s.connected) send(s, peer, { type: 'recover', start: s.start })
}

export function onRecoveryReport (s: NodeState, from: HostId, message: Extract<Message, { type: 'recovery' }>): void {
  // SPEC §3 rule 1: a host that lost its clock takes its peers' back, so that nothing it
  // decides is ordered at or below a horizon they collect through (§6.5).
  if (message.clock > s.clock && s.config.mutation !== 'recovery-keeps-clock') s.clock = message.clock
  if (s.recovery?.kind !== 'asking') return
  const report: RecoveryReport = { contiguous: message.contiguous, above: message.above, prepared: message.prepared, epoch: message.epoch }
  s.recovery.reports.set(from, report)
  if (!holdsReported(s, report)) sendSync(s, from)
  checkRecovery(s)
}

/**
 * Finishes asking once every peer answered in this round, and this host holds every own
 * entry the answers name, and runs under the latest membership they name: a disk that went
 * back may hold an older one, without members added since, who may hold its numbers too
 * (simulator seed 195,482). Applying the later one starts the round over, with its members.
 * Called after each answer and after each apply batch.
 */
export function checkRecovery (s: NodeState): void {
  const recovery = s.recovery
  if (recovery?.kind !== 'asking' || recovery.reports.size < s.peerCount) return
  let through = s.reserved
  for (const report of recovery.reports.values()) {
    if (!holdsReported(s, report) || report.epoch > s.membership.epoch) return
    through = Math.max(through, report.contiguous, ...report.above.map(([, last]) => last), ...report.prepared)
  }
  finish(s, through)
}

function holdsReported (s: NodeState, report: RecoveryReport): boolean {
  const self = s.config.id
  return s.marks.coversRange(self, 1, report.contiguous) && report.above.every(([start, last]) => s.marks.coversRange(self, start, last))
}

/** Aborts every own number up to `through` that no applied entry covers; then writes may start. */
function finish (s: NodeState, through: number): void {
  const self = s.config.id
  const highest = Math.max(through, s.marks.highest(self))
  s.nextSeq = Math.max(s.nextSeq, highest + 1)
  if (highest > s.reserved) {
    // Numbers peers hold are used, whatever this disk says: reserve them durably (before the
    // aborts, in storage order), so that no later start, even a trusting one, reuses them.
    s.reserved = highest
    s.reservingRecovered = true
    persist(s, [{ type: 'reserved', seq: highest }], () => { s.reservingRecovered = false }, true)
  }
  const gaps = s.marks.gaps(self, 1, highest)
  let remaining = 0
  for (const [first, last] of gaps) {
    for (let seq = first; seq <= last; seq++) {
      enqueueApply(s, { entries: [{ entry: { kind: 'abort', origin: self, seq }, source: 'own' }] })
      remaining++
    }
  }
  s.recovery = remaining === 0 ? null : { kind: 'aborting', remaining }
  updateReady(s)
}

/** One of the aborts `finish` issued is durable. */
export function onRecoveryAbortDurable (s: NodeState): void {
  if (s.recovery?.kind !== 'aborting') return
  s.recovery.remaining--
  if (s.recovery.remaining > 0) return
  s.recovery = null
  updateReady(s)
}
