/**
 * Goal: a bad peer never harms a node: a PeerConnection closes that connection alone, says
 * why, and lets nothing through before the handshake proved the secret. Method: raw TCP
 * clients send random bytes, wrong shapes, a huge declared length and valid messages without
 * authentication to a real host; a replicator with the wrong secret connects; a flood of
 * connections opens and drops. Each bad connection must be closed with an `error` event,
 * nothing may be written, and the host must go on serving writes.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { encodePayload } from '../../src/wire/codec.js'
import { encodeFrame } from '../../src/wire/frames.js'
import { messageToWire } from '../../src/wire/messages.js'
import { type HostSet, allReady, closeHosts, contents, once, startHosts, tempDir } from '../helpers/hosts.js'

function frame (value: unknown): Uint8Array {
  return encodeFrame(encodePayload(value))
}

/** Sends `bytes` to the host and resolves when the host closes the connection. */
function sendAndAwaitClose (port: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => { socket.write(bytes) })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('the host kept a bad connection open'))
    }, 5_000)
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve()
    })
    socket.resume()
  })
}

async function assertStillServing (set: HostSet, key: string): Promise<void> {
  await set.hosts[0]!.db.put(key, 'ok')
  for (const host of set.hosts) assert.equal(await host.db.get(key), 'ok')
}

test('garbage, wrong shapes, huge lengths and unauthenticated messages close that connection only', { timeout: 60_000 }, async () => {
  const set = await startHosts(3, () => ({ secret: 's3cret' }))
  try {
    await allReady(set)
    const victim = set.hosts[1]!
    const errors: Array<string | undefined> = []
    victim.replicator.on('error', (error: Error & { code?: string }) => errors.push(error.code))
    const prepare = messageToWire({ type: 'prepare', seq: 1, ops: [{ type: 'put', key: 'evil', value: new TextEncoder().encode('"x"') }], clock: 1, epoch: 0 })
    const cases: Array<[string, Uint8Array, string]> = [
      ['random bytes', randomBytes(512), 'LEVEL_'],
      ['a bare number', frame(1), 'LEVEL_PROTOCOL_ERROR'],
      ['rpc-stream\'s crasher', frame(['put', null, 1]), 'LEVEL_PROTOCOL_ERROR'],
      ['an unknown method', frame(['drop', [], -1]), 'LEVEL_PROTOCOL_ERROR'],
      ['a huge declared length', Uint8Array.from([0xff, 0xff, 0xff, 0xff]), 'LEVEL_FRAME_TOO_LARGE'],
      ['a valid message before authentication', frame(['deliver', [prepare], -1]), 'LEVEL_PROTOCOL_ERROR']
    ]
    for (const [name, bytes, code] of cases) {
      const before = errors.length
      await sendAndAwaitClose(victim.port, bytes)
      assert.ok(errors.length > before, `${name}: an error event`)
      assert.ok(errors[errors.length - 1]?.startsWith(code), `${name}: ${errors[errors.length - 1]} is ${code}`)
    }
    for (const host of set.hosts) assert.deepEqual(await contents(host.db), [], 'nothing was written')
    await assertStillServing(set, 'after-garbage')
  } finally {
    await closeHosts(set)
  }
})

test('a peer with the wrong secret is refused with LEVEL_AUTH_FAILED', { timeout: 30_000 }, async () => {
  const set = await startHosts(2, () => ({ secret: 'right', minConsensus: 0 }))
  const location = await tempDir()
  const db = new ClassicLevel<string, unknown>(location, { valueEncoding: 'json' })
  const intruder = Replicator(db, { secret: 'wrong', peers: [{ host: '127.0.0.1', port: set.hosts[0]!.port }], reconnectMsMin: 1_000 })
  intruder.on('error', () => {})
  try {
    const [error] = await once(set.hosts[0]!.replicator, 'error') as [Error & { code?: string }]
    assert.equal(error.code, 'LEVEL_AUTH_FAILED')
    let connected = false
    intruder.on('connect', () => { connected = true })
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(connected, false)
  } finally {
    await intruder.close()
    await db.close()
    await closeHosts(set)
  }
})

test('a host without an error listener survives bad input', { timeout: 30_000 }, async () => {
  const set = await startHosts(2)
  try {
    await allReady(set)
    assert.equal(set.hosts[0]!.replicator.listenerCount('error'), 0)
    await sendAndAwaitClose(set.hosts[0]!.port, frame(['put', null, 1]))
    await assertStillServing(set, 'unlistened')
  } finally {
    await closeHosts(set)
  }
})

test('a flood of connections opened and dropped leaves the host serving', { timeout: 60_000 }, async () => {
  const set = await startHosts(2)
  try {
    await allReady(set)
    const port = set.hosts[0]!.port
    await Promise.all(Array.from({ length: 200 }, () => new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy() })
      socket.on('error', () => {})
      socket.on('close', () => resolve())
    })))
    await assertStillServing(set, 'after-flood')
  } finally {
    await closeHosts(set)
  }
})
