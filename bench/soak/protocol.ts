/** Messages between the soak's driver (soak.ts) and each of its QuorumLevel processes (soak-process.ts). */

/** The load one process offers: open loop, at fixed rates, whatever its answers take. */
export interface SoakLoad {
  /** Puts and deletes per second, on random keys of the shared key space. */
  readonly writesPerSec: number
  /** Of the writes, the share that are deletes. */
  readonly deleteShare: number
  /** Gets per second, of random keys. */
  readonly readsPerSec: number
  /** Iterators per second, each reading `scanEntries` entries from a random key. */
  readonly scansPerSec: number
  readonly scanEntries: number
  /** Keys `k00000`...: bounded, so that the database can reach a steady size. */
  readonly keys: number
  readonly valueBytesMin: number
  readonly valueBytesMax: number
  /** Operations in flight at most; one due beyond it is shed (counted, not sent). */
  readonly inFlightMax: number
}

/** One process's setup: its only argument, as JSON. */
export interface SoakProcessSetup {
  readonly location: string
  /** QuorumLevel's cluster options (host, port, peers, minConsensus, timeouts, retention). */
  readonly options: Record<string, unknown>
  readonly load: SoakLoad
  /** Follow the change feed from this position (or 'now'); null: no feed in this process. */
  readonly follow: string | null
}

/** What failed: an operation of the load, the change feed, or the host's replication (its `error` event). */
export type FailedOp = 'write' | 'read' | 'scan' | 'feed' | 'cluster'

/** What a process did since it started, by outcome. */
export interface SoakCounts {
  writes: number
  reads: number
  scans: number
  changes: number
  shed: number
  failed: number
}

/**
 * A process's memory right after a full garbage collection, in bytes: resident set and V8
 * heap in use (charted and judged), and where the rest lives (kept in samples.json, to tell
 * a growing resident set's cause).
 */
export interface SoakMemory {
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  /** Memory of C++ objects bound to JavaScript ones, Buffers' included. */
  readonly external: number
  /** Of `external`, ArrayBuffers' and Buffers'. */
  readonly arrayBuffers: number
}

export type SoakCommand =
  /**
   * Writes `writes` of the load's writes, `inFlight` at a time, as fast as they go, before
   * the load: answers `preloaded` with how many failed.
   */
  | { type: 'preload', writes: number, inFlight: number }
  /** Starts the load, and the change feed if the process follows it. */
  | { type: 'load' }
  /** Measures the process, after a full garbage collection. */
  | { type: 'sample' }
  /** Whether the process leads its host now: cheap, for the faults to find a leader. */
  | { type: 'role' }
  /** Stops offering load and answers `drained` once nothing is in flight (or after `ms`). */
  | { type: 'drain', ms: number }
  | { type: 'close' }

export type SoakReply =
  | { type: 'ready', leader: boolean }
  | { type: 'open-failed', message: string }
  /**
   * The process's own view of itself: its memory (process.memoryUsage(), bytes), open
   * descriptors (null where /proc/self/fd is missing), whether it leads its host, its counts,
   * and its feed's last position.
   */
  | { type: 'sample', memory: SoakMemory, fds: number | null, leader: boolean, counts: SoakCounts, position: string | null }
  | { type: 'role', leader: boolean }
  | { type: 'preloaded', failed: number }
  | { type: 'drained', counts: SoakCounts, inFlight: number }
  /**
   * An operation that failed, sent as it fails: `op` says which kind, `at` when (ms since
   * the epoch: the driver runs on the same machine, and places it among its faults).
   */
  | { type: 'failure', op: FailedOp, code: string, message: string, at: number }
