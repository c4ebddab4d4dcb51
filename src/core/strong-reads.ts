import { assert } from './assert.js'
import { isMajority } from './config.js'
import type { ReadFailure, RequestId } from './effects.js'
import { type HeldRead, type NodeState, type StrongRead, read, send } from './state.js'
import { type DataRecord, type HostId, type Key, type KeyRange, inRange, recordBytes } from './types.js'
import { compareVersions } from './version.js'
import { sendSync } from './catch-up.js'
import { MEMBERSHIP_KEY, smallestMajority } from './membership.js'

/**
 * Strong reads (SPEC §14): the newest version of each key among this host and enough peers
 * that every write quorum shares one of them. Each host answers only once no transaction it
 * knows of still holds or is applying a key, so a commit that any of them took part in is
 * either in its answer or not yet decided.
 */

/**
 * Peers whose answers, with this host's, meet every write quorum (`n − minConsensus − 1`) and
 * every membership change's quorum, a majority at least (SPEC §15.5): so a host that was
 * removed, or lags a change, cannot complete a read on its own old membership.
 */
export function answersNeeded (s: NodeState): number {
  if (s.config.mutation === 'strong-read-alone') return 0
  return Math.max(0, s.peerCount - s.membership.minConsensus, s.peerCount - smallestMajority(s.peerCount))
}

/** Fails `request` if this host takes no strong read or fence now (closing, or no majority); says whether it did. */
export function refuses (s: NodeState, request: RequestId): boolean {
  if (s.closing) fail(s, request, 'closed')
  // A host outside its own membership (removed, or not added yet) reads for no cluster.
  else if (!s.membership.members.includes(s.config.name)) fail(s, request, 'not-ready')
  else if (!isMajority(s.membership.minConsensus, s.peerCount)) fail(s, request, 'not-majority')
  else return false
  return true
}

/** Starts a strong read of `keys` for `request`. */
export function submitStrongRead (s: NodeState, request: RequestId, keys: readonly Key[]): void {
  if (refuses(s, request)) return
  startStrongRead(s, request, keys, s.now + s.config.writeTimeoutMs)
}

/**
 * The membership changed (SPEC §15.5): answers from the peers of the one before may not meet
 * the quorums of this one, so each read starts over, with its deadline.
 */
export function restartStrongReads (s: NodeState): void {
  for (const strong of [...s.strongReads.values()]) startStrongRead(s, strong.request, strong.keys, strong.deadline)
}

function startStrongRead (s: NodeState, request: RequestId, keys: readonly Key[], deadline: number): void {
  const strong: StrongRead = { request, keys, deadline, answers: new Map(), asked: new Set() }
  s.strongReads.set(request, strong)
  // This host's own answer is held like a peer's: once its keys are settled.
  holdRecords(s, keys, (records, horizon) => {
    if (s.strongReads.get(request) !== strong) return
    if (records === null) {
      finish(s, strong, { ok: false, reason: 'too-large' })
      return
    }
    strong.answers.set(s.config.id, { records, horizon })
    maybeFinish(s, strong)
  })
  for (const peer of s.connected) ask(s, strong, peer)
}

/** A peer connected: strong reads in progress ask it too. */
export function onStrongReadPeerConnected (s: NodeState, peer: HostId): void {
  for (const strong of s.strongReads.values()) ask(s, strong, peer)
}

function ask (s: NodeState, strong: StrongRead, peer: HostId): void {
  // A single host (no peer) answers alone.
  if (strong.asked.has(peer) || answersNeeded(s) === 0) return
  strong.asked.add(peer)
  send(s, peer, { type: 'read', id: strong.request, keys: strong.keys })
}

/** A peer asks for this host's records of `keys`: answered once they are settled, unless this host may have lost data. */
export function onReadRequest (s: NodeState, from: HostId, id: number, keys: readonly Key[]): void {
  // A host that may have lost decisions answers nothing: the reader asks enough others (SPEC
  // §14). Nor does one outside its own membership (SPEC §15.5).
  if (s.recovery?.kind === 'asking' || !s.membership.members.includes(s.config.name)) return
  holdRecords(s, keys, (records, horizon) => { send(s, from, { type: 'read-answer', id, records, epoch: s.membership.epoch, horizon }) })
}

export function onReadAnswer (s: NodeState, from: HostId, id: number, records: ReadonlyArray<DataRecord | undefined> | null, epoch: number, horizon: number): void {
  const strong = s.strongReads.get(id)
  if (strong === undefined || !strong.asked.has(from) || strong.answers.has(from)) return
  // From a later membership, whose quorums this host's may miss: the read waits until this
  // host applies it, and starts over then (SPEC §15.5). Meanwhile, catch up with that peer.
  if (epoch > s.membership.epoch) {
    sendSync(s, from)
    return
  }
  if (records === null) {
    finish(s, strong, { ok: false, reason: 'too-large' })
    return
  }
  if (records.length !== strong.keys.length) return
  strong.answers.set(from, { records, horizon })
  maybeFinish(s, strong)
}

function maybeFinish (s: NodeState, strong: StrongRead): void {
  if (!strong.answers.has(s.config.id) || strong.answers.size - 1 < answersNeeded(s)) return
  const newest = strong.keys.map((_, i) => {
    let best: DataRecord | undefined
    // A host that lacks the key reflects every commit at or below its horizon: the key's
    // newest version up to there was a tombstone, collected since (SPEC §6.5).
    let deletedThrough = 0
    for (const { records, horizon } of strong.answers.values()) {
      const record = records[i]
      if (record === undefined) deletedThrough = Math.max(deletedThrough, horizon)
      else if (best === undefined || compareVersions(record.version, best.version) > 0) best = record
    }
    return best !== undefined && best.version.ts <= deletedThrough ? undefined : best
  })
  finish(s, strong, { ok: true, records: newest })
}

function finish (s: NodeState, strong: StrongRead, result: { ok: true, records: ReadonlyArray<DataRecord | undefined> } | { ok: false, reason: ReadFailure }): void {
  s.strongReads.delete(strong.request)
  s.out.push({ type: 'read-result', request: strong.request, result })
}

export function fail (s: NodeState, request: RequestId, reason: ReadFailure): void {
  s.out.push({ type: 'read-result', request, result: { ok: false, reason } })
}

/** Strong reads past their deadline fail: not ready if too few peers were connected, timed out otherwise. */
export function onStrongReadsTick (s: NodeState): void {
  for (const strong of [...s.strongReads.values()]) {
    if (s.now < strong.deadline) continue
    finish(s, strong, { ok: false, reason: s.connected.size < answersNeeded(s) ? 'not-ready' : 'timeout' })
  }
  // A read held past its reader's deadline answers no one any more (a blocked key can hold it for good).
  for (let i = s.heldReads.length - 1; i >= 0; i--) {
    if (s.now - (s.heldReads[i] as HeldRead).since > s.config.writeTimeoutMs) s.heldReads.splice(i, 1)
  }
}

export function onStrongReadsClose (s: NodeState): void {
  for (const strong of [...s.strongReads.values()]) finish(s, strong, { ok: false, reason: 'closed' })
}

/** Holds a read of `keys`' records until they are settled, then reads them and calls `answer`. */
function holdRecords (s: NodeState, keys: readonly Key[], answer: (records: ReadonlyArray<DataRecord | undefined> | null, horizon: number) => void): void {
  s.heldReads.push({
    keys,
    range: null,
    since: s.now,
    release: () => {
      // As of the writes issued so far, which the read follows.
      const horizon = s.horizon
      read(s, { type: 'records', keys }, (result) => {
        assert(result.type === 'records', `storage answered a records query with ${result.type}`)
        const bytes = result.records.reduce((sum, record, i) => sum + (record === undefined ? 0 : recordBytes(keys[i] as Key, record)), 0)
        // An answer that cannot fit a message is refused rather than sent to be dropped.
        answer(bytes > s.config.catchUpBytesMax ? null : result.records, horizon)
      })
    }
  })
}

/** Holds `release` until every key of `range` is settled. */
export function holdRange (s: NodeState, range: KeyRange, release: () => void): void {
  s.heldReads.push({ keys: null, range, since: s.now, release })
}

/**
 * Releases every held read whose keys (or range) are settled: no lock on them (a transaction
 * of this host in flight, or one it voted for and has not heard decided), and no apply job
 * queued or in progress that writes them. A storage read issued then sees every decision this
 * host knows of on those keys (storage reads follow the writes issued before them, SPEC
 * §2.3), and its marks cover them. Called at the end of every step.
 */
export function pumpHeldReads (s: NodeState): void {
  // A host that may have lost decisions answers nothing, not even its own reads, until it knows.
  // Nor does one that holds a membership change until it applies it (SPEC §15.5): writes of
  // the next membership may be committing without it.
  if (s.heldReads.length === 0 || s.recovery?.kind === 'asking' || s.locks.holders(MEMBERSHIP_KEY) !== undefined) return
  const ignoreLocks = s.config.mutation === 'strong-read-ignores-locks'
  const busy = ignoreLocks ? new Set<Key>() : applyingKeys(s)
  if (busy === 'all') return
  const free = (key: Key): boolean => ignoreLocks || (s.locks.holders(key) === undefined && !busy.has(key))
  const settled = (held: HeldRead): boolean => {
    if (held.keys !== null) return held.keys.every(free)
    const range = held.range as KeyRange
    if (ignoreLocks) return true
    for (const key of s.locks.keys()) if (inRange(key, range)) return false
    for (const key of busy) if (inRange(key, range)) return false
    return true
  }
  const ready: HeldRead[] = []
  for (let i = 0; i < s.heldReads.length;) {
    const held = s.heldReads[i] as HeldRead
    if (settled(held)) {
      ready.push(held)
      s.heldReads.splice(i, 1)
    } else {
      i++
    }
  }
  for (const held of ready) held.release()
}

/** The keys the apply pipeline is about to write, or 'all' while a full copy is being applied. */
function applyingKeys (s: NodeState): Set<Key> | 'all' {
  if (s.copyApply !== null) return 'all'
  const keys = new Set<Key>()
  for (const job of [...s.applyQueue, ...(s.applying ?? [])]) {
    for (const { entry } of job.entries) {
      if (entry.kind === 'commit') for (const op of entry.ops) keys.add(op.key)
    }
  }
  return keys
}
