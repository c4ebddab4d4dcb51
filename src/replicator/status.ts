import type { HostId, Message, NodeInspection } from '../core/index.js'
import type { PeerAddress } from '../transport/peer-connection.js'
import type { PeerStatus } from './peers.js'
import type { MembershipReport } from './members.js'

/** What `status()` shows of one peer: its connection, and how far behind it last said it was. */
export interface PeerReport extends PeerStatus {
  /**
   * Per origin, how many of that origin's decisions this host has applied beyond what the peer
   * last reported (in its latest `sync`); null before it has reported.
   */
  readonly lag: Readonly<Record<HostId, number>> | null
}

/** A host's replication state, as `r.status()` and `db.cluster.status()` give it. Plain data: it survives JSON. */
export interface ReplicatorStatus {
  /** This host's cluster identity, once the database is open. */
  readonly id: string | null
  readonly state: 'opening' | 'open' | 'failed' | 'closing' | 'closed'
  /** Writes can start: `minConsensus` peers connected, recovered, storage working. */
  readonly ready: boolean
  /** `asking`: after a start that may have lost data, it waits to hear from every peer (SPEC §5.4). */
  readonly recovery: 'asking' | 'aborting' | null
  readonly address: PeerAddress | null
  /** As the membership in force has it. */
  readonly minConsensus: number
  /** The membership in force (SPEC §15): its epoch, members (`host:port`) and `minConsensus`. */
  readonly membership: MembershipReport
  readonly peers: readonly PeerReport[]
  /** Own writes queued, in flight, committed but not yet acknowledged, being confirmed; own aborts still being told. */
  readonly writes: { readonly queued: number, readonly active: number, readonly committing: number, readonly confirming: number, readonly aborting: number }
  /** Other origins' transactions this host voted for and has not yet applied, and the keys locked. */
  readonly prepared: number
  readonly locks: number
  /** Whether an apply batch is being read or written, or waits. */
  readonly applying: boolean
  /**
   * Per origin: the decisions applied without a gap, the first this host's log still serves,
   * and how many decisions the log holds from there (what catch-up can serve without a full copy).
   */
  readonly log: ReadonlyArray<{ readonly origin: HostId, readonly applied: number, readonly floor: number, readonly entries: number }>
  /**
   * Catch-up: per origin, how many decisions the most advanced peer had applied beyond this
   * host when it last said (in its latest `sync`), and their total. Zero when caught up.
   */
  readonly catchUp: { readonly behind: number, readonly origins: Readonly<Record<HostId, number>> }
  /**
   * Full copies: the one this host is receiving (from whom, chunks staged so far, records staged
   * since this start; the total is not known ahead; `applying`: every chunk is staged and the
   * copy is being applied, local reads wait), and how many it is sending.
   */
  readonly fullCopy: { readonly receiving: { readonly from: HostId, readonly parts: number, readonly records: number, readonly applying: boolean } | null, readonly sending: number }
  /** Keys whose latest version is a delete, as last counted (a scan of the versions, run again when status is asked for after a second and after 20 times what the last one took), and when; null before the first count ends. */
  readonly tombstones: { readonly count: number, readonly countedAt: number } | null
  /**
   * Tombstone collection (README, Deletes): the horizon, a commit timestamp every member has
   * passed (0 before the first pass), and how many tombstones were deleted since the start.
   */
  readonly collection: { readonly horizon: number, readonly collected: number }
  /**
   * What the database takes on disk, as LevelDB estimates it (its table files: not the write-ahead
   * log), measured with the tombstones; null for a store that cannot say (memory-level, a browser).
   */
  readonly disk: { readonly bytes: number, readonly measuredAt: number } | null
  /** The change feed: the oldest change still kept and the last one recorded. */
  readonly feed: { readonly oldest: number, readonly last: number }
  /** Strong reads and fences in progress here. */
  readonly strongReads: number
  /**
   * Since the Replicator started: writes settled by outcome (`resolved`, or the failure's
   * reason: `not-ready`, `conflict`, `unconfirmed`...), strong reads and fences by outcome
   * (`answered`, or the failure's reason).
   */
  readonly counters: { readonly writes: Readonly<Record<string, number>>, readonly strongReads: Readonly<Record<string, number>> }
}

/** Remembers what each peer last said it had applied, from the syncs it sends. */
export class PeerMarks {
  readonly #marks = new Map<HostId, Readonly<Record<HostId, number>>>()

  observe (from: HostId, message: Message): void {
    if (message.type === 'sync') this.#marks.set(from, message.marks)
  }

  /** Per origin, how far this host is behind the most advanced peer's last report. */
  behind (applied: Readonly<Record<HostId, number>>): Record<HostId, number> {
    const behind: Record<HostId, number> = {}
    for (const theirs of this.#marks.values()) {
      for (const [origin, their] of Object.entries(theirs)) {
        const mine = Object.hasOwn(applied, origin) ? applied[origin] ?? 0 : 0
        const gap = their - mine
        if (gap > 0 && gap > (Object.hasOwn(behind, origin) ? behind[origin] ?? 0 : 0)) {
          Object.defineProperty(behind, origin, { value: gap, enumerable: true, writable: true })
        }
      }
    }
    return behind
  }

  /** How far `peer` lags this host, per origin this host has applied. */
  lag (peer: HostId | null, applied: Readonly<Record<HostId, number>>): Record<HostId, number> | null {
    const theirs = peer === null ? undefined : this.#marks.get(peer)
    if (theirs === undefined) return null
    const lag: Record<HostId, number> = {}
    for (const [origin, mine] of Object.entries(applied)) {
      const their = Object.hasOwn(theirs, origin) ? theirs[origin] ?? 0 : 0
      Object.defineProperty(lag, origin, { value: Math.max(0, mine - their), enumerable: true })
    }
    return lag
  }
}

/** The status of a host from its parts; `inspection` is null while its core is being built. */
export function buildStatus (parts: {
  id: string | null
  state: ReplicatorStatus['state']
  address: PeerAddress | null
  membership: MembershipReport
  peers: readonly PeerStatus[]
  peerMarks: PeerMarks
  inspection: NodeInspection | null
  feed: { oldest: number, last: number }
  counters: ReplicatorStatus['counters']
  tombstones: ReplicatorStatus['tombstones']
  disk: ReplicatorStatus['disk']
}): ReplicatorStatus {
  const inspection = parts.inspection
  const applied = inspection?.marks ?? {}
  const behind = parts.peerMarks.behind(applied)
  return {
    id: parts.id,
    state: parts.state,
    ready: inspection?.ready ?? false,
    recovery: inspection?.recovery ?? null,
    address: parts.address,
    minConsensus: parts.membership.minConsensus,
    membership: parts.membership,
    peers: parts.peers.map((peer) => ({ ...peer, lag: parts.peerMarks.lag(peer.id, applied) })),
    writes: {
      queued: inspection?.queued ?? 0,
      active: inspection?.active.length ?? 0,
      committing: inspection?.committing ?? 0,
      confirming: inspection?.confirming ?? 0,
      aborting: inspection?.aborting ?? 0
    },
    prepared: inspection?.prepared ?? 0,
    locks: inspection?.locks ?? 0,
    applying: inspection?.applying ?? false,
    log: Object.entries(applied).map(([origin, contiguous]) => {
      const floor = inspection?.floors[origin] ?? 1
      return { origin, applied: contiguous, floor, entries: Math.max(0, contiguous - floor + 1) }
    }),
    catchUp: { behind: Object.values(behind).reduce((sum, gap) => sum + gap, 0), origins: behind },
    fullCopy: { receiving: inspection?.fullCopyIn ?? null, sending: inspection?.fullCopiesOut ?? 0 },
    tombstones: parts.tombstones,
    collection: { horizon: inspection?.horizon ?? 0, collected: inspection?.tombstonesCollected ?? 0 },
    disk: parts.disk,
    feed: parts.feed,
    strongReads: inspection?.strongReads ?? 0,
    counters: parts.counters
  }
}
