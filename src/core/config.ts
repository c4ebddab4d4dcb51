import type { Membership } from './membership.js'
import type { HostId } from './types.js'

/**
 * Deliberate protocol breakages, used only by the simulator's tests to prove that its
 * checkers catch them. Never set outside tests.
 */
export type Mutation =
  | 'skip-durable-prepare'
  | 'apply-without-version-check'
  | 'release-locks-early'
  /** Commit timestamps from the wall clock alone (`ts = wall + 1`), with no hybrid clock. */
  | 'commit-ts-from-wall'
  /** Prepare records persisted without the clock; votes carry the clock of the moment. */
  | 'prepare-without-clock'
  /** A retried write found committed is answered at once, without waiting for its quorum. */
  | 'retry-acked-early'
  /** Every start trusts its storage: the restart abort is issued without asking peers. */
  | 'restart-abort-without-peers'
  /** Own transactions commit as soon as their quorum votes, ahead of earlier ones; an abort aborts only itself. */
  | 'commit-out-of-order'
  /** A strong read answers from this host alone, asking no peer. */
  | 'strong-read-alone'
  /** A host answers a strong read at once, without waiting for transactions that hold its keys. */
  | 'strong-read-ignores-locks'
  /** A fence holds once its answers came, without waiting to have applied what they had. */
  | 'fence-without-catch-up'
  /** Prepares carry no epoch check: a host votes on a transaction of another membership. */
  | 'membership-without-epoch-check'
  /** A membership change applies at once, without first applying what its voters had. */
  | 'membership-without-catch-up'
  /** Tombstones are collected up to the host's own clock, whatever its peers reported. */
  | 'collect-past-horizon'
  /** A full copy keeps the receiver's keys it lacks, whatever their age. */
  | 'copy-keeps-absent'
  /** A host reports for collection while it recovers, before it knows what it decided. */
  | 'report-while-recovering'
  /** A recovering host keeps its own clock, not taking its peers'. */
  | 'recovery-keeps-clock'

export interface NodeConfig {
  readonly id: HostId
  /** The name this host has in memberships (SPEC §15): how it announces itself. */
  readonly name: string
  /** The membership this host starts with when its storage holds none: epoch 0. */
  readonly membership: Membership
  /** Peer identities known from the start; more are learned when they connect. */
  readonly peers: readonly HostId[]
  /** How many peers the cluster has, known or not yet: what `minConsensus` counts against. */
  readonly peerCount: number
  /** Peers (not counting this host) that must be connected to start, and vote yes to commit. */
  readonly minConsensus: number
  /** Uniform random number in [0, 1), injected so that the core stays deterministic. */
  readonly random: () => number
  readonly writeTimeoutMs: number
  /** How long the origin waits for votes before it aborts and retries. */
  readonly prepareTimeoutMs: number
  /** How often the origin resends a commit to peers that have not acknowledged it. */
  readonly commitResendMs: number
  /** How often a host asks one peer (in turn) for log entries it misses. */
  readonly syncIntervalMs: number
  /** Retry backoff after an abort, chosen uniformly in [min, max] to break symmetric conflicts. */
  readonly backoffMsMin: number
  readonly backoffMsMax: number
  /** Most own transactions in flight at once (SPEC §4.2). */
  readonly pipelineDepth: number
  /** Most client ops one transaction carries (group commit). */
  readonly groupOpsMax: number
  /** Most key and value bytes one transaction carries, so its messages fit a frame. */
  readonly groupBytesMax: number
  /** Committed entries kept per origin for catch-up before the log is truncated. */
  readonly logRetention: number
  /** Most bytes (`entryBytes`) of entries kept per origin for catch-up; the newest is always kept. */
  readonly logRetentionBytes: number
  readonly logEntriesPerMessageMax: number
  readonly snapshotRecordsPerMessageMax: number
  /** Most key and value bytes one catch-up message (entries or a snapshot chunk) carries. */
  readonly catchUpBytesMax: number
  /** A full copy that makes no progress for this long is abandoned, on both sides. */
  readonly snapshotIdleMs: number
  /**
   * Most records, and bytes, of a page of a staged full copy applied in one batch (SPEC §6.3):
   * what applying a copy holds in memory. Pages go to no peer, so no message bounds them.
   */
  readonly copyPageRecordsMax: number
  readonly copyPageBytesMax: number
  /** Own sequence numbers reserved per durable write of the reservation. */
  readonly reserveBlock: number
  /** Stored versions kept in memory, so that applying a recently written key reads nothing. */
  readonly versionCacheMax: number
  /** Writers whose state is kept in memory when nothing of theirs is in flight (SPEC §4.7). */
  readonly writersCachedMax: number
  /** How often a pass collects the tombstones every member has passed (SPEC §6.5); 0: never. */
  readonly collectIntervalMs: number
  /** Data records one read of a collection pass goes through. */
  readonly collectScanMax: number
  readonly mutation?: Mutation | undefined
}

export type NodeOptions = Pick<NodeConfig, 'id' | 'peers' | 'random'> & Partial<Omit<NodeConfig, 'id' | 'peers' | 'random' | 'membership'>> & {
  /** Names the members when peers are named otherwise than by identity; by default, the host's and `peers`' identities. */
  readonly members?: readonly string[] | undefined
}

const DEFAULTS = {
  writeTimeoutMs: 10_000,
  prepareTimeoutMs: 2_000,
  commitResendMs: 500,
  syncIntervalMs: 1_000,
  backoffMsMin: 1,
  backoffMsMax: 20,
  pipelineDepth: 8,
  groupOpsMax: 1_024,
  groupBytesMax: 4 * 1024 * 1024,
  logRetention: 100_000,
  logRetentionBytes: 256 * 1024 * 1024,
  logEntriesPerMessageMax: 1_000,
  snapshotRecordsPerMessageMax: 1_000,
  catchUpBytesMax: 4 * 1024 * 1024,
  snapshotIdleMs: 30_000,
  copyPageRecordsMax: 1_000,
  copyPageBytesMax: 16 * 1024 * 1024,
  reserveBlock: 64,
  writersCachedMax: 10_000,
  versionCacheMax: 10_000,
  collectIntervalMs: 60_000,
  collectScanMax: 1_000
} as const

export function resolveConfig (options: NodeOptions): NodeConfig {
  const peerCount = options.peerCount ?? options.peers.length
  if (!Number.isInteger(peerCount) || peerCount < options.peers.length) {
    throw new RangeError('peerCount must be an integer no smaller than the number of known peers')
  }
  const minConsensus = options.minConsensus ?? peerCount
  if (!Number.isInteger(minConsensus) || minConsensus < 0 || minConsensus > peerCount) {
    throw new RangeError(`minConsensus must be an integer from 0 to ${peerCount}`)
  }
  if (options.pipelineDepth !== undefined && (!Number.isInteger(options.pipelineDepth) || options.pipelineDepth < 1)) {
    throw new RangeError('pipelineDepth must be a positive integer')
  }
  if (options.peers.includes(options.id) || new Set(options.peers).size !== options.peers.length) {
    throw new RangeError('peers must be distinct and must not include the host itself')
  }
  const name = options.name ?? options.id
  // Peers counted but not yet known are members without a name until a change names them.
  const unnamed = Array.from({ length: peerCount - options.peers.length }, (_, i) => unnamedMember(i + 1))
  const members = [...new Set([name, ...(options.members ?? [...options.peers, ...unnamed])])].sort()
  if (members.length !== peerCount + 1) throw new RangeError('members must name this host and each of its peers once')
  const { members: _members, ...rest } = options
  return { ...DEFAULTS, ...rest, name, peerCount, minConsensus, membership: { epoch: 0, members, minConsensus } }
}

/** The placeholder of the `n`th peer counted but not named, as a member (SPEC §15). */
export function unnamedMember (n: number): string {
  return `?${n}`
}

/** Whether any two quorums of this size intersect, which is what serializes conflicting writes. */
export function isMajority (minConsensus: number, peerCount: number): boolean {
  return 2 * (minConsensus + 1) > peerCount + 1
}
