import { enqueueApply } from './apply.js'
import { onCatchUpTick, onEntries, onPeerGone, onSnapshot, onSnapshotNext, onSync, sendSync } from './catch-up.js'
import { type NodeOptions, resolveConfig } from './config.js'
import { maybeStartTxn, onAck, onCoordinatorTick, onVote, submitWrite } from './coordinator.js'
import type { DurableState, Effect, Input } from './effects.js'
import { LockTable } from './locks.js'
import { AppliedMarks } from './marks.js'
import type { Message } from './messages.js'
import { dropPrepared, onAbort, onCommit, onPrepare } from './participant.js'
import { type NodeState, uniqueKeys } from './state.js'
import { type HostId, txnKey } from './types.js'
import { assert } from './assert.js'

/** What a test or a status page may see of a node; never used to drive the protocol. */
export interface NodeInspection {
  readonly ready: boolean
  readonly queued: number
  readonly active: boolean
  readonly committing: number
  readonly prepared: number
  readonly locks: number
  readonly applying: boolean
  readonly marks: Readonly<Record<HostId, number>>
}

/**
 * One host's protocol state machine. It performs no I/O and reads no clock: every input
 * carries the time, and every consequence is returned as effects for the host to carry out
 * (SPEC §2). Storage completions come back as `persisted` and `read` inputs.
 */
export class Node {
  readonly #s: NodeState
  #started = false

  constructor (options: NodeOptions, durable: DurableState) {
    const config = resolveConfig(options)
    const marks = new AppliedMarks()
    for (const [origin, seq] of Object.entries(durable.marks)) marks.jump(origin, seq)
    for (const span of durable.above) marks.add(span.origin, span.seq, span.last)
    const locks = new LockTable()
    const prepared: NodeState['prepared'] = new Map()
    for (const record of durable.prepared) {
      const key = txnKey(record.origin, record.seq)
      const keys = uniqueKeys(record.ops)
      locks.restore(key, keys)
      prepared.set(key, { origin: record.origin, seq: record.seq, ops: record.ops, keys, durable: true, locked: true, since: -Infinity })
    }
    const ownMark = marks.contiguous(config.id)
    this.#s = {
      config,
      out: [],
      now: 0,
      clock: durable.clock,
      persistedClock: durable.clock,
      marks,
      floors: new Map(Object.entries(durable.floors)),
      locks,
      prepared,
      queue: [],
      active: null,
      committing: new Map(),
      nextSeq: Math.max(durable.reserved, ownMark) + 1,
      reserved: durable.reserved,
      retryAt: 0,
      restarting: durable.reserved > ownMark,
      applyQueue: [],
      applying: null,
      nextIoId: 0,
      pendingPersists: new Map(),
      pendingReads: new Map(),
      peers: [...config.peers],
      peerCount: config.peerCount,
      connected: new Set(),
      ready: false,
      lastSyncAt: -Infinity,
      syncCursor: 0,
      snapshotIn: null,
      snapshotsOut: new Map(),
      nextSession: 0
    }
  }

  /** Starts the node; call once, before any `step`. */
  start (now: number): Effect[] {
    assert(!this.#started, 'a node starts once')
    this.#started = true
    const s = this.#s
    s.now = now
    for (const txn of s.prepared.values()) {
      txn.since = now
      // A crash can fall between applying a decision and deleting a late prepare record.
      if (s.marks.covers(txn.origin, txn.seq)) dropPrepared(s, txn)
    }
    if (s.restarting) {
      // SPEC §5.4: presumed abort. Numbers reserved before the restart and not decided
      // can never be committed now; participants holding one learn so through sync.
      const seq = s.marks.contiguous(s.config.id) + 1
      enqueueApply(s, { entries: [{ entry: { kind: 'abort', origin: s.config.id, seq, last: s.reserved }, source: 'own' }] })
    }
    updateReady(s)
    return this.#drain()
  }

  step (input: Input): Effect[] {
    assert(this.#started, 'a node is started before it steps')
    const s = this.#s
    assert(input.now >= s.now, 'time never goes backwards')
    s.now = input.now
    switch (input.type) {
      case 'write':
        submitWrite(s, input.request, input.ops)
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
        // The host decides who is a member (SPEC §7); an identity it reports is one.
        if (input.peer === s.config.id || s.connected.has(input.peer)) break
        if (!s.peers.includes(input.peer)) s.peers.push(input.peer)
        s.connected.add(input.peer)
        updateReady(s)
        sendSync(s, input.peer)
        maybeStartTxn(s)
        break
      case 'disconnected':
        if (!s.connected.delete(input.peer)) break
        onPeerGone(s, input.peer)
        updateReady(s)
        break
      case 'peer-added':
        s.peerCount++
        break
      case 'tick':
        onCoordinatorTick(s)
        onCatchUpTick(s)
        break
    }
    return this.#drain()
  }

  inspect (): NodeInspection {
    const s = this.#s
    return {
      ready: s.ready,
      queued: s.queue.length,
      active: s.active !== null,
      committing: s.committing.size,
      prepared: s.prepared.size,
      locks: s.locks.size,
      applying: s.applying !== null || s.applyQueue.length > 0,
      marks: s.marks.toRecord()
    }
  }

  #drain (): Effect[] {
    const out = this.#s.out
    this.#s.out = []
    return out
  }
}

function onMessage (s: NodeState, from: HostId, message: Message): void {
  switch (message.type) {
    case 'prepare': return onPrepare(s, from, message)
    case 'vote': return onVote(s, from, message.seq, message.yes, message.clock)
    case 'commit': return onCommit(s, from, message)
    case 'abort': return onAbort(s, from, message.seq)
    case 'ack': return onAck(s, from, message.seq)
    case 'sync': return onSync(s, from, message.marks)
    case 'entries': return onEntries(s, from, message)
    case 'snapshot': return onSnapshot(s, from, message)
    case 'snapshot-next': return onSnapshotNext(s, from, message.session, message.part)
  }
}

function updateReady (s: NodeState): void {
  const ready = s.connected.size >= s.config.minConsensus
  if (ready === s.ready) return
  s.ready = ready
  s.out.push({ type: 'event', event: ready ? 'ready' : 'notready' })
}
