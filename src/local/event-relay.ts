import type { EventEmitter } from 'node:events'
import { type Server, type Socket, connect, createServer } from 'node:net'

/** Replicator events relayed from the local leader to every process of the host. */
export const RELAYED_EVENTS = ['ready', 'notready', 'connect', 'disconnect', 'reconnect', 'fail'] as const

type RelayedEvent = typeof RELAYED_EVENTS[number]

interface EventLine { readonly event: RelayedEvent, readonly args: Array<string | number> }

/** Largest line a guest accepts from the relay: events are tiny, anything longer is not one. */
const EVENT_LINE_BYTES_MAX = 4096

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

  close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

function line (event: EventLine): string {
  return JSON.stringify(event) + '\n'
}

/** A guest's side: re-emits on `target` what the leader relays; ends with the connection. */
export function followEvents (path: string, target: EventEmitter): Socket {
  const socket = connect(path)
  socket.unref()
  socket.on('error', () => {})
  let buffer = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    if (buffer.length > EVENT_LINE_BYTES_MAX * 16) {
      socket.destroy()
      return
    }
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const text = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
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
