import type { NodeConfig } from './config.js'
import type { Effect, FailureReason, Query, QueryResult, RequestId, StorageWrite } from './effects.js'
import type { Message } from './messages.js'
import type { AppliedMarks } from './marks.js'
import type { LockTable } from './locks.js'
import type { DataRecord, HostId, Key, LogEntry, Op } from './types.js'

export interface PendingWrite {
  readonly request: RequestId
  readonly ops: readonly Op[]
  readonly deadline: number
  reason?: FailureReason
}

/** The origin's one undecided transaction. */
interface ActiveTxn {
  readonly seq: number
  readonly writes: PendingWrite[]
  readonly ops: readonly Op[]
  readonly keys: readonly Key[]
  state: 'reserving' | 'preparing' | 'deciding'
  startedAt: number
  readonly yes: Map<HostId, number>
  readonly no: Set<HostId>
  abortReason?: FailureReason
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

/** A transaction this host voted on (or is about to) as a participant. */
export interface PreparedTxn {
  readonly origin: HostId
  readonly seq: number
  readonly ops: readonly Op[]
  readonly keys: readonly Key[]
  durable: boolean
  locked: boolean
  since: number
}

type ApplySource = 'own' | 'decision' | 'sync'

export interface ApplyJob {
  readonly entries: ReadonlyArray<{ readonly entry: LogEntry, readonly source: ApplySource }>
  readonly snapshot?: { readonly marks: Readonly<Record<HostId, number>>, readonly records: ReadonlyArray<readonly [Key, DataRecord]> }
  /** Ask this peer for more once the job is durable (its last reply was cut at the limit). */
  readonly syncAfter?: HostId
}

interface IncomingSnapshot {
  readonly from: HostId
  readonly session: number
  readonly marks: Readonly<Record<HostId, number>>
  readonly records: Array<readonly [Key, DataRecord]>
  nextPart: number
  touchedAt: number
}

export interface OutgoingSnapshot {
  readonly peer: HostId
  readonly marks: Readonly<Record<HostId, number>>
  /** The chunk to send next; the storage cursor only moves forward. */
  nextPart: number
  /** A chunk read is in flight: a repeated request must not start a second one. */
  reading: boolean
  touchedAt: number
}

export interface NodeState {
  readonly config: NodeConfig
  out: Effect[]
  now: number
  /** Hybrid logical clock: never below any version this host has applied or voted with. */
  clock: number
  persistedClock: number
  marks: AppliedMarks
  readonly floors: Map<HostId, number>
  readonly locks: LockTable
  readonly prepared: Map<string, PreparedTxn>
  readonly queue: PendingWrite[]
  active: ActiveTxn | null
  readonly committing: Map<number, CommittingTxn>
  nextSeq: number
  reserved: number
  retryAt: number
  /** True until the abort of sequence numbers reserved before a restart is durable. */
  restarting: boolean
  readonly applyQueue: ApplyJob[]
  /** The jobs of the batch being read or written, if any. */
  applying: readonly ApplyJob[] | null
  nextIoId: number
  readonly pendingPersists: Map<number, () => void>
  readonly pendingReads: Map<number, (result: QueryResult) => void>
  /** Peer identities known so far: the configured ones and those that have connected. */
  readonly peers: HostId[]
  /** How many peers the cluster has: `config.peerCount` plus those added since. */
  peerCount: number
  readonly connected: Set<HostId>
  ready: boolean
  lastSyncAt: number
  syncCursor: number
  snapshotIn: IncomingSnapshot | null
  readonly snapshotsOut: Map<number, OutgoingSnapshot>
  nextSession: number
}

export function send (s: NodeState, to: HostId, message: Message): void {
  s.out.push({ type: 'send', to, message })
}

/** Queues an atomic durable write; `then` runs when storage reports it durable. */
export function persist (s: NodeState, writes: StorageWrite[], then: () => void): void {
  const id = ++s.nextIoId
  s.pendingPersists.set(id, then)
  s.out.push({ type: 'persist', id, writes })
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
