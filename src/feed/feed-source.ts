import { type Key, type KeyRange, inRange } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import type { FeedEntry, FeedLog } from './feed-log.js'

/** Which changes a reader asks for: after a number (null: from now on), on which host, in which keys. */
export interface FeedRequest {
  readonly after: number | null
  /** The host the position came from; null when reading from now on. */
  readonly host: string | null
  /** Every key returned starts with it, in the reader's key space. */
  readonly prefix: Key
  readonly bounds: KeyRange
  readonly limit: number
  readonly bytesMax: number
}

export interface FeedReply {
  readonly host: string
  readonly changes: FeedEntry[]
  readonly through: number
}

/** Where a change feed reads from: the host's FeedLog, here or through the local leader. */
export interface FeedSource {
  read: (request: FeedRequest) => Promise<FeedReply>
  /** Calls `listener` whenever the feed may have advanced; returns what stops it. */
  watch: (listener: () => void) => () => void
}

/** The position of the last change `source` has recorded: where a feed from now would start. */
export async function lastPositionOf (source: FeedSource): Promise<string> {
  const { host, through } = await source.read({ after: null, host: null, prefix: '', bounds: {}, limit: 0, bytesMax: 0 })
  return `${through}@${host}`
}

/** Reads `log`, the feed of host `host`. */
export async function readFeedLog (log: FeedLog, host: string, request: FeedRequest): Promise<FeedReply> {
  if (request.host !== null && request.host !== host) {
    throw createError(`Position is from another host (${request.host}); this is ${host}. Positions are per host`, CODES.INVALID_OPTION, { expected: true })
  }
  const { prefix, bounds } = request
  const page = await log.read({
    after: request.after ?? log.last,
    limit: request.limit,
    bytesMax: request.bytesMax,
    accepts: (key) => key.startsWith(prefix) && inRange(key, bounds)
  })
  return { host, changes: page.changes, through: page.through }
}

/**
 * Reads `read` for a reader that does not see `shift`, a prefix of every key it reads (as
 * QuorumLevel's processes do not see the data sublevel's): its bounds get it, keys lose it.
 */
export async function readShifted (read: FeedSource['read'], shift: Key, request: FeedRequest): Promise<FeedReply> {
  const reply = await read({ ...request, prefix: shift + request.prefix, bounds: shiftRange(request.bounds, shift) })
  return { ...reply, changes: reply.changes.map((change) => ({ ...change, key: change.key.slice(shift.length) })) }
}

/** `range` with `shift` before each of its bounds: the same range, in a key space under `shift`. */
export function shiftRange (range: KeyRange, shift: Key): KeyRange {
  const shifted: { gt?: Key, gte?: Key, lt?: Key, lte?: Key } = {}
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    const key = range[name]
    if (key !== undefined) shifted[name] = shift + key
  }
  return shifted
}
