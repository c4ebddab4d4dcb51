import type { EventEmitter } from 'node:events'
import { type Server, type Socket, connect, createServer } from 'node:net'
import type { Op } from '../core/index.js'
import { asBuffer } from '../replicator/bytes.js'

/** Replicator events relayed from the local leader to every process of the host. */
export const RELAYED_EVENTS = ['ready', 'notready', 'connect', 'disconnect', 'reconnect', 'fail'] as const

type RelayedEvent = typeof RELAYED_EVENTS[number]

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

  constructor (path: string) {
    this.#server = createServer((socket) => {
      socket.on('error', () => {})
      socket.resume()
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
      socket.write(line({ event: this.#ready ? 'ready' : 'notready', args: [] }))
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

  close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

function line (event: EventLine): string {
  return JSON.stringify(event) + '\n'
}

/**
 * A guest's side: re-emits on `target` the events the leader relays, and hands other hosts'
 * writes to `onChange`; ends with the connection.
 */
export function followEvents (path: string, target: EventEmitter, onChange: (ops: Op[]) => void): Socket {
  const socket = connect(path)
  socket.unref()
  socket.on('error', () => {})
  let buffer = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    if (buffer.length > CHANGE_LINE_BYTES_MAX * 2) {
      socket.destroy()
      return
    }
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const text = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      if (text.startsWith('{"change":')) {
        const ops = parseChange(text)
        if (ops !== null) onChange(ops)
        continue
      }
      const event = parseLine(text)
      if (event !== null) target.emit(event.event, ...event.args)
    }
  })
  return socket
}

function parseLine (text: string): EventLine | null {
  if (text.length > EVENT_LINE_BYTES_MAX) return null
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return null
    const { event, args } = value as Record<string, unknown>
    if (!RELAYED_EVENTS.includes(event as RelayedEvent) || !Array.isArray(args)) return null
    if (!args.every((arg) => typeof arg === 'string' || typeof arg === 'number')) return null
    return { event: event as RelayedEvent, args: args as Array<string | number> }
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
