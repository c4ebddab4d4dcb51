/**
 * Goal: what goes wrong in a cluster shows through the command: a peer nobody serves is shown
 * disconnected and a write that needs it fails in one clear line; hosts with different
 * secrets never connect, and the log says why. Method: real `quorum-level serve` processes on
 * 127.0.0.1 (a peer's port taken from the free ones and left unserved), then client commands.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplicatorStatus } from '../../src/index.js'
import { run, scratch, writeCluster } from './cli.js'

test('a peer nobody serves: status shows it disconnected, and a put that needs it fails with exit 1', { timeout: 60_000 }, async (t) => {
  const pad = await scratch(t)
  // Two members, only the first served: minConsensus 1 needs the other for every write.
  const { configs, ports } = await writeCluster(pad, 2, () => ({ minConsensus: 1, writeTimeout: 1_000 }))
  const server = pad.serve(['--config', configs[0] as string])
  await server.waitForLine(/serving /)
  const status = await run(['status', '--json', '--config', configs[0] as string], pad.dir)
  assert.equal(status.code, 0, status.stderr)
  const parsed = JSON.parse(status.stdout) as ReplicatorStatus
  assert.equal(parsed.ready, false)
  assert.deepEqual(parsed.peers.map((peer) => [peer.port, peer.connected, peer.id]), [[ports[1], false, null]])
  const text = await run(['status', '--config', configs[0] as string], pad.dir)
  assert.match(text.stdout, /^ready: +no$/m)
  assert.match(text.stdout, new RegExp(`^  127\\.0\\.0\\.1:${ports[1]} +id - +disconnected `, 'm'))

  const started = performance.now()
  const put = await run(['put', 'k', 'v', '--config', configs[0] as string], pad.dir)
  assert.equal(put.code, 1)
  assert.equal(put.stdout, '')
  // One line: what failed and why, as the leader's Replicator said it, and its code.
  assert.match(put.stderr, /^quorum-level: Write failed: fewer than minConsensus peers were connected[^\n]*; nothing was written \(LEVEL_NOT_READY\)\n$/)
  assert.ok(performance.now() - started >= 1_000, 'it waited writeTimeout for the peer')
  // Nothing was written.
  const get = await run(['get', 'k', '--config', configs[0] as string], pad.dir)
  assert.equal(get.code, 1)
  assert.match(get.stderr, /\(LEVEL_NOT_FOUND\)\n$/)
})

test('a wrong secret: the hosts never connect, and the log names the authentication failure', { timeout: 60_000 }, async (t) => {
  const pad = await scratch(t)
  const { configs, ports } = await writeCluster(pad, 2, (i) => ({ minConsensus: 1, secret: i === 0 ? 'the secret' : 'another secret' }))
  const servers = configs.map((config) => pad.serve(['--config', config]))
  // Both have tried: each logged the other's failed proof.
  await Promise.all(servers.map(async (server) => await server.waitForLine(/ error +.*secret.* \(LEVEL_AUTH_FAILED\)$/)))
  for (const [i, config] of configs.entries()) {
    const status = await run(['status', '--json', '--config', config], pad.dir)
    assert.equal(status.code, 0, status.stderr)
    const parsed = JSON.parse(status.stdout) as ReplicatorStatus
    assert.equal(parsed.ready, false)
    assert.deepEqual(parsed.peers.map((peer) => [peer.port, peer.connected]), [[ports[1 - i], false]])
  }
  for (const server of servers) assert.equal(server.lines.some((line) => / connect$/.test(line)), false, 'no connect was logged')
})
