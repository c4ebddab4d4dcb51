/** How much a log record matters. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** One structured log record: what happened (`event`), said in words, with its details. */
export interface LogRecord {
  /** Milliseconds since the epoch. */
  readonly time: number
  readonly level: LogLevel
  /** A stable name: `start`, `ready`, `notready`, `connect`, `disconnect`, `reconnect`, `fail`, `error`, `close`; `leader` from a QuorumLevel process. */
  readonly event: string
  readonly message: string
  /** This host's identity, once known. */
  readonly host: string | null
  readonly peer?: { readonly host: string, readonly port: number }
  /** For `error`: its `LEVEL_*` code, if it has one. */
  readonly code?: string
}

/** The `logger` option: called with each record, never awaited; what it throws is ignored. */
export type Logger = (record: LogRecord) => void

/** Calls `logger` (if any) with a record; a logger that throws must not break replication. */
export function log (logger: Logger | undefined, record: Omit<LogRecord, 'time'>): void {
  if (logger === undefined) return
  try {
    logger({ time: Date.now(), ...record })
  } catch {}
}
