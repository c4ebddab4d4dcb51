/**
 * Goal: README's advice for untrusted networks works: a Replicator cluster carried over TLS,
 * dialing with a `transport` that returns `tls.connect(...)` and serving the sockets of a
 * `tls.createServer(...)` through `createServer()`. Method: a self-signed certificate made
 * for this run (selfsigned), three hosts on 127.0.0.1, a write read back on every host.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { type Server, connect, createServer } from 'node:tls'
import { ClassicLevel } from 'classic-level'
import { generate } from 'selfsigned'
import { Replicator } from '../../src/index.js'
import { once, tempDir } from '../helpers/hosts.js'

test('a Replicator cluster runs over TLS, dialed and served', { timeout: 30_000 }, async () => {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
  })
  const [key, cert] = [pems.private, pems.cert]
  const dirs = await Promise.all([tempDir(), tempDir(), tempDir()])
  const dbs = dirs.map((dir) => new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' }))
  const replicators: Array<ReturnType<typeof Replicator>> = []
  const servers: Server[] = []
  for (let i = 0; i < 3; i++) {
    const server = createServer({ key, cert }, (socket) => {
      socket.on('error', () => {})
      const stream = replicators[i]?.createServer()
      if (stream === undefined) {
        socket.destroy()
        return
      }
      stream.pipe(socket).pipe(stream)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
  }
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  // Only this certificate is trusted: a connection to anything else fails its handshake.
  const transport = (port: number, host: string): ReturnType<typeof connect> => connect({ port, host, ca: cert })
  dbs.forEach((db, i) => {
    const peers = ports.filter((_, j) => j !== i).map((port) => ({ host: '127.0.0.1', port }))
    replicators.push(Replicator(db, { host: '127.0.0.1', port: ports[i], peers, transport, secret: 'over-tls', reconnectMsMin: 20 }))
  })
  try {
    await Promise.all(replicators.map((replicator) => once(replicator, 'ready', 10_000)))
    await dbs[1]!.put('over-tls', { ok: true })
    for (const db of dbs) assert.deepEqual(await db.get('over-tls'), { ok: true })
  } finally {
    for (const replicator of replicators) await replicator.close()
    for (const db of dbs) await db.close()
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => { resolve() }))
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})
