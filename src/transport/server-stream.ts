import type { Duplex as ByteStream } from 'node:stream'
import { Duplex } from 'readable-stream'

/** The two ends of a `createServer()` stream. */
export interface ServerStreamPair {
  /** For the user, who pipes a connection a peer opened through it: `outer.pipe(socket).pipe(outer)`. */
  readonly outer: Duplex
  /** For the peer registry, which runs a connection over it as over a dialed stream (stream-channel.ts). */
  readonly inner: ByteStream
}

/**
 * The stream `createServer()` returns, as one end of an in-process pair whose other end is an
 * ordinary byte stream: inbound and outbound connections then run over streams the same way.
 * Bytes written to one end come out of the other. Until `inner` is read, what the peer sends
 * waits in it, so the stream can exist before the Replicator has started.
 */
export function serverStreamPair (): ServerStreamPair {
  let innerEnded = false
  // Whatever ends the user's side ends what the connection reads, after the bytes before it.
  const endInner = (): void => {
    if (innerEnded) return
    innerEnded = true
    inner.push(null)
  }
  const inner = new Duplex({
    read () {},
    write (chunk: Uint8Array, _encoding: string, callback: () => void) {
      outer.push(chunk)
      callback()
    },
    destroy (error: Error | null, callback: (error: Error | null) => void) {
      // The connection is over: end the user's side gracefully, so the socket flushes and ends.
      outer.push(null)
      callback(error)
    }
  })
  const outer = new Duplex({
    read () {},
    write (chunk: Uint8Array, _encoding: string, callback: () => void) {
      if (!innerEnded) inner.push(chunk)
      callback()
    },
    final (callback: () => void) {
      endInner()
      callback()
    },
    destroy (error: Error | null, callback: (error: Error | null) => void) {
      endInner()
      callback(error)
    }
  })
  // The README's server has no error listener on this stream, so it must never emit one.
  outer.on('error', () => {})
  // A socket reset by the peer errors without ending, and pipe() then ends nothing: watch
  // the socket piped into us, and end the connection when it closes.
  outer.on('pipe', (source: NodeJS.EventEmitter) => {
    source.once('close', endInner)
  })
  // readable-stream's Duplex, typed as Node's: the connection uses what both have.
  return { outer, inner: inner as unknown as ByteStream }
}
