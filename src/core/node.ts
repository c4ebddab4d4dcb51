import { onCatchUpTick, onEntries, onPeerGone, onSnapshotNext, onSnapshotStop, onSync, sendSync } from './catch-up.js'
import { onCopyPeerBack, onSnapshot, resumeCopy } from './copy-in.js'
import { type NodeOptions, resolveConfig } from './config.js'
import { maybeStartTxn, onAck, onActiveDecisionDurable, onClose, onCoordinatorTick, onVote, submitWrite, tellAbort } from './coordinator.js'
import type { CopyProgress, DurableState, Effect, Input } from './effects.js'
import { LockTable } from './locks.js'
import { LogWeights } from './log-weights.js'
import { AppliedMarks } from './marks.js'
import type { Message } from './messages.js'
import { dropPrepared, onAbort, onCommit, onPrepare } from './participant.js'
import { askPeer, checkRecovery, onRecover, onRecoveryAbortDurable, onRecoveryPeerGone, onRecoveryReport, onRecoveryTick, startRecovery } from './recovery.js'
import { type NodeState, uniqueKeys, updateReady } from './state.js'
import { type HostId, type LogEntry, txnKey } from './types.js'
import { onWritersTick } from './writers.js'
import { onCollectTick } from './collect.js'
import { onReadAnswer, onReadRequest, onStrongReadPeerConnected, onStrongReadsClose, onStrongReadsTick, pumpHeldReads, submitStrongRead } from './strong-reads.js'
import { onFenceAnswer, onFencePeerConnected, onFenceRequest, onFencesClose, pumpFences, submitFence } from './fences.js'
import { assert } from './assert.js'
import { type Membership, peerCountOf } from './membership.js'
import { addUnnamedMember, submitChange, switchMembership } from './membership-switch.js'

/** What a test or a status page may see of a node; never used to drive the protocol. */
export interface NodeInspection {
  readonly ready: boolean
  /** `asking`: waiting for every peer after a start that may have lost data; `aborting`: finishing. */
  readonly recovery: 'asking' | 'aborting' | null
  readonly queued: number
  /** The sequence numbers of the own transactions in flight. */
  readonly active: readonly number[]
  readonly committing: number
  readonly confirming: number
  readonly aborting: number
  readonly prepared: number
  readonly locks: number
  readonly applying: boolean
  readonly marks: Readonly<Record<HostId, number>>
  /** Per origin, the lowest sequence number this host's log still serves (1 if none was set). */
  readonly floors: Readonly<Record<HostId, number>>
  /** Strong reads and fences this host coordinates, and reads it holds for their keys (SPEC §14). */
  readonly strongReads: number
  readonly heldReads: number
  /** The membership in force here (SPEC §15). */
  readonly membership: Membership
  /** Membership changes decided but waiting until this host has applied what their voters had. */
  readonly parkedChanges: number
  /** A membership change asked of this host is not answered yet. */
  readonly changing: boolean
  /**
   * A full copy coming in (SPEC §6.3): from whom, the chunks and records staged so far (since
   * the start), and whether it is being applied (reads wait meanwhile).
   */
  readonly fullCopyIn: { readonly from: HostId, readonly parts: number, readonly records: number, readonly applying: boolean } | null
  /** Full copies this host is sending to peers. */
  readonly fullCopiesOut: number
  /** The collection horizon (SPEC §6.5), and the tombstones collected since the start. */
  readonly horizon: number
  readonly tombstonesCollected: number
}

/**
 * One host's protocol state machine. It performs no I/O and reads no clock: every input
 * carries the time, and every consequence is returned as effects for the host to carry out
 * (SPEC §2). Storage completions come back as `persisted` and `read` inputs.
 */
export class Node {
  readonly #s: NodeState
  readonly #intact: boolean
  readonly #copy: CopyProgress | null
  #started = false

  constructor (options: NodeOptions, durable: DurableState) {
    const config = resolveConfig(options)
    const marks = new AppliedMarks()
    for (const [origin, seq] of Object.entries(durable.marks)) marks.jump(origin, seq)
    for (const entry of durable.above) marks.add(entry.origin, entry.seq)
    const logWeights = new LogWeights()
    for (const { origin, seq, bytes } of durable.logWeights) logWeights.add(origin, seq, bytes)
    const locks = new LockTable()
    const prepared: NodeState['prepared'] = new Map()
    for (const record of durable.prepared) {
      const key = txnKey(record.origin, record.seq)
      const keys = uniqueKeys(record.ops)
      locks.restore(key, keys)
      prepared.set(key, { origin: record.origin, seq: record.seq, ops: record.ops, keys, clock: record.clock, durable: true, locked: true, touched: true, since: -Infinity })
    }
    this.#intact = durable.intact
    this.#copy = durable.copy
    const start = Math.floor(config.random() * 2 ** 32)
    const s: NodeState = {
      config,
      out: [],
      now: 0,
      wall: 0,
      clock: durable.clock,
      clockIssued: durable.clock,
      clockDurable: durable.clock,
      horizon: durable.horizon,
      reports: new Map(),
      collecting: false,
      collectedThrough: 0,
      lastCollectAt: -Infinity,
      collected: 0,
      marks,
      floors: new Map(Object.entries(durable.floors)),
      logWeights,
      locks,
      prepared,
      queue: [],
      nextOrder: 0,
      active: [],
      activeKeys: new Set(),
      committing: new Map(),
      confirming: [],
      lastProbeAt: -Infinity,
      aborting: new Map(),
      writers: new Map(),
      peerMarks: new Map(),
      nextSeq: Math.max(durable.reserved, marks.contiguous(config.id)) + 1,
      reserved: durable.reserved,
      retryAt: 0,
      // Until start() decides how: nothing is decided before it.
      recovery: { kind: 'asking', reports: new Map(), askedAt: 0 },
      reservingRecovered: false,
      start,
      peerStarts: new Map(),
      storageOk: true,
      closing: false,
      applyQueue: [],
      versions: new Map(),
      applying: null,
      writingMarks: null,
      nextIoId: 0,
      pendingPersists: new Map(),
      pendingReads: new Map(),
      // Identities known from the start, but only those its membership still names: after a
      // change, one removed is no peer, whatever the host was configured with.
      peers: config.peers.filter((peer) => (durable.membership ?? config.membership).members.includes(peer)),
      peerCount: peerCountOf(durable.membership ?? config.membership, config.name),
      membership: durable.membership ?? config.membership,
      writingMembership: null,
      parked: [],
      change: null,
      connected: new Set(),
      ready: false,
      lastSyncAt: -Infinity,
      syncCursor: 0,
      snapshotIn: null,
      copyApply: null,
      copyDiscarding: false,
      snapshotsOut: new Map(),
      nextSession: start,
      strongReads: new Map(),
      heldReads: [],
      fences: new Map(),
      afterApply: (own, syncAfter, membership) => { afterApply(s, own, syncAfter, membership) }
    }
    this.#s = s
  }

  /** Starts the node; call once, before any `step`. */
  start (now: number, wall: number): Effect[] {
    assert(!this.#started, 'a node starts once')
    this.#started = true
    const s = this.#s
    s.now = now
    s.wall = wall
    for (const txn of s.prepared.values()) {
      txn.since = now
      // A crash can fall between applying a decision and deleting a late prepare record.
      if (s.marks.covers(txn.origin, txn.seq)) dropPrepared(s, txn)
    }
    startRecovery(s, this.#intact)
    resumeCopy(s, this.#copy)
    updateReady(s)
    return this.#drain()
  }

  step (input: Input): Effect[] {
    assert(this.#started, 'a node is started before it steps')
    const s = this.#s
    assert(input.now >= s.now, 'monotonic time never goes backwards')
    s.now = input.now
    s.wall = input.wall
    switch (input.type) {
      case 'write':
        for (const write of input.writes) submitWrite(s, write.request, write.ops, write.id)
        break
      case 'message':
        if (s.peers.includes(input.from)) onMessage(s, input.from, input.message)
        break
      case 'persisted': {
        const then = s.pendingPersists.get(input.id)
        assert(then !== undefined, `persisted answers a pending persist (${input.id})`)
        s.pendingPersists.delete(input.id)
        then()
        break
      }
      case 'read': {
        const then = s.pendingReads.get(input.id)
        assert(then !== undefined, `read answers a pending read (${input.id})`)
        s.pendingReads.delete(input.id)
        then(input.result)
        break
      }
      case 'connected':
        // The host decides who is a member (SPEC §7, §15.4); an identity it reports is one.
        if (input.peer === s.config.id || s.connected.has(input.peer)) break
        if (!s.peers.includes(input.peer)) s.peers.push(input.peer)
        s.connected.add(input.peer)
        updateReady(s)
        sendSync(s, input.peer)
        askPeer(s, input.peer)
        onCopyPeerBack(s, input.peer)
        onStrongReadPeerConnected(s, input.peer)
        onFencePeerConnected(s, input.peer)
        break
      case 'disconnected':
        if (!s.connected.delete(input.peer)) break
        onPeerGone(s, input.peer)
        onRecoveryPeerGone(s)
        updateReady(s)
        break
      case 'peer-added':
        addUnnamedMember(s)
        break
      case 'tick':
        onCoordinatorTick(s)
        onWritersTick(s)
        onRecoveryTick(s)
        onCatchUpTick(s)
        onCollectTick(s)
        onStrongReadsTick(s)
        break
      case 'storage':
        s.storageOk = input.ok
        updateReady(s)
        break
      case 'close':
        onClose(s)
        onStrongReadsClose(s)
        onFencesClose(s)
        break
      case 'strong-read':
        submitStrongRead(s, input.request, input.keys)
        break
      case 'fence':
        submitFence(s, input.request, input.range)
        break
      case 'change-membership':
        submitChange(s, input.request, input.change)
        break
    }
    maybeStartTxn(s)
    pumpHeldReads(s)
    pumpFences(s)
    return this.#drain()
  }

  /** The membership in force (SPEC §15): cheaper than inspect(). */
  get membership (): Membership {
    return this.#s.membership
  }

  /**
   * Whether its own log on disk can be trusted (SPEC §5.4): it no longer asks its peers what
   * they hold of it, and the numbers they reported are durably reserved. Only then may a
   * witness note its progress: a start trusting a note made earlier could reuse a number a
   * peer holds prepared.
   */
  get trustsOwnLog (): boolean {
    return this.#s.recovery?.kind !== 'asking' && !this.#s.reservingRecovered
  }

  /** Whether a full copy is being applied to the data, so that reads wait (SPEC §6.3): cheaper than inspect(). */
  get applyingCopy (): boolean {
    return this.#s.copyApply !== null
  }

  inspect (): NodeInspection {
    const s = this.#s
    return {
      ready: s.ready,
      recovery: s.recovery?.kind ?? null,
      queued: s.queue.length,
      active: s.active.map((txn) => txn.seq),
      committing: s.committing.size,
      confirming: s.confirming.length,
      aborting: s.aborting.size,
      prepared: s.prepared.size,
      locks: s.locks.size,
      applying: s.applying !== null || s.applyQueue.length > 0,
      marks: s.marks.toRecord(),
      floors: Object.fromEntries(s.floors),
      strongReads: s.strongReads.size + s.fences.size,
      heldReads: s.heldReads.length,
      membership: s.membership,
      parkedChanges: s.parked.length,
      changing: s.change !== null,
      fullCopyIn: fullCopyIn(s),
      fullCopiesOut: s.snapshotsOut.size,
      horizon: s.horizon,
      tombstonesCollected: s.collected
    }
  }

  #drain (): Effect[] {
    const out = this.#s.out
    this.#s.out = []
    return out
  }
}

function fullCopyIn (s: NodeState): NodeInspection['fullCopyIn'] {
  if (s.snapshotIn !== null) return { from: s.snapshotIn.from, parts: s.snapshotIn.staged, records: s.snapshotIn.records, applying: false }
  if (s.copyApply !== null) return { from: s.copyApply.from, parts: s.copyApply.nextPart, records: 0, applying: true }
  return null
}

function onMessage (s: NodeState, from: HostId, message: Message): void {
  switch (message.type) {
    case 'prepare': return onPrepare(s, from, message)
    case 'vote': return onVote(s, from, message)
    case 'commit': return onCommit(s, from, message)
    case 'abort': return onAbort(s, from, message.seq)
    case 'ack': return onAck(s, from, message.seq)
    case 'sync': return onSync(s, from, message)
    case 'entries': return onEntries(s, from, message)
    case 'snapshot': return onSnapshot(s, from, message)
    case 'snapshot-next': return onSnapshotNext(s, from, message.session, message.part)
    case 'snapshot-stop': return onSnapshotStop(s, from, message.session)
    case 'probe': return sendSync(s, from)
    case 'recover': return onRecover(s, from, message.start)
    case 'recovery': return onRecoveryReport(s, from, message)
    case 'read': return onReadRequest(s, from, message.id, message.keys)
    case 'read-answer': return onReadAnswer(s, from, message.id, message.records, message.epoch, message.horizon)
    case 'fence': return onFenceRequest(s, from, message.id, message.range)
    case 'fence-answer': return onFenceAnswer(s, from, message.id, message.marks, message.above, message.epoch)
  }
}

/** The fan-out after a durable apply batch (SPEC §5.2 step 8). */
function afterApply (s: NodeState, own: readonly LogEntry[], syncAfter: ReadonlySet<HostId>, membership: Membership | null): void {
  // An own change's commit goes to the peers that voted on it, before the switch forgets them.
  for (const entry of own) {
    if (s.active.some((txn) => txn.seq === entry.seq && txn.state === 'deciding')) {
      onActiveDecisionDurable(s, entry)
    } else {
      // A restart's abort: participants holding one of these numbers learn it at once.
      tellAbort(s, entry.seq)
      onRecoveryAbortDurable(s)
    }
  }
  if (membership !== null) switchMembership(s, membership)
  for (const peer of syncAfter) sendSync(s, peer)
  checkRecovery(s)
}
