import { connect, createServer } from 'node:net'
import type { Duplex } from 'node:stream'
import { type Listen, listenWith } from './listen.js'

/** The default transport: a TCP connection, with Nagle off so small protocol frames are not held back. */
export function tcpTransport (port: number, host: string): Duplex {
  const socket = connect({ port, host })
  socket.setNoDelay(true)
  return socket
}

/** The default way to accept peers: a TCP server. */
export const tcpListen: Listen = async (port, host, accept) => {
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    accept(socket)
  })
  return await listenWith(server, port, host)
}
