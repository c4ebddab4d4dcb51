import type { Duplex } from 'node:stream'
import { type ConnectionOptions, type TlsOptions, connect, createServer } from 'node:tls'
import type { Transport } from './dialer.js'
import { type Listen, listenWith } from './listen.js'

/** Certificates and keys, as node:tls takes them: `key` and `cert` to serve, `ca` to trust. */
export type TlsTransportOptions = Omit<TlsOptions & ConnectionOptions, 'port' | 'host' | 'path' | 'socket'>

/**
 * Peers over TLS, both ways: spread into a Replicator's or QuorumLevel's options. Every host
 * serves with `key` and `cert` and dials trusting `ca` (and, with `requestCert`, the other
 * side proves itself too). `secret` still names the cluster; TLS protects what follows.
 */
export function tlsTransport (options: TlsTransportOptions): { transport: Transport, listen: Listen } {
  return {
    transport: (port, host): Duplex => {
      const socket = connect({ ...options, port, host })
      socket.setNoDelay(true)
      return socket
    },
    listen: async (port, host, accept) => {
      const server = createServer(options, (socket) => {
        socket.setNoDelay(true)
        socket.on('error', () => {})
        accept(socket)
      })
      // A client that fails its handshake is that connection's problem only.
      server.on('tlsClientError', () => {})
      return await listenWith(server, port, host)
    }
  }
}
