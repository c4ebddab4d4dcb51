import { enqueueApply } from './apply.js'
import type { CopyProgress, StorageWrite } from './effects.js'
import type { Message } from './messages.js'
import { type IncomingSnapshot, type NodeState, persist, send } from './state.js'
import { markOf } from './marks.js'
import { txnKey, type HostId } from './types.js'

/**
 * A full copy coming in (SPEC §6.3). Each chunk is staged on disk, apart from the data,
 * before the next is asked for: memory holds one chunk, and a copy cut off (a lost chunk, a
 * dropped connection, a restart of this host) goes on from the chunk it lacks while its
 * sender still holds the session. Once every chunk is staged, the copy is applied to the
 * data page by page, in apply jobs of its own; reads wait until the last page is durable,
 * and a restart meanwhile finishes the pages left.
 */

/** Takes up, after a start, the copy the staging header says was under way. */
export function resumeCopy (s: NodeState, progress: CopyProgress | null): void {
  if (progress === null) return
  if (progress.applying) {
    s.copyApply = progress
    enqueueApply(s, { entries: [], copyStep: true })
    return
  }
  const { from, session, marks, membership, horizon, nextPart } = progress
  s.snapshotIn = { from, session, marks, membership, horizon, records: 0, nextPart, staged: nextPart, staging: 0, touchedAt: s.now, askedAt: -Infinity }
}

/** Whether a full copy is coming in, being applied, or being deleted here. */
export function isCopyingIn (s: NodeState): boolean {
  return s.snapshotIn !== null || s.copyApply !== null || s.copyDiscarding
}

export function onSnapshot (s: NodeState, from: HostId, message: Extract<Message, { type: 'snapshot' }>): void {
  if (message.part === 0 && message.marks !== null && !isCopyingIn(s)) {
    s.snapshotIn = { from, session: message.session, marks: message.marks, membership: message.membership, horizon: message.horizon, records: 0, nextPart: 0, staged: 0, staging: 0, touchedAt: s.now, askedAt: s.now }
  }
  const incoming = s.snapshotIn
  // Another peer's copy, started by a sync while this one runs (every peer synced with may
  // start one): its sender stops now, instead of holding it open until it goes idle.
  if ((incoming === null || incoming.from !== from || incoming.session !== message.session) && message.part === 0) {
    send(s, from, { type: 'snapshot-stop', session: message.session })
    return
  }
  // A chunk out of turn (a repeat, or one after a lost one) is dropped: the copy would claim
  // marks it does not reflect. The chunk wanted is asked for again on the tick.
  if (incoming === null || incoming.from !== from || incoming.session !== message.session || message.part !== incoming.nextPart || incoming.staging >= STAGING_MAX) return
  incoming.nextPart++
  incoming.staging++
  incoming.touchedAt = s.now
  // The clock covers every version staged, as every version stored (SPEC §3): an own commit
  // applied before the page that holds one must still supersede it.
  const writes: StorageWrite[] = [{ type: 'stage', records: message.records }]
  for (const [, record] of message.records) if (record.version.ts > s.clock) s.clock = record.version.ts
  if (message.done && incoming.horizon > s.clock) s.clock = incoming.horizon
  const clock = s.clock
  if (clock > s.clockIssued) {
    writes.push({ type: 'clock', ts: clock })
    s.clockIssued = clock
  }
  const progress: CopyProgress = { from, session: incoming.session, nextPart: incoming.nextPart, marks: incoming.marks, membership: incoming.membership, horizon: incoming.horizon, applying: message.done, after: null }
  writes.push({ type: 'copy', progress })
  // The next chunk comes while this one is written, but no more than STAGING_MAX wait for the disk.
  if (!message.done && incoming.staging < STAGING_MAX) askNext(s, incoming)
  persist(s, writes, () => {
    if (clock > s.clockDurable) s.clockDurable = clock
    incoming.staging--
    incoming.staged = progress.nextPart
    incoming.records += message.records.length
    if (s.snapshotIn !== incoming) return
    if (!message.done) {
      if (incoming.staging === STAGING_MAX - 1 && incoming.askedAt < incoming.touchedAt) askNext(s, incoming)
      return
    }
    s.snapshotIn = null
    startApplying(s, progress)
  })
}

/**
 * Chunks being staged at once, at most: what a copy coming in holds in memory, with the one
 * arriving. A receiver that restarts lacks at most this many of the chunks sent, so its
 * sender keeps as many to send again.
 */
export const STAGING_MAX = 2

function askNext (s: NodeState, incoming: IncomingSnapshot): void {
  incoming.askedAt = s.now
  send(s, incoming.from, { type: 'snapshot-next', session: incoming.session, part: incoming.nextPart })
}

/**
 * Every chunk is staged: the copy is applied from here on, whatever happens. Locks of the
 * transactions it decides go now, as for any decision known (SPEC §4.3): the clock already
 * covers every version it carries. Their prepare records stay until the last page puts the
 * copy's marks in force, and a commit of theirs can still come in meanwhile: it reads the
 * stored versions, as writes made to its keys since the locks went may be newer (seed 62,302).
 */
function startApplying (s: NodeState, progress: CopyProgress): void {
  s.copyApply = progress
  for (const txn of s.prepared.values()) {
    if (!txn.locked || markOf(progress.marks, txn.origin) < txn.seq) continue
    s.locks.release(txnKey(txn.origin, txn.seq), txn.keys)
    txn.locked = false
    txn.touched = true
  }
  enqueueApply(s, { entries: [], copyStep: true })
}

/** Its sender is back: the chunk this host lacks is asked for at once. */
export function onCopyPeerBack (s: NodeState, peer: HostId): void {
  const incoming = s.snapshotIn
  if (incoming === null || incoming.from !== peer || incoming.staging >= STAGING_MAX) return
  askNext(s, incoming)
}

/**
 * On the tick: a chunk asked for and not come (it, or the request, was lost) is asked for
 * again, so that a lost message costs a resend and not the whole copy; a copy that brought
 * nothing for `snapshotIdleMs` (its sender gave the session up) is given up.
 */
export function onCopyTick (s: NodeState): void {
  const incoming = s.snapshotIn
  if (incoming === null) return
  if (s.now - incoming.touchedAt >= s.config.snapshotIdleMs) {
    discardCopy(s)
  } else if (incoming.staging < STAGING_MAX && s.now - incoming.askedAt >= s.config.commitResendMs && s.connected.has(incoming.from)) {
    askNext(s, incoming)
  }
}

/**
 * Gives up the copy being received, and deletes what it staged. No other copy is taken until
 * that is durable: a chunk staged in the same batch as the deletion would go with it.
 */
export function discardCopy (s: NodeState): void {
  if (s.snapshotIn === null || s.snapshotIn.staging > 0) return
  s.snapshotIn = null
  s.copyDiscarding = true
  persist(s, [{ type: 'copy', progress: null }], () => { s.copyDiscarding = false })
}
