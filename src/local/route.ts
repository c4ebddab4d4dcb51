import type { AbstractLevel } from 'abstract-level'
import type { WriteId } from '../core/index.js'
import type { FeedReply, FeedRequest } from '../feed/feed-source.js'
import type { ReplicatorStatus } from '../replicator/status.js'
import type { MembersChange, MembershipReport } from '../replicator/members.js'
import type { BatchOp } from './write-ids.js'

/** The database a route reads: keys and values are bytes, and the user's data is all there is. */
export type RouteDatabase = AbstractLevel<Buffer | Uint8Array | string, Buffer, Buffer>

/** Options that make abstract-level pass bytes through untouched. */
export const BYTES = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const

export type WriteCallback = (error?: Error | null) => void
export type ReadCallback<T> = (error?: Error | null, result?: T) => void

/**
 * How one process reaches its host's data right now: directly, as the local leader, or
 * through the leader's socket, as a guest (SPEC §12.1). A route is used until it is lost;
 * operations then move to the next one.
 */
export interface Route {
  readonly kind: 'leader' | 'guest'
  /** Iterators and `clear` run here; reads by key go to `get` and `getMany`. */
  readonly db: RouteDatabase
  /** Lost: nothing more may be sent this way (a lost guest connection would never answer). */
  readonly lost: boolean
  /** Reads one key; a missing one fails with `LEVEL_NOT_FOUND`, as abstract-level expects. */
  get: (key: Buffer, callback: ReadCallback<Buffer>) => void
  getMany: (keys: Buffer[], callback: ReadCallback<Array<Buffer | undefined>>) => void
  /** A strong read of `keys` (SPEC §14): each value, or undefined. */
  readStrong: (keys: Buffer[], callback: ReadCallback<Array<Buffer | undefined>>) => void
  /** Holds until the host has applied every write on `range` decided before the call (SPEC §14.1). */
  fence: (range: { gt?: Buffer, gte?: Buffer, lt?: Buffer, lte?: Buffer }, callback: WriteCallback) => void
  /** The host's replication state (README, Status). */
  status: (callback: ReadCallback<ReplicatorStatus>) => void
  /** A membership change, made by the host's Replicator (SPEC §15). */
  changeMembers: (change: MembersChange, callback: ReadCallback<MembershipReport>) => void
  /** Reads a page of the host's change feed, in the data's key space (SPEC §13.3). */
  readFeed: (request: FeedRequest, callback: ReadCallback<FeedReply>) => void
  /** Writes `ops` as one transaction named `id` (SPEC §4.7). */
  write: (ops: readonly BatchOp[], id: WriteId, callback: WriteCallback) => void
  /**
   * Whether `error`, from an operation on this route, says the route itself is gone: the
   * operation's outcome is then unknown, and it is tried again on the next route.
   */
  isLoss: (error: Error) => boolean
  /** Ends this route: a guest disconnects, a leader resigns. */
  close: () => Promise<void>
}
