/** Messages between the benchmark driver and its host processes. */
export type HostCommand =
  | { type: 'run', op: 'put' | 'get', count: number, inFlight: number, valueBytes: number, prefix: string }
  | { type: 'cpu' }
  | { type: 'close' }

export type HostReply =
  | { type: 'ready', leader?: boolean }
  | { type: 'ran', latencies: number[] }
  | { type: 'failed', message: string }
  | { type: 'cpu', micros: number }
