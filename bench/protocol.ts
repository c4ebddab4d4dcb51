/** Messages between the benchmark driver and its processes. */
export type HostCommand =
  /**
   * Puts or gets of `count` keys `<prefix><8 digits>`; `batch` writes `batchSize` puts per batch.
   * With `stamp`, each value starts with the wall clock (workload.ts) read just before its write;
   * with `strong`, gets read with `consistency: 'strong'`.
   */
  | { type: 'run', op: 'put' | 'get' | 'batch', count: number, inFlight: number, valueBytes: number, prefix: string, batchSize?: number, stamp?: boolean, strong?: boolean }
  /** Waits until `key` can be read; answers with the time since the database was made. */
  | { type: 'await-key', key: string, ms: number }
  /** Counts the keys that start with `prefix`. */
  | { type: 'count', prefix: string }
  /** Copies every entry into a fresh classic-level database at `location`, the plain way. */
  | { type: 'copy', location: string }
  /** Reads every entry (key and value) whose key starts with `prefix`, with an iterator (`strong`: with `consistency: 'strong'`). */
  | { type: 'scan', prefix: string, strong?: boolean }
  /** The position of the host's last change (QuorumLevel only). */
  | { type: 'position' }
  /**
   * Reads `count` changes of keys that start with `prefix` from a change feed made `since` a
   * position (null: the host's last one, read now); answers `following` once the feed is made,
   * then `followed`. With `stamped`, each change's delay since the stamp in its value. Fails
   * after `ms`.
   */
  | { type: 'follow', since: string | null, prefix: string, count: number, stamped: boolean, ms: number }
  /** A SHA-256 of every key and value whose key starts with `prefix`, in key order. */
  | { type: 'digest', prefix: string }
  | { type: 'usage' }
  | { type: 'close' }

export type HostReply =
  | { type: 'ready', leader?: boolean }
  | { type: 'ran', latencies: number[] }
  | { type: 'found', ms: number }
  | { type: 'counted', keys: number }
  | { type: 'copied', ms: number, entries: number }
  | { type: 'scanned', ms: number, entries: number }
  | { type: 'position', position: string }
  | { type: 'following' }
  /** From the feed's making to its last change; each change's delay, when stamped. */
  | { type: 'followed', ms: number, delays: number[] }
  | { type: 'digested', entries: number, sha256: string }
  /** CPU time of the process so far, its peak resident set, and the highest heap in use seen (sampled every 50 ms). */
  | { type: 'usage', cpuMicros: number, maxRssBytes: number, peakHeapBytes: number }
  | { type: 'failed', message: string }
