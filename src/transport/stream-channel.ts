import type { Duplex } from 'node:stream'
import type { ByteChannel } from './peer-connection.js'

/** What reads a byte stream: a peer connection, as far as the stream is concerned. */
interface ByteReceiver {
  receive: (chunk: Uint8Array) => void
  close: () => void
}

/**
 * Runs a receiver over a byte stream: the one way a stream becomes a peer connection's
 * channel, whether a transport dialed it or a user's server piped it into createServer()
 * (server-stream.ts). `open` gets the channel and returns what reads it; it may write at
 * once (a hello). The stream's end or close ends the receiver; ending the channel destroys
 * the stream, so that a dialer sees it gone and dials again.
 */
export function overStream<Receiver extends ByteReceiver> (stream: Duplex, open: (channel: ByteChannel) => Receiver): Receiver {
  // What counts is that the stream ended, not why: a reset socket errors, then closes.
  stream.on('error', () => {})
  const receiver = open({ write: (bytes) => { stream.write(bytes) }, end: () => { stream.destroy() } })
  stream.on('data', (chunk: Uint8Array) => { receiver.receive(chunk) })
  stream.on('end', () => { receiver.close() })
  stream.on('close', () => { receiver.close() })
  return receiver
}
