import type { LogWeights } from './log-weights.js'
import type { NodeConfig } from './config.js'
import type { CopyProgress, Effect, FailedRun, FailureReason, Query, QueryResult, RequestId, StorageWrite } from './effects.js'
import type { Message } from './messages.js'
import type { AppliedBefore, Membership, MembershipChange } from './membership.js'
import type { AppliedMarks } from './marks.js'
import type { LockTable } from './locks.js'
import type { DataRecord, HostId, Key, KeyRange, LogEntry, Op, Version, WriteId } from './types.js'

export interface PendingWrite {
  /** The first try, then every retry of the same write id that arrived while it was in flight. */
  readonly requests: RequestId[]
  readonly ops: readonly Op[]
  readonly id: WriteId | undefined
  readonly deadline: number
  reason?: FailureReason
  /** Its place in the queue: set when it first enters it, kept when an abort puts it back. */
  order: number
}

/** An own transaction not yet decided, or whose decision is not yet durable (SPEC §4.2). */
export interface ActiveTxn {
  readonly seq: number
  readonly writes: PendingWrite[]
  readonly ops: readonly Op[]
  readonly keys: readonly Key[]
  state: 'reserving' | 'preparing' | 'deciding'
  /** Set once decided. */
  decision?: 'commit' | 'abort'
  /** Aborted while its reservation was being written: the abort is decided once it is durable. */
  abortWhenReserved?: FailureReason
  startedAt: number
  readonly yes: Map<HostId, number>
  readonly no: Set<HostId>
  abortReason?: FailureReason
  /** A membership change's: what each yes voter had applied or decided (SPEC §15.3). */
  readonly before?: Map<HostId, AppliedBefore>
}

/** The membership change this host proposes (SPEC §15.2): one at a time. */
export interface PendingChange {
  readonly request: RequestId
  readonly change: MembershipChange
  readonly deadline: number
  /** The own transaction carrying it, while one is in flight. */
  seq: number | null
}

/** A durably committed own transaction whose writers wait for `minConsensus` acks. */
export interface CommittingTxn {
  readonly seq: number
  readonly writes: PendingWrite[]
  readonly entry: Extract<LogEntry, { kind: 'commit' }>
  readonly yesVoters: ReadonlySet<HostId>
  readonly acks: Set<HostId>
  sentAt: number
}

/**
 * A retried write found committed by an own transaction at or below `seq`: it resolves once
 * `minConsensus` peers hold every own entry through `seq` (SPEC §4.7).
 */
export interface ConfirmingWrite {
  readonly write: PendingWrite
  readonly seq: number
}

/** A transaction this host voted on (or is about to) as a participant. */
export interface PreparedTxn {
  readonly origin: HostId
  readonly seq: number
  readonly ops: readonly Op[]
  readonly keys: readonly Key[]
  /** The clock persisted with the record: what a yes vote carries. */
  readonly clock: number
  durable: boolean
  locked: boolean
  /**
   * Another entry or a full copy on one of its keys was queued for apply while it held its
   * locks, or the record was restored after a start: its keys' stored versions may then be
   * newer than its clock, and applying its commit reads them (SPEC §5.2).
   */
  touched: boolean
  since: number
}

/** What this host knows of one writer (SPEC §4.7). */
export interface WriterState {
  /** The stored records were read: until then, the writer's writes wait in `waiting`. */
  loaded: boolean
  /** The highest counter committed here, and the own transaction that committed it. */
  counter: number
  seq: number
  failed: FailedRun[]
  readonly waiting: Array<{ readonly request: RequestId, readonly ops: readonly Op[], readonly id: WriteId, readonly deadline: number }>
  /** Writes of this writer queued, being decided, committing or confirming, by counter. */
  readonly inflight: Map<number, PendingWrite>
}

export type ApplySource = 'own' | 'decision' | 'sync'

export interface ApplyJob {
  readonly entries: ReadonlyArray<{ readonly entry: LogEntry, readonly source: ApplySource }>
  /**
   * A page of the staged full copy (SPEC §6.3): its records, the key range they cover (above
   * the last page's last key, up to its own), and whether it is the last: that one covers the
   * rest of the keys, and puts the copy's marks, floors, horizon and membership in force.
   */
  readonly page?: {
    readonly records: ReadonlyArray<readonly [Key, DataRecord]>
    readonly range: KeyRange
    readonly last: boolean
  }
  /** Read the next page of the staged copy and apply it: it runs alone, like a collection step. */
  readonly copyStep?: true
  /** One step of a collection pass (SPEC §6.5): it runs alone, never merged with other jobs. */
  readonly collect?: CollectStep
  /** Ask this peer for more once the job is durable (its last reply was cut at the limit). */
  readonly syncAfter?: HostId
  /** Writer records that become true with this job's own commit. */
  readonly writers?: ReadonlyArray<{ readonly writer: string, readonly counter: number, readonly seq: number }>
}

/** A step of a collection pass: the tombstones at or below `through`, after key `after`. */
export interface CollectStep {
  readonly through: number
  readonly after: Key | null
}

/** What a member last said for tombstone collection (SPEC §6.5). */
export interface CollectionReport {
  /** Its durable clock: every transaction it decides later has a higher `ts`. */
  readonly clock: number
  /** The highest of its own sequence numbers it had decided. */
  readonly decided: number
}

/** A full copy being received: each chunk is staged on disk as it comes (SPEC §6.3). */
export interface IncomingSnapshot {
  readonly from: HostId
  readonly session: number
  readonly marks: Readonly<Record<HostId, number>>
  readonly membership: Membership | null
  readonly horizon: number
  /** Records staged since this host started receiving it. */
  records: number
  /** The chunk wanted next; `staged`: the chunks below it that are durable. */
  nextPart: number
  staged: number
  /** Chunks being staged: at most two at once, so a slow disk holds the copy back. */
  staging: number
  touchedAt: number
  /** When chunk `nextPart` was last asked for: asked again if it does not come. */
  askedAt: number
}

export interface OutgoingSnapshot {
  readonly peer: HostId
  readonly marks: Readonly<Record<HostId, number>>
  /** The membership the copy's marks stand for (SPEC §15.4). */
  readonly membership: Membership
  /** The collection horizon the copy's data stands for (SPEC §6.5). */
  readonly horizon: number
  /** The chunk to send next; the storage cursor only moves forward. */
  nextPart: number
  /**
   * The last chunks sent, as many as a receiver may stage at once: a receiver that lost them
   * (on the way, or in a restart before they were durable) asks for them again.
   */
  sent: Array<Extract<Message, { type: 'snapshot' }>>
  /** A chunk read is in flight: a repeated request must not start a second one. */
  reading: boolean
  /** The last chunk is read and the storage session closed: kept only to send chunks again. */
  done: boolean
  touchedAt: number
}

/** A peer's answer to `recover`: what it holds of this host's own log, and the membership it runs under. */
export interface RecoveryReport {
  readonly contiguous: number
  readonly above: ReadonlyArray<readonly [number, number]>
  readonly prepared: readonly number[]
  readonly epoch: number
}

/** A host's records of a strong read's keys, and its collection horizon as of them (SPEC §6.5). */
export interface ReadAnswer {
  readonly records: ReadonlyArray<DataRecord | undefined>
  readonly horizon: number
}

/** A strong read this host coordinates (SPEC §14). */
export interface StrongRead {
  readonly request: RequestId
  readonly keys: readonly Key[]
  readonly deadline: number
  /** Each answering host's records (this host's under its own id), in key order. */
  readonly answers: Map<HostId, ReadAnswer>
  /** The peers asked so far: each once. */
  readonly asked: Set<HostId>
}

/**
 * A read this host answers once its keys (or every key of its range) are settled: its own
 * part of a strong read or a fence, or a peer's. `release` runs then.
 */
export interface HeldRead {
  readonly keys: readonly Key[] | null
  readonly range: KeyRange | null
  readonly since: number
  readonly release: () => void
}

/** What a peer had applied when it answered a fence: its marks and the spans above them. */
export interface FenceAnswer {
  readonly marks: Readonly<Record<HostId, number>>
  readonly above: Readonly<Record<HostId, ReadonlyArray<readonly [number, number]>>>
}

/** A fence this host coordinates (SPEC §14.1): done once its marks cover every answer's. */
export interface StrongFence {
  readonly request: RequestId
  readonly range: KeyRange
  readonly deadline: number
  /** This host's range is settled. */
  settled: boolean
  /** The marks each answering peer had applied once its range was settled. */
  readonly answers: Map<HostId, FenceAnswer>
  readonly asked: Set<HostId>
  /** When this host last asked the answerers it lags for their entries. */
  syncedAt: number
}

/**
 * SPEC §5.4: after a start, a host decides nothing until it knows which of its own sequence
 * numbers are decided. `asking`: storage may have lost data, so every peer is asked what it
 * holds. `aborting`: the numbers nobody decided are being aborted.
 */
export type Recovery =
  | {
    readonly kind: 'asking'
    /**
     * The answers of the current round, by peer. A round starts over whenever a peer
     * disconnects or starts again after losing data itself (SPEC §5.4).
     */
    readonly reports: Map<HostId, RecoveryReport>
    askedAt: number
  }
  | { readonly kind: 'aborting', remaining: number }

export interface NodeState {
  readonly config: NodeConfig
  out: Effect[]
  now: number
  wall: number
  /** Hybrid logical clock: never below any version this host has applied or voted with. */
  clock: number
  /** The highest clock any persist issued so far writes: clock writes only ever grow. */
  clockIssued: number
  /** The highest clock a completed persist wrote: what a restart with intact storage starts from. */
  clockDurable: number
  /**
   * The collection horizon as of the writes issued so far (SPEC §6.5): every commit at or
   * below it is reflected here, and a key absent here may have had a tombstone at or below it.
   */
  horizon: number
  /** Each member's last report for collection, this host's own included, by identity. */
  readonly reports: Map<HostId, CollectionReport>
  /** A collection pass is under way. */
  collecting: boolean
  /** The horizon the last finished pass went through, since the start. */
  collectedThrough: number
  lastCollectAt: number
  /** Tombstones collected since the start. */
  collected: number
  marks: AppliedMarks
  readonly floors: Map<HostId, number>
  /** The weight of every log entry held, as of the writes issued: the log is cut by bytes too (SPEC §6.4). */
  readonly logWeights: LogWeights
  readonly locks: LockTable
  readonly prepared: Map<string, PreparedTxn>
  /** Writes waiting for a transaction, by `order`. */
  readonly queue: PendingWrite[]
  nextOrder: number
  /** Own transactions in flight, by seq: at most `pipelineDepth`. */
  readonly active: ActiveTxn[]
  /** The keys the active transactions hold: a group stops before a write that touches one. */
  readonly activeKeys: Set<Key>
  readonly committing: Map<number, CommittingTxn>
  readonly confirming: ConfirmingWrite[]
  lastProbeAt: number
  /** Own aborts not yet acknowledged by every peer, by seq: who acknowledged, and when last sent. */
  readonly aborting: Map<number, { readonly acked: Set<HostId>, sentAt: number }>
  readonly writers: Map<string, WriterState>
  /** The contiguous mark of this host's own log that each connected peer last reported. */
  readonly peerMarks: Map<HostId, number>
  nextSeq: number
  reserved: number
  retryAt: number
  recovery: Recovery | null
  /**
   * The numbers peers reported at the end of asking are reserved, but not durably yet: until
   * they are, a start that trusted this disk could take one of them for a new transaction.
   */
  reservingRecovered: boolean
  /** Drawn at construction: tells this start apart in `recover` (SPEC §5.4). */
  readonly start: number
  /** The `start` each peer last asked with: a new one means it lost data since. */
  readonly peerStarts: Map<HostId, number>
  storageOk: boolean
  closing: boolean
  readonly applyQueue: ApplyJob[]
  /** Stored versions of recently applied or read keys, exact; `null`: known absent (SPEC §5.2). */
  readonly versions: Map<Key, Version | null>
  /** The jobs of the batch being read or written, if any. */
  applying: readonly ApplyJob[] | null
  /**
   * The marks the batch being written makes true, once its persist is issued: whatever
   * storage answers after that point of the issue order reflects them (SPEC §6.3).
   */
  writingMarks: AppliedMarks | null
  nextIoId: number
  readonly pendingPersists: Map<number, () => void>
  readonly pendingReads: Map<number, (result: QueryResult) => void>
  /** Peer identities known so far: the configured ones and those that have connected. */
  readonly peers: HostId[]
  /** How many peers the membership counts (SPEC §15): members but this host. */
  peerCount: number
  /** The membership in force (SPEC §15). */
  membership: Membership
  /** The membership the batch being written puts in force, once its persist is issued. */
  writingMembership: Membership | null
  /**
   * Membership changes decided but not applied: each waits until this host has applied what
   * its voters had (SPEC §15.3), in epoch order.
   */
  readonly parked: Array<{ readonly entry: Extract<LogEntry, { kind: 'commit' }>, readonly source: ApplySource }>
  change: PendingChange | null
  readonly connected: Set<HostId>
  ready: boolean
  lastSyncAt: number
  syncCursor: number
  snapshotIn: IncomingSnapshot | null
  /** A full copy wholly staged and being applied, page by page; reads wait meanwhile (SPEC §6.3). */
  copyApply: CopyProgress | null
  /** A copy given up is being deleted from the staging area: no other is taken until it is gone. */
  copyDiscarding: boolean
  readonly snapshotsOut: Map<number, OutgoingSnapshot>
  nextSession: number
  /** Strong reads this host coordinates, by request (SPEC §14). */
  readonly strongReads: Map<RequestId, StrongRead>
  /** Reads waiting for their keys to settle: this host's own parts of strong reads, and peers'. */
  readonly heldReads: HeldRead[]
  /** Fences this host coordinates, by request (SPEC §14.1). */
  readonly fences: Map<RequestId, StrongFence>
  /**
   * What follows a durable apply batch: its own decisions (by `source: 'own'`) and the peers to
   * ask for more. Set by the node, so that the apply pipeline depends on nothing above it.
   */
  readonly afterApply: (own: readonly LogEntry[], syncAfter: ReadonlySet<HostId>, membership: Membership | null) => void
}

/** Puts a write in the queue for the first time. */
export function queueWrite (s: NodeState, write: PendingWrite): void {
  write.order = s.nextOrder++
  s.queue.push(write)
}

export function send (s: NodeState, to: HostId, message: Message): void {
  s.out.push({ type: 'send', to, message })
}

/**
 * Queues an atomic durable write; `then` runs when storage reports it durable. `sync` asks
 * that it survive a power loss even when the host does not sync every batch.
 */
export function persist (s: NodeState, writes: StorageWrite[], then: () => void, sync = false): void {
  const id = ++s.nextIoId
  s.pendingPersists.set(id, then)
  s.out.push({ type: 'persist', id, writes, sync })
}

export function read (s: NodeState, query: Query, then: (result: QueryResult) => void): void {
  const id = ++s.nextIoId
  s.pendingReads.set(id, then)
  s.out.push({ type: 'read', id, query })
}

export function uniqueKeys (ops: readonly Op[]): Key[] {
  return [...new Set(ops.map((op) => op.key))]
}

export function backoffMs (s: NodeState): number {
  const { backoffMsMin, backoffMsMax, random } = s.config
  return backoffMsMin + Math.floor(random() * (backoffMsMax - backoffMsMin + 1))
}

/** Readiness gates starting transactions (SPEC §7); each change is announced once. */
export function updateReady (s: NodeState): void {
  const ready = s.connected.size >= s.membership.minConsensus && s.recovery === null && s.storageOk && s.membership.members.includes(s.config.name)
  if (ready === s.ready) return
  s.ready = ready
  s.out.push({ type: 'event', event: ready ? 'ready' : 'notready' })
}

/** The next connected peer of the round robin, other than `after` if there is another. */
export function nextInTurn (s: NodeState, after: HostId): HostId {
  const others = s.peers.filter((peer) => peer !== after && s.connected.has(peer))
  if (others.length === 0) return after
  return others[s.syncCursor++ % others.length] as HostId
}
