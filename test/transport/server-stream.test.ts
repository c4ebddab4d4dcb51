/**
 * Goal: the stream createServer() returns keeps its promises to a server written as the
 * README's: it never emits 'error', holds what arrives until its inner end is read, ends the
 * inner end when the socket piped into it ends or closes without ending, and ends that socket
 * gracefully when the inner end is destroyed. Method: serverStreamPair() behind a real TCP
 * server on 127.0.0.1 that pipes each socket as `outer.pipe(socket).pipe(outer)`; no
 * connection, no registry.
 */
import assert from 'node:assert/strict'
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net'
import { test } from 'node:test'
import { type ServerStreamPair, serverStreamPair } from '../../src/transport/server-stream.js'
import { eventually, once } from '../helpers/hosts.js'

interface Served {
  readonly pair: ServerStreamPair
  /** The peer's side of the socket. */
  readonly client: Socket
  readonly close: () => Promise<void>
}

async function served (): Promise<Served> {
  const pair = serverStreamPair()
  const server: Server = createServer((socket) => {
    socket.on('error', () => {})
    pair.outer.pipe(socket).pipe(pair.outer)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = once(server, 'connection')
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  client.on('error', () => {})
  await accepted
  return {
    pair,
    client,
    close: async () => {
      client.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

function text (chunks: Uint8Array[]): string {
  return Buffer.concat(chunks).toString()
}

test('bytes cross both ways, and what the peer sends before the inner end is read waits there, in order', async () => {
  const { pair, client, close } = await served()
  try {
    client.write('hello ')
    client.write('world')
    await eventually(() => pair.inner.readableLength === 11, 2_000, 'bytes held in the inner end')
    const received: Uint8Array[] = []
    pair.inner.on('data', (chunk: Uint8Array) => { received.push(chunk) })
    await eventually(() => text(received) === 'hello world', 2_000, 'held bytes delivered')
    const back: Uint8Array[] = []
    client.on('data', (chunk: Uint8Array) => { back.push(chunk) })
    pair.inner.write(Buffer.from('back'))
    await eventually(() => text(back) === 'back', 2_000, 'bytes to the peer')
  } finally {
    await close()
  }
})

test('a socket that ends, or closes without ending (a reset), ends the inner end', async () => {
  for (const hangUp of [(socket: Socket) => { socket.end() }, (socket: Socket) => { socket.resetAndDestroy() }]) {
    const { pair, client, close } = await served()
    try {
      const ended = once(pair.inner, 'end', 2_000)
      pair.inner.resume()
      hangUp(client)
      await ended
    } finally {
      await close()
    }
  }
})

test('destroying the inner end ends the socket gracefully, after what was written', async () => {
  const { pair, client, close } = await served()
  try {
    const received: Uint8Array[] = []
    client.on('data', (chunk: Uint8Array) => { received.push(chunk) })
    const ended = once(client, 'end', 2_000)
    pair.inner.write(Buffer.from('bye'))
    pair.inner.destroy()
    await ended
    assert.equal(text(received), 'bye')
  } finally {
    await close()
  }
})

test('the stream never emits error, even destroyed with one or written after its end', async () => {
  const pair = serverStreamPair()
  const ended = once(pair.inner, 'end', 2_000)
  pair.inner.resume()
  pair.outer.end()
  pair.outer.write(Buffer.from('late'))
  pair.outer.destroy(new Error('the user\'s server failed'))
  await ended
  // An 'error' without a listener would have crashed this test file by now.
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(pair.outer.destroyed, true)
})
