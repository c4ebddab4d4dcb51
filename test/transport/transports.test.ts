/**
 * Goal: peers can be accepted over the same transport they are dialed with, for a Replicator
 * (`listen()`) and a QuorumLevel (its leader listens) alike: TCP by default, TLS, and
 * WebSocket; closing stops listening; garbage over a WebSocket closes that connection and
 * nothing else. Method: real hosts on 127.0.0.1 with free ports, classic-level databases in
 * temporary directories, a self-signed certificate made for the run (selfsigned).
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { generate } from 'selfsigned'
import { WebSocket } from 'ws'
import { QuorumLevel, Replicator, type ReplicatorOptions, tlsTransport, webSocketTransport } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { once, tempDir } from '../helpers/hosts.js'

async function certificate (): Promise<{ key: string, cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
  })
  return { key: pems.private, cert: pems.cert }
}

/** Whether a TCP server can bind `port` on 127.0.0.1 now: nothing listens there any more. */
async function free (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise((resolve) => {
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

const TRANSPORTS: Array<{ name: string, options: () => Promise<ReplicatorOptions> }> = [
  { name: 'TCP', options: async () => ({}) },
  {
    name: 'TLS',
    options: async () => {
      const { key, cert } = await certificate()
      // Only this certificate is trusted: a connection to anything else fails its handshake.
      return tlsTransport({ key, cert, ca: cert })
    }
  },
  { name: 'WebSocket', options: async () => webSocketTransport() }
]

for (const { name, options } of TRANSPORTS) {
  test(`a Replicator cluster accepts and dials peers over ${name}, and close() stops listening`, { timeout: 30_000 }, async () => {
    const transport = await options()
    const ports = await freePorts(3)
    const dirs = await Promise.all(ports.map(tempDir))
    const dbs = dirs.map((dir) => new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' }))
    const replicators = dbs.map((db, i) => Replicator(db, {
      ...transport,
      host: '127.0.0.1',
      port: ports[i],
      peers: ports.filter((_, j) => j !== i).map((port) => ({ host: '127.0.0.1', port })),
      secret: `over ${name}`,
      reconnectMsMin: 20
    }))
    try {
      await Promise.all(replicators.map(async (replicator) => { await replicator.listen() }))
      await Promise.all(replicators.map((replicator) => once(replicator, 'ready', 10_000)))
      await dbs[1]?.put('k', { over: name })
      for (const db of dbs) assert.deepEqual(await db.get('k'), { over: name })
    } finally {
      for (const replicator of replicators) await replicator.close()
      for (const db of dbs) await db.close()
      for (const dir of dirs) await rm(dir, { recursive: true, force: true })
    }
    for (const port of ports) assert.ok(await free(port), `port ${port} is released once closed`)
  })
}

for (const { name, options } of TRANSPORTS.slice(1)) {
  test(`QuorumLevel hosts replicate over ${name}, accepted by each host's leader`, { timeout: 30_000 }, async () => {
    const transport = await options()
    const ports = await freePorts(2)
    const dirs = await Promise.all(ports.map(tempDir))
    const dbs = dirs.map((dir, i) => new QuorumLevel<string, unknown>(dir, {
      ...transport,
      valueEncoding: 'json',
      host: '127.0.0.1',
      port: ports[i],
      peers: [{ host: '127.0.0.1', port: ports[1 - i] as number }],
      secret: `quorum over ${name}`,
      reconnectMsMin: 20
    }))
    try {
      await Promise.all(dbs.map(async (db) => { await db.open() }))
      await dbs[0]?.put('k', { over: name })
      assert.deepEqual(await dbs[1]?.get('k'), { over: name })
      await dbs[1]?.put('back', 1)
      assert.equal(await dbs[0]?.get('back'), 1)
    } finally {
      for (const db of dbs) await db.close()
      for (const dir of dirs) await rm(dir, { recursive: true, force: true })
    }
  })
}

test('garbage sent over a WebSocket closes that connection, and nothing else', { timeout: 30_000 }, async () => {
  const transport = webSocketTransport()
  const ports = await freePorts(2)
  const dirs = await Promise.all(ports.map(tempDir))
  const dbs = dirs.map((dir) => new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' }))
  const replicators = dbs.map((db, i) => Replicator(db, { ...transport, host: '127.0.0.1', port: ports[i], peers: [{ host: '127.0.0.1', port: ports[1 - i] as number }], reconnectMsMin: 20 }))
  try {
    await Promise.all(replicators.map(async (replicator) => { await replicator.listen() }))
    await Promise.all(replicators.map((replicator) => once(replicator, 'ready', 10_000)))
    const errors: Error[] = []
    replicators[0]?.on('error', (error) => { errors.push(error) })
    const intruder = new WebSocket(`ws://127.0.0.1:${ports[0] as number}/quorum-level`)
    await new Promise((resolve, reject) => { intruder.once('open', resolve); intruder.once('error', reject) })
    const closed = new Promise((resolve) => { intruder.once('close', resolve) })
    intruder.send(Buffer.from([0xff, 0xff, 0xff, 0x7f, 0x01, 0x02, 0x03]))
    await closed
    assert.ok(errors.some((error) => (error as { code?: string }).code === 'LEVEL_PROTOCOL_ERROR' || (error as { code?: string }).code === 'LEVEL_FRAME_TOO_LARGE'), `the host said why: ${errors.map(String).join('; ')}`)
    // The peers' own connection is untouched.
    await dbs[0]?.put('after', true)
    assert.equal(await dbs[1]?.get('after'), true)
  } finally {
    for (const replicator of replicators) await replicator.close()
    for (const db of dbs) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})

test('listen() needs a port, and refuses once the Replicator is closed', { timeout: 30_000 }, async () => {
  const dir = await tempDir()
  const db = new ClassicLevel<string, unknown>(dir)
  try {
    const portless = Replicator(db)
    await assert.rejects(portless.listen(), { code: 'LEVEL_INVALID_OPTION', message: /port/ })
    await portless.close()
    const [port] = await freePorts(1)
    const closed = Replicator(db, { port })
    await closed.close()
    await assert.rejects(closed.listen(), { code: 'LEVEL_DATABASE_NOT_OPEN' })
    assert.ok(await free(port as number), 'nothing listens')
  } finally {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
})
