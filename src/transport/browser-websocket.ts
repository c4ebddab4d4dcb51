import { Duplex } from 'readable-stream'
import type { Transport } from './dialer.js'

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
  return `${secure ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}/quorum-level`
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
      if (Socket === undefined) throw new Error('This environment has no WebSocket')
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
        else stream.destroy(new Error('A peer sent text over the WebSocket'))
      })
      socket.addEventListener('close', () => { stream.push(null) })
      socket.addEventListener('error', () => { stream.destroy(new Error('WebSocket failed')) })
      return stream as unknown as ReturnType<Transport>
    }
  }
}
