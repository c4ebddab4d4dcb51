/**
 * Goal: a Dialer keeps dialing its peer and never gives up: `reconnect` before every new
 * attempt, `fail` once per streak of `failAfter` failures, a streak ended by a handshake that
 * worked, nothing after `stop()`. Method: Dialers over real TCP on 127.0.0.1, against a port
 * nobody listens on and a server that hangs up on every connection; then a Replicator whose
 * peer is down long enough to trigger `fail`, started later, and rejoined without a restart.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { rm } from 'node:fs/promises'
import { type AddressInfo, type Server, createServer } from 'node:net'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { Dialer } from '../../src/transport/dialer.js'
import { tcpTransport } from '../../src/transport/tcp.js'
import { eventually, once, tempDir } from '../helpers/hosts.js'

async function listening (): Promise<[Server, number]> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return [server, (server.address() as AddressInfo).port]
}

/** A port that was free a moment ago: dials to it are refused. */
async function closedPort (): Promise<number> {
  const [server, port] = await listening()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

function dialer (port: number, failAfter: number): { dialer: Dialer, counts: { streams: number, reconnects: number, fails: number } } {
  const counts = { streams: 0, reconnects: 0, fails: 0 }
  const dialer = new Dialer({ host: '127.0.0.1', port }, { transport: tcpTransport, backoffMsMin: 5, backoffMsMax: 20, failAfter })
  dialer.on('stream', (stream) => {
    counts.streams++
    stream.on('error', () => {})
  })
  dialer.on('reconnect', () => { counts.reconnects++ })
  dialer.on('fail', () => { counts.fails++ })
  return { dialer, counts }
}

test('a refused peer: reconnect before every new attempt, fail once per streak, nothing after stop()', { timeout: 10_000 }, async () => {
  const { dialer: refused, counts } = dialer(await closedPort(), 3)
  refused.start()
  try {
    await eventually(() => counts.fails === 1, 5_000, 'fail')
    await eventually(() => counts.streams >= 6, 5_000, 'three more attempts')
    assert.equal(counts.fails, 1, 'one fail per streak, however long')
    assert.equal(counts.reconnects, counts.streams - 1, 'every attempt after the first')
  } finally {
    refused.stop()
  }
  const stopped = counts.streams
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(counts.streams, stopped)
})

test('markHealthy ends a streak: fail comes again only after failAfter new failures', { timeout: 10_000 }, async () => {
  const [server, port] = await listening()
  server.on('connection', (socket) => { socket.destroy() })
  const { dialer: hungUp, counts } = dialer(port, 2)
  // Attempts 1 and 2 fail, the 3rd's handshake "works", 4 and 5 fail: two streaks, two fails.
  let attempt = 0
  const failsAt: number[] = []
  hungUp.on('stream', () => { if (++attempt === 3) hungUp.markHealthy() })
  hungUp.on('fail', () => { failsAt.push(attempt) })
  hungUp.start()
  try {
    await eventually(() => counts.fails === 2, 5_000, 'a second fail')
    assert.deepEqual(failsAt, [2, 5])
  } finally {
    hungUp.stop()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
})

test('fail is emitted after failAfter attempts, and the peer is rejoined when it comes back', { timeout: 30_000 }, async () => {
  const [serverA, portA] = await listening()
  // b's port is reserved, then freed: b is down until it listens there again.
  const [probe, portB] = await listening()
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const [dirA, dirB] = await Promise.all([tempDir(), tempDir()])
  const dbA = new ClassicLevel<string, unknown>(dirA, { valueEncoding: 'json' })
  const dbB = new ClassicLevel<string, unknown>(dirB, { valueEncoding: 'json' })
  const a = Replicator(dbA, { host: '127.0.0.1', port: portA, peers: [{ host: '127.0.0.1', port: portB }], failAfter: 3, reconnectMsMin: 10, reconnectMsMax: 50 })
  let b: ReturnType<typeof Replicator> | null = null
  const serve = (replicator: () => ReturnType<typeof Replicator>) => (socket: import('node:net').Socket) => {
    socket.on('error', () => {})
    const stream = replicator().createServer()
    stream.pipe(socket).pipe(stream)
  }
  serverA.on('connection', serve(() => a))
  const serverB = createServer(serve(() => b as ReturnType<typeof Replicator>))
  const reconnects: unknown[] = []
  a.on('reconnect', (...args) => reconnects.push(args))
  try {
    assert.deepEqual(await once(a, 'fail'), ['127.0.0.1', portB])
    assert.ok(reconnects.length >= 2, 'reconnect is emitted for each new attempt')
    assert.deepEqual(reconnects[0], ['127.0.0.1', portB])
    b = Replicator(dbB, { host: '127.0.0.1', port: portB, peers: [{ host: '127.0.0.1', port: portA }] })
    const connected = once(a, 'connect', 10_000)
    await new Promise<void>((resolve) => serverB.listen(portB, '127.0.0.1', resolve))
    assert.deepEqual(await connected, ['127.0.0.1', portB])
    await dbA.put('after-fail', 1)
    assert.equal(await dbB.get('after-fail'), 1)
  } finally {
    await a.close()
    await b?.close()
    for (const server of [serverA, serverB]) await new Promise<void>((resolve) => server.close(() => resolve()))
    await dbA.close()
    await dbB.close()
    for (const dir of [dirA, dirB]) await rm(dir, { recursive: true, force: true })
  }
})
