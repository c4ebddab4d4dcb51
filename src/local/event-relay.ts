import type { EventEmitter } from 'node:events'
import { type Server, type Socket, connect, createServer } from 'node:net'
import type { Key, KeyRange, Op } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import type { FeedEntry } from '../feed/feed-log.js'
import type { FeedReply, FeedRequest } from '../feed/feed-source.js'
import { asBuffer } from '../replicator/bytes.js'
import type { ReplicatorStatus } from '../replicator/status.js'
import type { MembersChange, MembershipReport } from '../replicator/members.js'

/** Replicator events relayed from the local leader to every process of the host. */
export const RELAYED_EVENTS = ['ready', 'notready', 'connect', 'disconnect', 'reconnect', 'fail'] as const

/** `membership` travels too, its report as JSON text: an event line carries strings and numbers. */
type RelayedEvent = typeof RELAYED_EVENTS[number] | 'membership'

interface EventLine { readonly event: RelayedEvent, readonly args: Array<string | number> }

/** Largest event line a guest accepts from the relay: events are tiny, anything longer is not one. */
const EVENT_LINE_BYTES_MAX = 4096
/**
 * Largest change line: a transaction's operations, its values in base64. A write is at most
 * half of the largest frame (16 MiB by default); what is longer is dropped, not parsed.
 */
const CHANGE_LINE_BYTES_MAX = 64 * 1024 * 1024

/** Bytes of change lines a guest may leave unread before it misses changes. */
const CHANGES_BUFFERED_MAX = 16 * 1024 * 1024

/** Largest request line the leader reads from a guest: a feed request names a range and a few numbers; a read, its keys. */
const REQUEST_LINE_BYTES_MAX = 64 * 1024 * 1024
/** Most keys one strong read names: a getMany as large as the largest transaction. */
const READ_KEYS_MAX = 100_000

/** An operation of another host's write, as relayed: the key in the core's latin1 form, the value in base64. */
type RelayedOp = { type: 'put', key: string, value: string } | { type: 'del', key: string }

/**
 * The leader's side: a unix socket that sends each replicator event to every guest as a JSON
 * line, and the current readiness to each guest when it connects (SPEC §12).
 */
export class EventRelayServer {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #ready = false

  /** Serves guests' feed requests (SPEC §13.3) and strong reads (§14.2) with `serve`. */
  constructor (path: string, serve: RelayedRequests = NO_REQUESTS) {
    this.#server = createServer((socket) => {
      socket.on('error', () => {})
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
      socket.write(line({ event: this.#ready ? 'ready' : 'notready', args: [] }))
      const answer = (id: number, work: Promise<Record<string, unknown>>): void => {
        work.then((answered) => {
          if (!socket.destroyed) socket.write(JSON.stringify(answered) + '\n')
        }, (error: unknown) => {
          const { code, message } = error as { code?: unknown, message?: unknown }
          if (!socket.destroyed) socket.write(JSON.stringify({ failed: { id, code: typeof code === 'string' ? code : CODES.IO_ERROR, message: String(message) } }) + '\n')
        })
      }
      readLines(socket, REQUEST_LINE_BYTES_MAX, (text) => {
        const feed = text.startsWith('{"feed":') ? parseFeedRequest(text) : null
        if (feed !== null) {
          answer(feed.id, serve.feed(feed.request).then((reply) => ({ feedPage: { id: feed.id, ...encodeReply(reply) } })))
          return true
        }
        const status = text.startsWith('{"status":') ? parseIdRequest(text, 'status') : null
        if (status !== null) {
          answer(status, serve.status().then((report) => ({ statusReport: { id: status, status: report } })))
          return true
        }
        const members = text.startsWith('{"members":') ? parseMembersRequest(text) : null
        if (members !== null) {
          answer(members.id, serve.changeMembers(members.change).then((membership) => ({ membership: { id: members.id, membership } })))
          return true
        }
        const fence = text.startsWith('{"fence":') ? parseFenceRequest(text) : null
        if (fence !== null) {
          answer(fence.id, serve.fence(fence.range).then(() => ({ fenced: { id: fence.id } })))
          return true
        }
        const read = text.startsWith('{"read":') ? parseReadRequest(text) : null
        if (read !== null) {
          answer(read.id, serve.read(read.keys).then((values) => ({ values: { id: read.id, values: values.map((value) => value === undefined ? null : base64(value)) } })))
          return true
        }
        // A guest that sends anything else is not one of ours, or is broken: drop it alone.
        return false
      })
    })
    this.#server.unref()
    this.#server.listen(path)
  }

  get server (): Server {
    return this.#server
  }

  publish (event: RelayedEvent, args: Array<string | number>): void {
    if (event === 'ready') this.#ready = true
    if (event === 'notready') this.#ready = false
    const text = line({ event, args })
    for (const socket of this.#sockets) socket.write(text)
  }

  /**
   * Sends another host's write, durable here, to every guest, except to one that has fallen
   * behind by more than CHANGES_BUFFERED_MAX: it misses changes rather than grow this
   * process's memory without bound (its readiness events still go through).
   */
  publishChange (ops: readonly Op[]): void {
    const relayed = ops.map((op): RelayedOp => op.type === 'put'
      ? { type: 'put', key: op.key, value: base64(op.value) }
      : { type: 'del', key: op.key })
    const text = JSON.stringify({ change: relayed }) + '\n'
    for (const socket of this.#sockets) {
      if (socket.writableLength <= CHANGES_BUFFERED_MAX) socket.write(text)
    }
  }

  /** Tells every guest that the feed advanced. Dropped for a guest that is far behind: it polls too. */
  publishFeed (): void {
    const text = '{"feedAt":true}\n'
    for (const socket of this.#sockets) {
      if (socket.writableLength <= CHANGES_BUFFERED_MAX) socket.write(text)
    }
  }

  close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

function line (event: EventLine): string {
  return JSON.stringify(event) + '\n'
}

/** What a leader serves its guests over the events socket. */
export interface RelayedRequests {
  /** A page of the host's feed, in the data's key space. */
  readonly feed: (request: FeedRequest) => Promise<FeedReply>
  /** Strong reads of data keys (latin1), each value or undefined. */
  readonly read: (keys: Key[]) => Promise<Array<Uint8Array | undefined>>
  /** Fences over ranges of data keys (latin1), for strong iterators. */
  readonly fence: (range: KeyRange) => Promise<void>
  /** The host's replication state. */
  readonly status: () => Promise<ReplicatorStatus>
  /** A membership change (SPEC §15), as the user asked for it: the Replicator checks it. */
  readonly changeMembers: (change: MembersChange) => Promise<MembershipReport>
}

/** A guest's end of the events socket. Each request fails with `LEVEL_CONNECTION_LOST` if the connection closes first. */
export interface EventFollower {
  /** Asks the leader for a page of the host's feed. */
  readFeed: (request: FeedRequest) => Promise<FeedReply>
  /** Asks the leader for a strong read of data keys (latin1). */
  readStrong: (keys: Key[]) => Promise<Array<Uint8Array | undefined>>
  /** Asks the leader for a fence over a range of data keys (latin1). */
  fence: (range: KeyRange) => Promise<void>
  /** Asks the leader for the host's replication state. */
  status: () => Promise<ReplicatorStatus>
  /** Asks the leader to change the membership. */
  changeMembers: (change: MembersChange) => Promise<MembershipReport>
  destroy: () => void
}

/**
 * A guest's side: re-emits on `target` the events the leader relays, hands other hosts'
 * writes to `onChange` and the feed's advances to `onFeed`, and asks the leader for feed
 * pages; ends with the connection.
 */
export function followEvents (path: string, target: EventEmitter, onChange: (ops: Op[]) => void, onFeed: () => void = noop): EventFollower {
  const socket = connect(path)
  socket.unref()
  socket.on('error', () => {})
  const pending = new Map<number, { resolve: (answer: Answer) => void, reject: (error: Error) => void }>()
  let nextId = 0
  socket.once('close', () => {
    for (const { reject } of pending.values()) reject(createError('Connection to the local leader lost', CODES.CONNECTION_LOST))
    pending.clear()
  })
  readLines(socket, CHANGE_LINE_BYTES_MAX, (text) => {
    if (text.startsWith('{"change":')) {
      const ops = parseChange(text)
      if (ops !== null) onChange(ops)
    } else if (text.startsWith('{"feedAt":')) {
      onFeed()
    } else if (text.startsWith('{"feedPage":') || text.startsWith('{"values":') || text.startsWith('{"fenced":') || text.startsWith('{"statusReport":') || text.startsWith('{"membership":') || text.startsWith('{"failed":')) {
      const answer = parseAnswer(text)
      const waiting = answer === null ? undefined : pending.get(answer.id)
      if (answer === null || waiting === undefined) return true
      pending.delete(answer.id)
      if ('error' in answer) waiting.reject(answer.error)
      else waiting.resolve(answer)
    } else {
      const event = parseLine(text)
      if (event?.event === 'membership') {
        const report = parseMembership(event.args[0])
        if (report !== null) target.emit('membership', report)
      } else if (event !== null) {
        target.emit(event.event, ...event.args)
      }
    }
    return true
  })
  const ask = (kind: 'feed' | 'read' | 'fence' | 'status' | 'members', body: Record<string, unknown>): Promise<Answer> => new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(createError('Connection to the local leader lost', CODES.CONNECTION_LOST))
      return
    }
    const id = ++nextId
    pending.set(id, { resolve, reject })
    socket.write(JSON.stringify({ [kind]: { id, ...body } }) + '\n')
  })
  return {
    readFeed: async (request) => {
      const answer = await ask('feed', { ...request })
      if (!('reply' in answer)) throw createError('The local leader answered a feed request with something else', CODES.PROTOCOL_ERROR)
      return answer.reply
    },
    readStrong: async (keys) => {
      const answer = await ask('read', { keys })
      if (!('values' in answer) || answer.values.length !== keys.length) throw createError('The local leader answered a read with something else', CODES.PROTOCOL_ERROR)
      return answer.values
    },
    fence: async (range) => {
      const answer = await ask('fence', { range })
      if (!('fenced' in answer)) throw createError('The local leader answered a fence with something else', CODES.PROTOCOL_ERROR)
    },
    status: async () => {
      const answer = await ask('status', {})
      if (!('status' in answer)) throw createError('The local leader answered a status request with something else', CODES.PROTOCOL_ERROR)
      return answer.status
    },
    changeMembers: async (change) => {
      const answer = await ask('members', { change })
      if (!('membership' in answer)) throw createError('The local leader answered a membership change with something else', CODES.PROTOCOL_ERROR)
      return answer.membership
    },
    destroy: () => { socket.destroy() }
  }
}

/**
 * Calls `onLine` with each line `socket` receives, as text; destroys the socket on a line
 * longer than `lineBytesMax`, or when `onLine` returns false.
 */
function readLines (socket: Socket, lineBytesMax: number, onLine: (text: string) => boolean): void {
  let buffer = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const text = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      if (text.length > lineBytesMax || !onLine(text)) {
        socket.destroy()
        return
      }
    }
    if (buffer.length > lineBytesMax) socket.destroy()
  })
}

type WireChange = [number, string, string | null]

function encodeReply (reply: FeedReply): { host: string, through: number, changes: WireChange[] } {
  return { host: reply.host, through: reply.through, changes: reply.changes.map((change): WireChange => [change.number, change.key, change.value === null ? null : base64(change.value)]) }
}

function parseFeedRequest (text: string): { id: number, request: FeedRequest } | null {
  try {
    const { feed } = JSON.parse(text) as { feed?: unknown }
    if (typeof feed !== 'object' || feed === null) return null
    const { id, after, host, prefix, bounds, limit, bytesMax } = feed as Record<string, unknown>
    if (!isCount(id) || !(after === null || isCount(after)) || !(host === null || typeof host === 'string') || typeof prefix !== 'string') return null
    const checked = parseRange(bounds)
    if (!isCount(limit) || !isCount(bytesMax) || checked === null) return null
    return { id, request: { after, host, prefix, bounds: checked, limit, bytesMax } }
  } catch {
    return null
  }
}

type Answer = { id: number, reply: FeedReply } | { id: number, values: Array<Uint8Array | undefined> } | { id: number, fenced: true } | { id: number, status: ReplicatorStatus } | { id: number, membership: MembershipReport }

/** A request that names nothing but its id, under `kind`. */
/** A membership change a guest asks for; the Replicator checks the change itself. */
function parseMembersRequest (text: string): { id: number, change: MembersChange } | null {
  try {
    const { members } = JSON.parse(text) as { members?: unknown }
    if (typeof members !== 'object' || members === null) return null
    const { id, change } = members as Record<string, unknown>
    return isCount(id) && typeof change === 'object' && change !== null ? { id, change: change as MembersChange } : null
  } catch {
    return null
  }
}

function parseIdRequest (text: string, kind: string): number | null {
  try {
    const request = (JSON.parse(text) as Record<string, unknown>)[kind]
    if (typeof request !== 'object' || request === null) return null
    const { id } = request as Record<string, unknown>
    return isCount(id) ? id : null
  } catch {
    return null
  }
}

function parseFenceRequest (text: string): { id: number, range: KeyRange } | null {
  try {
    const { fence } = JSON.parse(text) as { fence?: unknown }
    if (typeof fence !== 'object' || fence === null) return null
    const { id, range } = fence as Record<string, unknown>
    const checked = parseRange(range)
    if (!isCount(id) || checked === null) return null
    return { id, range: checked }
  } catch {
    return null
  }
}

function parseReadRequest (text: string): { id: number, keys: Key[] } | null {
  try {
    const { read } = JSON.parse(text) as { read?: unknown }
    if (typeof read !== 'object' || read === null) return null
    const { id, keys } = read as Record<string, unknown>
    if (!isCount(id) || !Array.isArray(keys) || keys.length === 0 || keys.length > READ_KEYS_MAX || !keys.every((key) => typeof key === 'string')) return null
    return { id, keys: keys as Key[] }
  } catch {
    return null
  }
}

function parseAnswer (text: string): Answer | { id: number, error: Error } | null {
  try {
    const { feedPage, values: read, fenced, statusReport, membership: changed, failed } = JSON.parse(text) as { feedPage?: unknown, values?: unknown, fenced?: unknown, statusReport?: unknown, membership?: unknown, failed?: unknown }
    if (typeof changed === 'object' && changed !== null) {
      const { id, membership } = changed as Record<string, unknown>
      // The leader's own report, of the same version as this process: passed on as it is.
      return isCount(id) && typeof membership === 'object' && membership !== null ? { id, membership: membership as MembershipReport } : null
    }
    if (typeof statusReport === 'object' && statusReport !== null) {
      const { id, status } = statusReport as Record<string, unknown>
      // The leader's own report, of the same version as this process: passed on as it is.
      return isCount(id) && typeof status === 'object' && status !== null ? { id, status: status as ReplicatorStatus } : null
    }
    if (typeof fenced === 'object' && fenced !== null) {
      const { id } = fenced as Record<string, unknown>
      return isCount(id) ? { id, fenced: true } : null
    }
    if (typeof read === 'object' && read !== null) {
      const { id, values } = read as Record<string, unknown>
      if (!isCount(id) || !Array.isArray(values) || !values.every((value) => value === null || typeof value === 'string')) return null
      return { id, values: (values as Array<string | null>).map((value) => value === null ? undefined : fromBase64(value)) }
    }
    if (typeof failed === 'object' && failed !== null) {
      const { id, code, message } = failed as Record<string, unknown>
      if (!isCount(id) || typeof code !== 'string' || !code.startsWith('LEVEL_')) return null
      // The leader's error, as a ModuleError of the same code: its codes are ours.
      return { id, error: createError(String(message), code as typeof CODES[keyof typeof CODES], { expected: true }) }
    }
    if (typeof feedPage !== 'object' || feedPage === null) return null
    const { id, host, through, changes } = feedPage as Record<string, unknown>
    if (!isCount(id) || typeof host !== 'string' || !isCount(through) || !Array.isArray(changes)) return null
    const entries: FeedEntry[] = []
    for (const change of changes as unknown[]) {
      if (!Array.isArray(change) || change.length !== 3) return null
      const [number, key, value] = change as unknown[]
      if (!isCount(number) || typeof key !== 'string' || !(value === null || typeof value === 'string')) return null
      entries.push({ number, key, value: value === null ? null : fromBase64(value) })
    }
    return { id, reply: { host, through, changes: entries } }
  } catch {
    return null
  }
}

/** A key range as a request names it: only `gt`, `gte`, `lt` and `lte`, each a latin1 key. */
function parseRange (value: unknown): KeyRange | null {
  if (typeof value !== 'object' || value === null) return null
  const range: Record<string, string> = {}
  for (const [name, key] of Object.entries(value)) {
    if (!['gt', 'gte', 'lt', 'lte'].includes(name) || typeof key !== 'string') return null
    range[name] = key
  }
  return range
}

function isCount (value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

const NO_REQUESTS: RelayedRequests = {
  feed: async () => { throw createError('This relay serves no feed', CODES.NOT_SUPPORTED) },
  read: async () => { throw createError('This relay serves no reads', CODES.NOT_SUPPORTED) },
  fence: async () => { throw createError('This relay serves no fences', CODES.NOT_SUPPORTED) },
  status: async () => { throw createError('This relay serves no status', CODES.NOT_SUPPORTED) },
  changeMembers: async () => { throw createError('This relay serves no membership changes', CODES.NOT_SUPPORTED) }
}

function noop (): void {}

function parseLine (text: string): EventLine | null {
  if (text.length > EVENT_LINE_BYTES_MAX) return null
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return null
    const { event, args } = value as Record<string, unknown>
    if ((event !== 'membership' && !RELAYED_EVENTS.includes(event as typeof RELAYED_EVENTS[number])) || !Array.isArray(args)) return null
    if (!args.every((arg) => typeof arg === 'string' || typeof arg === 'number')) return null
    return { event: event as RelayedEvent, args: args as Array<string | number> }
  } catch {
    return null
  }
}

/** A membership report relayed as JSON: the leader's own, of the same version as this process. */
function parseMembership (text: unknown): MembershipReport | null {
  if (typeof text !== 'string') return null
  try {
    const report: unknown = JSON.parse(text)
    return typeof report === 'object' && report !== null ? report as MembershipReport : null
  } catch {
    return null
  }
}

function parseChange (text: string): Op[] | null {
  if (text.length > CHANGE_LINE_BYTES_MAX) return null
  try {
    const { change } = JSON.parse(text) as { change?: unknown }
    if (!Array.isArray(change)) return null
    const ops: Op[] = []
    for (const item of change as unknown[]) {
      const { type, key, value } = (item ?? {}) as Record<string, unknown>
      if (typeof key !== 'string') return null
      if (type === 'del') ops.push({ type, key })
      else if (type === 'put' && typeof value === 'string') ops.push({ type, key, value: fromBase64(value) })
      else return null
    }
    return ops
  } catch {
    return null
  }
}

function base64 (bytes: Uint8Array): string {
  return asBuffer(bytes).toString('base64')
}

function fromBase64 (text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}
