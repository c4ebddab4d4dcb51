/**
 * Goal: a Replicator's dialer never gives up: `fail` says a peer has been unreachable for
 * `failAfter` attempts, and dialing goes on. Method: a Replicator on 127.0.0.1 whose peer is
 * down long enough to trigger `fail`, started later, and rejoined without a restart.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { once, tempDir } from '../helpers/hosts.js'

test('fail is emitted after failAfter attempts, and the peer is rejoined when it comes back', { timeout: 30_000 }, async () => {
  const listening = async (): Promise<[ReturnType<typeof createServer>, number]> => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return [server, (server.address() as AddressInfo).port]
  }
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
