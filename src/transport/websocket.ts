import { createServer } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws'
import type { Transport } from './dialer.js'
import { type Listen, listenWith } from './listen.js'
import { WEBSOCKET_PATH, webSocketUrl } from './websocket-url.js'

export interface WebSocketTransportOptions {
  /** The path peers connect to. @default '/quorum-level' */
  path?: string
}

/**
 * Peers over WebSocket, both ways, with the `ws` package: spread into a Replicator's or
 * QuorumLevel's options. Frames travel as binary messages; the stream is the same as over
 * TCP, so a browser tab (with its own WebSocket) can be a peer. For `wss://`, put the host
 * behind a TLS terminator.
 */
export function webSocketTransport (options: WebSocketTransportOptions = {}): { transport: Transport, listen: Listen } {
  const path = options.path ?? WEBSOCKET_PATH
  return {
    transport: (port, host): Duplex => {
      const socket = new WebSocket(webSocketUrl(host, port, path), { perMessageDeflate: false })
      const stream = createWebSocketStream(socket)
      stream.on('error', () => {})
      return stream
    },
    listen: async (port, host, accept) => {
      const server = createServer()
      const sockets = new WebSocketServer({ server, path, perMessageDeflate: false })
      sockets.on('connection', (socket) => {
        const stream = createWebSocketStream(socket)
        stream.on('error', () => {})
        accept(stream)
      })
      sockets.on('error', () => {})
      const listening = await listenWith(server, port, host)
      return {
        close: async () => {
          // A server closes only once its connections have: end them first.
          for (const client of sockets.clients) client.terminate()
          sockets.close()
          await listening.close()
        }
      }
    }
  }
}
