/**
 * Goal: a connection writes what it sends in one turn of the event loop as one write to its
 * channel, in order, and a close still sends what was written before it. Method: two
 * PeerConnections facing each other over in-memory channels that count their writes.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Message } from '../../src/core/index.js'
import { type ByteChannel, PeerConnection } from '../../src/transport/peer-connection.js'
import { FRAME_BYTES_MAX_DEFAULT } from '../../src/wire/limits.js'

interface End {
  readonly connection: PeerConnection
  readonly received: Message[]
  /** Writes this end made to its channel. */
  writes: number
  closed: boolean
}

/** Two connections whose channels deliver to each other on later turns, in order. */
async function pair (): Promise<[End, End]> {
  const ends: End[] = []
  const channel = (self: number): ByteChannel => ({
    write: (bytes) => {
      const end = ends[self] as End
      end.writes++
      const copy = bytes.slice()
      setImmediate(() => { (ends[1 - self] as End).connection.receive(copy) })
    },
    end: () => { setImmediate(() => { (ends[1 - self] as End).connection.close() }) }
  })
  for (const [i, id] of ['host-a', 'host-b'].entries()) {
    const connection = new PeerConnection(channel(i), { localId: id, address: null, secret: 'batching', frameBytesMax: FRAME_BYTES_MAX_DEFAULT, callTimeoutMs: 5_000, pingIntervalMs: 60_000 })
    const end: End = { connection, received: [], writes: 0, closed: false }
    connection.on('message', (message) => { end.received.push(message) })
    connection.on('close', () => { end.closed = true })
    ends.push(end)
  }
  await Promise.all(ends.map(async (end) => { await new Promise((resolve) => end.connection.once('open', resolve)) }))
  return [ends[0] as End, ends[1] as End]
}

async function until (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve))
  assert.ok(condition(), 'timed out')
}

test('messages sent in one turn leave in one write, in order', async () => {
  const [a, b] = await pair()
  await new Promise((resolve) => setImmediate(resolve))
  const before = a.writes
  for (let seq = 1; seq <= 5; seq++) a.connection.send({ type: 'ack', seq })
  await until(() => b.received.length === 5)
  assert.equal(a.writes - before, 1)
  assert.deepEqual(b.received, [1, 2, 3, 4, 5].map((seq) => ({ type: 'ack', seq })))
  a.connection.send({ type: 'ack', seq: 6 })
  await until(() => b.received.length === 6)
  assert.equal(a.writes - before, 2, 'a later turn writes again')
  a.connection.close()
  b.connection.close()
})

test('a close right after sends still delivers them first', async () => {
  const [a, b] = await pair()
  a.connection.send({ type: 'ack', seq: 1 })
  a.connection.send({ type: 'ack', seq: 2 })
  a.connection.close()
  await until(() => b.closed)
  assert.deepEqual(b.received, [{ type: 'ack', seq: 1 }, { type: 'ack', seq: 2 }])
})
