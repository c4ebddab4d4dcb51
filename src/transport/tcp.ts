import { connect } from 'node:net'
import type { Duplex } from 'node:stream'

/** The default transport: a TCP connection, with Nagle off so small protocol frames are not held back. */
export function tcpTransport (port: number, host: string): Duplex {
  const socket = connect({ port, host })
  socket.setNoDelay(true)
  return socket
}
