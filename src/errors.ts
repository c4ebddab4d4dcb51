import ModuleError from 'module-error'
import type { ChangeFailure, FailureReason, ReadFailure } from './core/index.js'

/**
 * The one catalogue of error codes quorum-level raises. Codes are stable; messages are free.
 * Every code here is listed in README "Errors", and README lists no other.
 */
export const CODES = {
  /**
   * Fewer than `minConsensus` peers were connected until `writeTimeout`; or a process that
   * may not lead (`lead: false`) found no leader serving its directory within `lockWait`.
   */
  NOT_READY: 'LEVEL_NOT_READY',
  /** Too few peers voted yes until `writeTimeout`. */
  QUORUM_FAILED: 'LEVEL_QUORUM_FAILED',
  /** Conflicting writes held the keys until `writeTimeout`. */
  WRITE_CONFLICT: 'LEVEL_WRITE_CONFLICT',
  /** A deadline passed: a write's `writeTimeout`, a peer call, or a handshake. */
  TIMEOUT: 'LEVEL_TIMEOUT',
  /** A peer sent bytes that are not a valid quorum-level frame or message. */
  PROTOCOL_ERROR: 'LEVEL_PROTOCOL_ERROR',
  /** A peer announced or sent a frame larger than `frameBytesMax`. */
  FRAME_TOO_LARGE: 'LEVEL_FRAME_TOO_LARGE',
  /** A peer failed the handshake: wrong secret, no proof, or an identity it may not use. */
  AUTH_FAILED: 'LEVEL_AUTH_FAILED',
  /** The connection carrying a call closed before the answer came. */
  CONNECTION_LOST: 'LEVEL_CONNECTION_LOST',
  /** The replicator or database is closed or closing. */
  DATABASE_NOT_OPEN: 'LEVEL_DATABASE_NOT_OPEN',
  /** An option has a wrong type or value. */
  INVALID_OPTION: 'LEVEL_INVALID_OPTION',
  /** The operation cannot be replicated, so it is refused rather than applied locally. */
  NOT_SUPPORTED: 'LEVEL_NOT_SUPPORTED',
  /** The database is locked by a process that serves no quorum-level socket. */
  LOCKED: 'LEVEL_LOCKED',
  /** quorum-level's own records in the database are unreadable or inconsistent. */
  CORRUPTION: 'LEVEL_CORRUPTION',
  /**
   * The change feed no longer reaches back to the position asked for: its changes were
   * deleted by retention, or replaced by a full copy. Read the database again, then follow
   * changes from `lastPosition()`.
   */
  FEED_COMPACTED: 'LEVEL_FEED_COMPACTED',
  /** Storage failed (and is retried); a write that waited for it until `writeTimeout` failed. */
  IO_ERROR: 'LEVEL_IO_ERROR',
  /**
   * The write IS committed at its origin and will reach every host, but fewer than
   * `minConsensus` peers confirmed holding it by `writeTimeout` (or before a close).
   */
  COMMITTED_UNCONFIRMED: 'LEVEL_COMMITTED_UNCONFIRMED'
} as const

export type ErrorCode = typeof CODES[keyof typeof CODES]

export function createError (message: string, code: ErrorCode, options: { cause?: Error, transient?: boolean, expected?: boolean } = {}): ModuleError {
  return new ModuleError(message, { code, ...options })
}

const FAILURES: Record<Exclude<FailureReason, 'unconfirmed'>, [ErrorCode, string]> = {
  'not-ready': [CODES.NOT_READY, 'Write failed: fewer than minConsensus peers were connected'],
  'no-quorum': [CODES.QUORUM_FAILED, 'Write failed: too few peers voted to commit it'],
  conflict: [CODES.WRITE_CONFLICT, 'Write failed: conflicting writes held its keys'],
  timeout: [CODES.TIMEOUT, 'Write failed: writeTimeout passed'],
  storage: [CODES.IO_ERROR, 'Write failed: storage failed until writeTimeout'],
  recovering: [CODES.NOT_READY, 'Write failed: this host restarted from storage that may have lost data, and waits to hear from every peer'],
  closed: [CODES.DATABASE_NOT_OPEN, 'Write failed: the replicator closed before it committed']
}

/**
 * The error a caller sees for a write that did not resolve. For every reason but
 * `unconfirmed` it changed nothing on any host; an `unconfirmed` write is committed.
 */
const READ_FAILURES: Record<ReadFailure, [ErrorCode, string]> = {
  'not-ready': [CODES.NOT_READY, 'Strong read failed: too few peers were connected to meet every write quorum'],
  timeout: [CODES.TIMEOUT, 'Strong read failed: transactions held its keys, or peers did not answer, until writeTimeout'],
  'not-majority': [CODES.NOT_SUPPORTED, 'Strong reads need a majority minConsensus (2 x (minConsensus + 1) > hosts): below it, no set of hosts is sure to hold the latest write'],
  'too-large': [CODES.NOT_SUPPORTED, 'Strong read failed: its records do not fit one message; read fewer keys at once'],
  closed: [CODES.DATABASE_NOT_OPEN, 'Strong read failed: the replicator closed']
}

/** The error a strong read fails with (SPEC §14). */
export function readError (reason: ReadFailure): ModuleError {
  const [code, message] = READ_FAILURES[reason]
  return createError(message, code, { expected: reason === 'not-majority' })
}

/**
 * A write that failed at the host's leader with `code`, as a guest learns of it: many-level
 * carries only the code across the local socket (its message would read "Could not get
 * value"), so the message is rebuilt from what that code means for a write.
 */
export function leaderWriteError (code: string): ModuleError {
  if (code === CODES.COMMITTED_UNCONFIRMED) return writeError('unconfirmed')
  const meanings = Object.values(FAILURES).filter(([failure]) => failure === code).map(([, message]) => message.replace(/^Write failed: /, ''))
  if (meanings.length === 0) return new ModuleError('Write failed at the host\'s leader (many-level carries only its code across the local socket)', { code })
  return createError(`Write failed: ${meanings.join(', or ')}; nothing was written`, code as ErrorCode, { transient: true })
}

export function writeError (reason: FailureReason): ModuleError {
  if (reason === 'unconfirmed') {
    return createError('Write committed at its origin, but fewer than minConsensus peers confirmed it in time; it will reach every host', CODES.COMMITTED_UNCONFIRMED)
  }
  const [code, message] = FAILURES[reason]
  return createError(`${message}; nothing was written`, code, { transient: true })
}

const CHANGE_FAILURES: Record<ChangeFailure, [ErrorCode, string]> = {
  invalid: [CODES.INVALID_OPTION, 'Membership change refused'],
  busy: [CODES.WRITE_CONFLICT, 'Membership change refused: another change is under way on this host'],
  'not-ready': [CODES.NOT_READY, 'Membership change failed: too few peers were connected to decide it'],
  timeout: [CODES.TIMEOUT, 'Membership change failed: it could not start or gather its quorum before writeTimeout'],
  closed: [CODES.DATABASE_NOT_OPEN, 'Membership change failed: the replicator closed']
}

/** The error a membership change fails with (SPEC §15.1); nothing changed. */
export function changeError (reason: ChangeFailure, detail?: string): ModuleError {
  const [code, message] = CHANGE_FAILURES[reason]
  return createError(detail === undefined ? message : `${message}: ${detail}`, code, { expected: reason === 'invalid' })
}
