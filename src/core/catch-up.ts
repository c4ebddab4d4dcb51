import { decidedMarks, enqueueApply, isApplyPending } from './apply.js'
import { assert } from './assert.js'
import type { Message } from './messages.js'
import type { LogRange } from './effects.js'
import { markOf, uncovered } from './marks.js'
import { STAGING_MAX, isCopyingIn, onCopyTick } from './copy-in.js'
import { type NodeState, type OutgoingSnapshot, read, send } from './state.js'
import { type HostId, type LogEntry, entryBytes } from './types.js'
import { onPeerMark } from './writers.js'

/**
 * Catch-up and termination: a host pulls the log entries it misses from its peers in turn,
 * and from the origin of any transaction it holds prepared. When a peer's log no longer
 * reaches back far enough, the peer sends a full copy instead.
 */

function entriesBytes (entries: readonly LogEntry[]): number {
  let bytes = 0
  for (const entry of entries) bytes += entryBytes(entry)
  return bytes
}

/** Most spans a message lists per origin; beyond it, the rest are left out (SPEC §6.1). */
export const SPANS_MAX = 10_000

/**
 * Asks `to` for what this host misses. The spans above the contiguous marks are named too:
 * an origin's entries can have gaps for good (a host that held them is gone), and replies
 * cut at their limit would otherwise repeat what this host holds and never reach past it.
 */
export function sendSync (s: NodeState, to: HostId): void {
  const above: Record<HostId, Array<[number, number]>> = {}
  // Parked membership changes are held, not applied (SPEC §15.3): named among the spans, or
  // every reply would start with them again, and one cut at its first entry would never
  // bring what they wait for.
  const parked = new Map<HostId, Array<[number, number]>>()
  for (const { entry } of s.parked) {
    if (entry.seq > s.marks.contiguous(entry.origin)) parked.set(entry.origin, [...parked.get(entry.origin) ?? [], [entry.seq, entry.seq]])
  }
  for (const origin of new Set([...s.marks.origins(), ...parked.keys()])) {
    const spans = [...s.marks.above(origin), ...parked.get(origin) ?? []].sort(([a], [b]) => a - b)
    // Fewer spans named only means entries this host holds may come again, and are dropped.
    if (spans.length > 0) Object.defineProperty(above, origin, { value: spans.slice(0, SPANS_MAX), enumerable: true })
  }
  // The report for tombstone collection (SPEC §6.5), kept for this host's own horizon too.
  // A host still recovering may not know all it decided before (§5.4): its report says
  // clock 0, which holds every horizon at 0 until it knows.
  const report = s.recovery === null || s.config.mutation === 'report-while-recovering' ? { clock: s.clockDurable, decided: decidedMarks(s).highest(s.config.id) } : { clock: 0, decided: 0 }
  s.reports.set(s.config.id, report)
  send(s, to, { type: 'sync', marks: s.marks.toRecord(), above, ...report })
}

/**
 * A peer went away. Copies to or from it are kept: it may be back before they go idle, and
 * go on from the chunk it lacks (SPEC §6.3).
 */
export function onPeerGone (s: NodeState, peer: HostId): void {
  // What it reported may not hold when it is back (it may restart from an older disk).
  s.peerMarks.delete(peer)
}

/** The membership changed: copies sent under the old one stop (their marks stand for it). */
export function dropCopiesOut (s: NodeState): void {
  for (const [session, out] of s.snapshotsOut) dropOutgoing(s, session, out)
}

/** Forgets a copy being sent; a read in flight closes the storage session when it returns. */
function dropOutgoing (s: NodeState, session: number, out: OutgoingSnapshot): void {
  s.snapshotsOut.delete(session)
  if (!out.reading && !out.done) read(s, { type: 'snapshot-close', session }, () => {})
}

export function onCatchUpTick (s: NodeState): void {
  const { config } = s
  for (const [session, out] of s.snapshotsOut) {
    if (s.now - out.touchedAt >= config.snapshotIdleMs) dropOutgoing(s, session, out)
  }
  onCopyTick(s)
  if (s.now - s.lastSyncAt < config.syncIntervalMs) return
  s.lastSyncAt = s.now
  const targets = new Set<HostId>()
  const connected = s.peers.filter((peer) => s.connected.has(peer))
  if (connected.length > 0 && !isCopyingIn(s)) {
    targets.add(connected[s.syncCursor++ % connected.length] as HostId)
  }
  // SPEC §15.3: a parked membership change waits for what its voters had: ask every peer.
  if (s.parked.length > 0) for (const peer of connected) targets.add(peer)
  // SPEC §5.3: a prepared transaction left undecided asks its origin for the decision.
  for (const txn of s.prepared.values()) {
    if (txn.durable && s.now - txn.since >= config.syncIntervalMs && s.connected.has(txn.origin)) targets.add(txn.origin)
  }
  for (const peer of targets) sendSync(s, peer)
}

export function onSync (s: NodeState, from: HostId, message: Extract<Message, { type: 'sync' }>): void {
  const self = s.config.id
  const theirs = message.marks
  // A sync also reports how much of this host's own log the peer holds (SPEC §4.7), and
  // what tombstone collection needs of the peer (SPEC §6.5).
  onPeerMark(s, from, markOf(theirs, self))
  s.reports.set(from, { clock: message.clock, decided: message.decided })
  for (const [session, out] of s.snapshotsOut) {
    if (out.peer !== from) continue
    // It holds all the copy carries (it applied it): the session is of no more use.
    if (Object.entries(out.marks).every(([origin, mark]) => markOf(theirs, origin) >= mark)) {
      dropOutgoing(s, session, out)
      continue
    }
    // A copy is under way: no second one. Its first chunk goes again if it is still kept: it
    // may have been lost, or the peer restarted before staging it, and syncs as if no copy came.
    const first = out.sent.find((chunk) => chunk.part === 0)
    if (first !== undefined) {
      out.touchedAt = s.now
      send(s, from, first)
    }
    return
  }
  const ranges: LogRange[] = []
  let needsCopy = false
  for (const origin of [...new Set([s.config.id, ...s.peers, ...s.marks.origins()])].sort()) {
    const their = markOf(theirs, origin)
    const highest = s.marks.highest(origin)
    if (highest <= their) continue
    if (s.marks.contiguous(origin) > their && (s.floors.get(origin) ?? 1) > their + 1) needsCopy = true
    const spans = Object.hasOwn(message.above, origin) ? message.above[origin] ?? [] : []
    for (const [from, to] of uncovered([...spans].sort(([a], [b]) => a - b), their + 1, highest)) ranges.push({ origin, from, to })
  }
  if (needsCopy) {
    // A host applying a copy of its own holds half of it: a snapshot now would tear
    // transactions apart. The peer asks again once it is done (SPEC §6.3).
    if (s.copyApply === null) startSnapshot(s, from)
    return
  }
  if (ranges.length === 0) return
  const { logEntriesPerMessageMax: limit, catchUpBytesMax: bytesMax } = s.config
  read(s, { type: 'log', ranges, limit, bytesMax }, (result) => {
    assert(result.type === 'log', `storage answered a log query with ${result.type}`)
    if (result.entries.length === 0) return
    // Cut short by count or by bytes: either way, the receiver asks again once it applied these.
    const more = result.entries.length >= limit || entriesBytes(result.entries) > bytesMax / 2
    send(s, from, { type: 'entries', entries: result.entries, more })
  })
}

export function onEntries (s: NodeState, from: HostId, message: Extract<Message, { type: 'entries' }>): void {
  const entries = message.entries
    .filter((entry) => !s.marks.covers(entry.origin, entry.seq) && !isApplyPending(s, entry.origin, entry.seq))
    .map((entry) => ({ entry, source: 'sync' as const }))
  // All known already: the sender has the same gap below them. Asking it again at once would
  // loop; the periodic sync reaches the origin, whose log has no gaps (SPEC §6.1).
  if (entries.length === 0) return
  enqueueApply(s, message.more ? { entries, syncAfter: from } : { entries })
}

function startSnapshot (s: NodeState, peer: HostId): void {
  // Numbered on from a number drawn at the start: a receiver that restarted asks for the
  // session it staged by number, and must not get another one's chunks (SPEC §6.3).
  const session = ++s.nextSession
  // The storage snapshot opens at this point of the issue order: after the batch being
  // written, if any. Its marks are the copy's, so that the copy claims every decision whose
  // data it carries. Claiming less would let a decision travel unseen: its origin, asking
  // after a restore who holds it (SPEC §5.4), would abort it while its data lives on.
  s.snapshotsOut.set(session, { peer, marks: (s.writingMarks ?? s.marks).toRecord(), membership: s.writingMembership ?? s.membership, horizon: s.horizon, nextPart: 0, sent: [], reading: false, done: false, touchedAt: s.now })
  sendSnapshotChunk(s, session)
}

function sendSnapshotChunk (s: NodeState, session: number): void {
  const pending = s.snapshotsOut.get(session)
  if (pending === undefined || pending.reading || pending.done) return
  pending.reading = true
  read(s, { type: 'snapshot-read', session, limit: s.config.snapshotRecordsPerMessageMax, bytesMax: s.config.catchUpBytesMax }, (result) => {
    assert(result.type === 'snapshot-read', `storage answered a snapshot read with ${result.type}`)
    const out = s.snapshotsOut.get(session)
    if (out === undefined) {
      // Dropped while the read ran (idle or disconnected): close what the read may have opened.
      if (!result.done) read(s, { type: 'snapshot-close', session }, () => {})
      return
    }
    out.reading = false
    const part = out.nextPart++
    const chunk = { type: 'snapshot', session, part, marks: part === 0 ? out.marks : null, membership: part === 0 ? out.membership : null, horizon: part === 0 ? out.horizon : 0, records: result.records, done: result.done } as const
    out.sent.push(chunk)
    if (out.sent.length > STAGING_MAX) out.sent.shift()
    // Storage closed the session on its last chunk; the chunks kept may still be asked for.
    out.done = result.done
    send(s, out.peer, chunk)
  })
}

export function onSnapshotNext (s: NodeState, from: HostId, session: number, part: number): void {
  const out = s.snapshotsOut.get(session)
  if (out === undefined || out.peer !== from) return
  // A chunk sent and not staged: lost on the way, or in a restart of the receiver before it
  // was durable. It goes again, as it was (SPEC §6.3).
  const again = out.sent.find((chunk) => chunk.part === part)
  if (again !== undefined) {
    out.touchedAt = s.now
    send(s, from, again)
    return
  }
  if (part !== out.nextPart || out.done) return
  out.touchedAt = s.now
  sendSnapshotChunk(s, session)
}

/** The receiver will not take this copy: it is dropped now rather than left to go idle. */
export function onSnapshotStop (s: NodeState, from: HostId, session: number): void {
  const out = s.snapshotsOut.get(session)
  if (out !== undefined && out.peer === from) dropOutgoing(s, session, out)
}
