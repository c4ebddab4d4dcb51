import { Duplex } from 'readable-stream'
import { CODES, createError } from '../errors.js'
import type { Transport } from './dialer.js'
import { WEBSOCKET_PATH, webSocketUrl } from './websocket-url.js'

export interface BrowserWebSocketTransportOptions {
  /** The address of a peer. @default `ws://host:port/quorum-level` (`wss://` on an https page) */
  url?: (host: string, port: number) => string
}

/** The browser's own WebSocket, as far as this module uses it. */
interface PageWebSocket {
  binaryType: string
  readonly readyState: number
  send: (data: Uint8Array) => void
  close: () => void
  addEventListener: (event: 'open' | 'message' | 'close' | 'error', listener: (event: { data?: unknown }) => void) => void
}

const OPEN = 1

function defaultUrl (host: string, port: number): string {
  const secure = (globalThis as { location?: { protocol?: string } }).location?.protocol === 'https:'
  return webSocketUrl(host, port, WEBSOCKET_PATH, secure)
}

/**
 * Dials peers from a browser page with its own WebSocket: the counterpart of the Node hosts'
 * `webSocketTransport()` listener. A page accepts no connections, so there is no `listen`.
 */
export function webSocketTransport (options: BrowserWebSocketTransportOptions = {}): { transport: Transport } {
  const url = options.url ?? defaultUrl
  return {
    transport: (port, host) => {
      const Socket = (globalThis as { WebSocket?: new (url: string) => PageWebSocket }).WebSocket
      if (Socket === undefined) throw createError('This environment has no WebSocket: give another transport', CODES.NOT_SUPPORTED, { expected: true })
      const socket = new Socket(url(host, port))
      socket.binaryType = 'arraybuffer'
      // Written before the socket opens: sent once it does, in order.
      const queued: Uint8Array[] = []
      const stream = new Duplex({
        read () {},
        write (chunk: Uint8Array, _encoding: string, callback: (error?: Error | null) => void) {
          if (socket.readyState === OPEN) socket.send(chunk)
          else queued.push(chunk)
          callback()
        },
        final (callback: () => void) {
          socket.close()
          callback()
        },
        destroy (error: Error | null, callback: (error: Error | null) => void) {
          socket.close()
          callback(error)
        }
      })
      socket.addEventListener('open', () => {
        for (const chunk of queued.splice(0)) socket.send(chunk)
      })
      socket.addEventListener('message', (event) => {
        if (event.data instanceof ArrayBuffer) stream.push(new Uint8Array(event.data))
        else stream.destroy(createError('A peer sent text over the WebSocket', CODES.PROTOCOL_ERROR))
      })
      socket.addEventListener('close', () => { stream.push(null) })
      socket.addEventListener('error', () => { stream.destroy(createError('WebSocket failed', CODES.CONNECTION_LOST)) })
      return stream as unknown as ReturnType<Transport>
    }
  }
}
