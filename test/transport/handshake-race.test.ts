/**
 * Goal: a peer that finishes the handshake first may send large messages at once, right
 * behind its proof, and the connection takes them. Method: two PeerConnections over in-memory
 * channels; everything one side writes after its hello is held back until it has opened and
 * sent a message larger than the handshake's frame limit, then all of it is delivered to the
 * other side in one chunk, while that side still has the proof to check. Also: bytes piled up
 * during that check beyond the bound close the connection.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Message } from '../../src/core/index.js'
import type ModuleError from 'module-error'
import { CODES } from '../../src/errors.js'
import { type ByteChannel, PeerConnection } from '../../src/transport/peer-connection.js'
import { FRAME_BYTES_MAX_DEFAULT, HANDSHAKE_FRAME_BYTES_MAX } from '../../src/wire/limits.js'

const FRAME_BYTES_MAX = 64 * 1024

function bigPrepare (bytes: number): Message {
  return { type: 'prepare', seq: 1, ops: [{ type: 'put', key: 'big', value: new Uint8Array(bytes).fill(7) }], clock: 1, epoch: 0 }
}

interface Ends {
  readonly slow: PeerConnection
  readonly fast: PeerConnection
  readonly received: Message[]
  /** Why `slow` closed, once it has. */
  slowClosed: Promise<ModuleError | null>
  /** Hands `slow` everything `fast` wrote after its hello, in one chunk. */
  release: () => void
}

/** `fast` opens first; what it writes after its hello reaches `slow` only on `release`. */
function ends (): Ends {
  const held: Uint8Array[] = []
  let fastWrites = 0
  let connections: [PeerConnection, PeerConnection] | null = null
  const toSlow: ByteChannel = {
    write: (bytes) => {
      const copy = bytes.slice()
      if (++fastWrites === 1) setImmediate(() => { connections?.[0].receive(copy) })
      else held.push(copy)
    },
    end: () => {}
  }
  const toFast: ByteChannel = {
    write: (bytes) => {
      const copy = bytes.slice()
      setImmediate(() => { connections?.[1].receive(copy) })
    },
    end: () => {}
  }
  const options = { address: null, secret: 'race', frameBytesMax: FRAME_BYTES_MAX, callTimeoutMs: 5_000, pingIntervalMs: 60_000 }
  const slow = new PeerConnection(toFast, { ...options, localId: 'host-slow' })
  const fast = new PeerConnection(toSlow, { ...options, localId: 'host-fast' })
  connections = [slow, fast]
  const received: Message[] = []
  slow.on('message', (message) => { received.push(message) })
  const slowClosed = new Promise<ModuleError | null>((resolve) => slow.once('close', resolve))
  const release = (): void => {
    const total = held.reduce((sum, part) => sum + part.byteLength, 0)
    const chunk = new Uint8Array(total)
    let at = 0
    for (const part of held) {
      chunk.set(part, at)
      at += part.byteLength
    }
    held.length = 0
    slow.receive(chunk)
  }
  return { slow, fast, received, slowClosed, release }
}

test('a large message right behind the proof, in the same chunk, is delivered once the proof is checked', async () => {
  assert.ok(FRAME_BYTES_MAX < FRAME_BYTES_MAX_DEFAULT)
  const { slow, fast, received, release } = ends()
  await new Promise((resolve) => fast.once('open', resolve))
  const message = bigPrepare(8 * HANDSHAKE_FRAME_BYTES_MAX)
  fast.send(message)
  await new Promise((resolve) => setImmediate(resolve))
  const opened = new Promise((resolve) => slow.once('open', resolve))
  release()
  await opened
  for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(received, [message])
  slow.close()
  fast.close()
})

test('more than two frame limits piled up while the proof is checked close the connection', async () => {
  const { fast, slowClosed, release } = ends()
  await new Promise((resolve) => fast.once('open', resolve))
  for (let i = 0; i < 3; i++) fast.send(bigPrepare(FRAME_BYTES_MAX - 1_024))
  await new Promise((resolve) => setImmediate(resolve))
  release()
  const error = await slowClosed
  assert.equal(error?.code, CODES.PROTOCOL_ERROR)
  assert.match(error?.message ?? '', /too much before the handshake/)
  fast.close()
})
