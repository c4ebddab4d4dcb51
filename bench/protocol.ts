/** Messages between the benchmark driver and its processes. */
export type HostCommand =
  /** Puts or gets of `count` keys `<prefix><8 digits>`; `batch` writes `batchSize` puts per batch. */
  | { type: 'run', op: 'put' | 'get' | 'batch', count: number, inFlight: number, valueBytes: number, prefix: string, batchSize?: number }
  /** Waits until `key` can be read; answers with the time since the database was made. */
  | { type: 'await-key', key: string, ms: number }
  /** Counts the keys that start with `prefix`. */
  | { type: 'count', prefix: string }
  /** Copies every entry into a fresh classic-level database at `location`, the plain way. */
  | { type: 'copy', location: string }
  | { type: 'usage' }
  | { type: 'close' }

export type HostReply =
  | { type: 'ready', leader?: boolean }
  | { type: 'ran', latencies: number[] }
  | { type: 'found', ms: number }
  | { type: 'counted', keys: number }
  | { type: 'copied', ms: number, entries: number }
  /** CPU time of the process so far, and its peak resident set. */
  | { type: 'usage', cpuMicros: number, maxRssBytes: number }
  | { type: 'failed', message: string }
