/**
 * Goal: one adapter runs a peer connection over any byte stream, dialed or served: its bytes
 * go out, the stream's come in, the stream's end closes the connection and closing the
 * connection destroys the stream. Method: a PeerConnection over a real TCP socket on
 * 127.0.0.1 facing one over the inner end of a createServer() stream piped to that socket;
 * then a whole Replicator cluster over a custom transport of in-process duplex pairs.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import type { Message } from '../../src/core/index.js'
import { PeerConnection, type PeerConnectionOptions } from '../../src/transport/peer-connection.js'
import { serverStreamPair } from '../../src/transport/server-stream.js'
import { overStream } from '../../src/transport/stream-channel.js'
import { FRAME_BYTES_MAX_DEFAULT } from '../../src/wire/limits.js'
import { duplexPair, once, tempDir } from '../helpers/hosts.js'

const SECRET = 'stream-channel-secret'

function options (localId: string): PeerConnectionOptions {
  return { localId, address: null, secret: SECRET, frameBytesMax: FRAME_BYTES_MAX_DEFAULT, callTimeoutMs: 5_000, pingIntervalMs: 60_000 }
}

interface Facing {
  /** Over the dialed socket. */
  readonly dialed: PeerConnection
  readonly socket: Socket
  /** Over the inner end of the createServer() stream the server piped its socket through. */
  readonly served: PeerConnection
  /** Ends both connections, both sockets and the server, whatever the test left open. */
  readonly close: () => Promise<void>
}

async function facing (): Promise<Facing> {
  let served: PeerConnection | null = null
  let accepted: Socket | null = null
  const server: Server = createServer((socket) => {
    accepted = socket
    socket.on('error', () => {})
    const { outer, inner } = serverStreamPair()
    outer.pipe(socket).pipe(outer)
    served = overStream(inner, (channel) => new PeerConnection(channel, options('host-b')))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const connected = once(server, 'connection')
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
  socket.on('error', () => {})
  const dialed = overStream(socket, (channel) => new PeerConnection(channel, options('host-a')))
  await connected
  assert.ok(served !== null && accepted !== null)
  const [servedConnection, acceptedSocket] = [served as PeerConnection, accepted as Socket]
  return {
    dialed,
    socket,
    served: servedConnection,
    close: async () => {
      dialed.close()
      servedConnection.close()
      socket.destroy()
      acceptedSocket.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

test('a connection over a dialed socket and one over a createServer() stream open and exchange messages', { timeout: 10_000 }, async () => {
  const { dialed, served, close } = await facing()
  try {
    await Promise.all([once(dialed, 'open'), once(served, 'open')])
    const toServed = once(served, 'message')
    dialed.send({ type: 'ack', seq: 7 })
    assert.deepEqual(await toServed, [{ type: 'ack', seq: 7 } satisfies Message])
    const toDialed = once(dialed, 'message')
    served.send({ type: 'probe' })
    assert.deepEqual(await toDialed, [{ type: 'probe' } satisfies Message])
  } finally {
    await close()
  }
})

test('closing a connection destroys its stream, and that stream\'s end closes the connection facing it', { timeout: 10_000 }, async () => {
  const { dialed, socket, served, close } = await facing()
  try {
    await Promise.all([once(dialed, 'open'), once(served, 'open')])
    const servedClosed = once(served, 'close', 2_000)
    const socketClosed = once(socket, 'close', 2_000)
    dialed.close()
    await socketClosed
    assert.equal(socket.destroyed, true)
    assert.deepEqual(await servedClosed, [null], 'a clean end, not an error')
  } finally {
    await close()
  }
})

test('a custom transport (in-process duplex pairs) carries a whole cluster', { timeout: 30_000 }, async () => {
  const dirs = await Promise.all([tempDir(), tempDir(), tempDir()])
  const dbs = dirs.map((dir) => new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' }))
  // Ports only name the hosts here: the transport connects to the replicator behind the name.
  const replicators: Array<ReturnType<typeof Replicator>> = []
  const transport = (port: number): ReturnType<typeof duplexPair>[0] => {
    const [mine, theirs] = duplexPair()
    const server = replicators[port - 1]?.createServer()
    if (server === undefined) throw new Error(`no host ${port}`)
    theirs.pipe(server).pipe(theirs)
    return mine
  }
  dbs.forEach((db, i) => {
    const peers = [1, 2, 3].filter((port) => port !== i + 1).map((port) => ({ host: 'memory', port }))
    replicators.push(Replicator(db, { peers, transport, reconnectMsMin: 10 }))
  })
  try {
    await Promise.all(replicators.map((replicator) => once(replicator, 'ready')))
    await dbs[2]!.put('over-memory', true)
    for (const db of dbs) assert.equal(await db.get('over-memory'), true)
  } finally {
    for (const replicator of replicators) await replicator.close()
    for (const db of dbs) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})
