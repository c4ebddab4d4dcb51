import type { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { finished, pipeline } from 'readable-stream'
import { ManyLevelGuest } from 'many-level'
import { type Op, type WriteId, bytesToKey } from '../core/index.js'
import { asBuffer } from '../replicator/bytes.js'
import { rangeOf } from '../replicator/wrap-db.js'
import type { ReplicatorStatus } from '../replicator/status.js'
import type { MembersChange, MembershipReport } from '../replicator/members.js'
import { CODES, createError, leaderWriteError } from '../errors.js'
import { type EventFollower, followEvents } from './event-relay.js'
import type { FeedReply, FeedRequest } from '../feed/feed-source.js'
import { BYTES, type ReadCallback, type Route, type RouteDatabase, type WriteCallback } from './route.js'
import type { SocketPaths } from './socket-path.js'
import { type BatchOp, stampWriteId } from './write-ids.js'

/** The code many-level fails a request with when its connection closes. */
const CONNECTION_LOST = 'LEVEL_CONNECTION_LOST'

/**
 * This process reaches its host's data through the leader's socket (SPEC §12.1), with
 * many-level's guest. The guest does not retry: when the connection closes, every request
 * in flight fails with `LEVEL_CONNECTION_LOST`, and the session runs it again on the next
 * route, where write ids make a write that did land answer as it did.
 */
export class GuestRoute implements Route {
  readonly kind = 'guest'
  readonly db: RouteDatabase
  readonly #guest: ManyLevelGuest<Buffer, Buffer>
  readonly #socket: Socket
  readonly #events: EventFollower
  #lost = false

  /** Follows the leader over `socket`, just connected; `onLost` is called once it closes. */
  constructor (socket: Socket, paths: SocketPaths, cluster: EventEmitter, onChange: (ops: Op[]) => void, onFeed: () => void, onLost: () => void) {
    this.#socket = socket
    // Idle, the connection holds nothing open; pending work holds the process (KeepAlive).
    socket.unref()
    this.#guest = new ManyLevelGuest<Buffer, Buffer>({ retry: false, ...BYTES })
    this.db = this.#guest as unknown as RouteDatabase
    const rpc = this.#guest.createRpcStream()
    // Registered after many-level's own cleanup on the same stream, so this runs right after
    // it has failed the requests in flight: a request made later would be written to no
    // connection and wait forever, so from here on every request fails at once.
    finished(rpc, () => {
      if (this.#lost) return
      this.#lost = true
      onLost()
    })
    pipeline(socket, rpc, socket, () => {})
    this.#events = followEvents(paths.events, cluster, onChange, onFeed)
  }

  get (key: Buffer, callback: ReadCallback<Buffer>): void {
    this.#guest.get(key, BYTES, callback)
  }

  getMany (keys: Buffer[], callback: ReadCallback<Array<Buffer | undefined>>): void {
    this.#guest.getMany(keys, BYTES, callback)
  }

  readFeed (request: FeedRequest, callback: ReadCallback<FeedReply>): void {
    this.#events.readFeed(request).then((reply) => { callback(null, reply) }, callback)
  }

  status (callback: ReadCallback<ReplicatorStatus>): void {
    this.#events.status().then((status) => { callback(null, status) }, callback)
  }

  changeMembers (change: MembersChange, callback: ReadCallback<MembershipReport>): void {
    this.#events.changeMembers(change).then((membership) => { callback(null, membership) }, callback)
  }

  fence (range: { gt?: Buffer, gte?: Buffer, lt?: Buffer, lte?: Buffer }, callback: WriteCallback): void {
    this.#events.fence(rangeOf(range)).then(() => { callback() }, callback)
  }

  readStrong (keys: Buffer[], callback: ReadCallback<Array<Buffer | undefined>>): void {
    this.#events.readStrong(keys.map(bytesToKey)).then((values) => { callback(null, values.map((value) => value === undefined ? undefined : asBuffer(value))) }, callback)
  }

  write (ops: readonly BatchOp[], id: WriteId, callback: WriteCallback): void {
    if (this.#lost) {
      process.nextTick(callback, lostError())
      return
    }
    this.#guest.batch(stampWriteId(ops, id), BYTES, (error) => {
      // A lost connection stays as it is: the session tries the write again elsewhere.
      const code = (error as { code?: unknown } | null | undefined)?.code
      callback(typeof code !== 'string' || this.isLoss(error as Error) ? error : leaderWriteError(code))
    })
  }

  get lost (): boolean {
    return this.#lost
  }

  isLoss (error: Error): boolean {
    return this.#lost || (error as { code?: string }).code === CONNECTION_LOST
  }

  async close (): Promise<void> {
    this.#lost = true
    this.#events.destroy()
    this.#socket.destroy()
    await this.#guest.close()
  }
}

function lostError (): Error {
  return createError('Connection to the local leader lost', CODES.CONNECTION_LOST)
}
