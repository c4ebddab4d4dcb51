import type { Duplex } from 'stream'

/** Accepting peers' connections, until closed. */
export interface Listening {
  close: () => Promise<void>
}

/**
 * Accepts peers' connections on `port` (all interfaces when `host` is undefined), handing each
 * to `accept` as a byte stream; resolves once listening. The counterpart of a `Transport`:
 * TCP by default, or TLS and WebSocket (`tlsTransport`, `webSocketTransport`). It must not
 * keep the process alive by itself: an idle database never does.
 */
export type Listen = (port: number, host: string | undefined, accept: (stream: Duplex) => void) => Promise<Listening>

/** What a `Server` of node:net, node:tls or node:http needs to listen and to close. */
interface NodeServer {
  listen: (port: number, host: string | undefined, ready: () => void) => unknown
  close: (done: () => void) => unknown
  unref: () => unknown
  once: (event: 'error', listener: (error: Error) => void) => unknown
  off: (event: 'error', listener: (error: Error) => void) => unknown
  on: (event: 'connection', listener: (socket: { destroy: () => void, once: (event: 'close', listener: () => void) => unknown }) => void) => unknown
}

/**
 * Listens with a Node server, unreferenced; closing it ends its connections too (a server
 * waits for them otherwise, and a peer may never end its side). Rejects with the listen
 * error (EADDRINUSE).
 */
export async function listenWith (server: NodeServer, port: number, host: string | undefined): Promise<Listening> {
  server.unref()
  const sockets = new Set<{ destroy: () => void }>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => { resolve() }))
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}
