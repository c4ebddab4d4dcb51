/**
 * Goal: the `quorum-level` command runs a cluster and reaches it: three hosts served from
 * three configuration files (one shared member list), a write through one host read on the
 * others, status, members and metrics as documented. Method: real `quorum-level` processes
 * on 127.0.0.1 with free ports, in a temporary directory; each client command is a process
 * of its own, and reads on other hosts are strong, so no test waits on replication by time.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplicatorStatus } from '../../src/index.js'
import { ok, run, scratch, writeCluster } from './cli.js'

test('three hosts from three configuration files: put, get, ls, del, status, members, metrics', { timeout: 120_000 }, async (t) => {
  const pad = await scratch(t)
  // A majority quorum: writes go on with one host down, and strong reads are possible.
  const { configs, ports } = await writeCluster(pad, 3, () => ({ minConsensus: 1, secretFile: 'secret.txt' }))
  await pad.write('secret.txt', 'cluster secret\n')
  const servers = configs.map((config) => pad.serve(['--config', config]))
  // Every host is up and connected to both others (each `connect` is logged as it happens).
  await Promise.all(servers.map(async (server, i) => {
    await server.waitForLine(/serving .*data\d$/)
    await server.waitForLine(/ready: writes can start/)
    for (const [j, port] of ports.entries()) if (j !== i) await server.waitForLine(new RegExp(`peer 127\\.0\\.0\\.1:${port}: connect`))
  }))
  const [one, two, three] = configs as [string, string, string]

  // put on host 1; a strong get and ls on the others see it whatever they applied yet.
  ok(await run(['put', 'greeting', 'hello world', '--config', one], pad.dir))
  ok(await run(['put', 'answer', '{"value":42}', '--value-encoding', 'json', '--config', one], pad.dir))
  assert.equal(ok(await run(['get', 'greeting', '--config', two, '--consistency', 'strong'], pad.dir)), 'hello world\n')
  assert.equal(ok(await run(['get', 'answer', '--location', 'data3', '--consistency', 'strong', '--value-encoding', 'json'], pad.dir)), '{"value":42}\n')
  assert.equal(ok(await run(['get', 'greeting', '--config', three, '--consistency', 'strong', '--value-encoding', 'hex'], pad.dir)), `${Buffer.from('hello world').toString('hex')}\n`)
  assert.equal(ok(await run(['ls', '--config', three, '--consistency', 'strong'], pad.dir)), 'answer\t{"value":42}\ngreeting\thello world\n')
  assert.equal(ok(await run(['ls', '--config', two, '--consistency', 'strong', '--keys-only', '--gt', 'answer'], pad.dir)), 'greeting\n')
  assert.equal(ok(await run(['ls', '--config', two, '--consistency', 'strong', '--limit', '1', '--reverse'], pad.dir)), 'greeting\thello world\n')

  // del on host 2; host 1 no longer has it: nothing on stdout, one line on stderr, exit 1.
  ok(await run(['del', 'greeting', '--config', two], pad.dir))
  const missing = await run(['get', 'greeting', '--config', one, '--consistency', 'strong'], pad.dir)
  assert.deepEqual(missing, { code: 1, signal: null, stdout: '', stderr: 'quorum-level: no value at key greeting (LEVEL_NOT_FOUND)\n' })

  // status, as JSON: ready, both peers connected, identities known.
  const statuses = await Promise.all(configs.map(async (config) => JSON.parse(ok(await run(['status', '--json', '--config', config], pad.dir))) as ReplicatorStatus))
  const ids = statuses.map((status) => status.id)
  for (const [i, status] of statuses.entries()) {
    assert.equal(status.ready, true)
    assert.equal(status.state, 'open')
    assert.deepEqual(status.address, { host: '127.0.0.1', port: ports[i] })
    assert.deepEqual(status.peers.map((peer) => [peer.port, peer.connected, peer.id]), ports.flatMap((port, j) => j === i ? [] : [[port, true, ids[j]]]))
  }
  // status, readable: the host and each peer on its own line.
  const text = ok(await run(['status', '--config', one], pad.dir))
  assert.match(text, new RegExp(`^id: +${ids[0] ?? ''}$`, 'm'))
  assert.match(text, /^ready: +yes$/m)
  for (const [j, port] of ports.entries()) {
    if (j > 0) assert.match(text, new RegExp(`^  127\\.0\\.0\\.1:${port} +id ${ids[j] ?? ''} +connected +round trip \\S+( ms)? +lag \\S+$`, 'm'))
  }

  // members list: this host first, then each configured peer.
  const members = JSON.parse(ok(await run(['members', 'list', '--json', '--config', two], pad.dir))) as unknown
  assert.deepEqual(members, [
    { address: `127.0.0.1:${ports[1]}`, id: ids[1], self: true, connected: null },
    { address: `127.0.0.1:${ports[0]}`, id: ids[0], self: false, connected: true },
    { address: `127.0.0.1:${ports[2]}`, id: ids[2], self: false, connected: true }
  ])
  const table = ok(await run(['members', 'list', '--config', two], pad.dir)).split('\n')
  assert.match(table[0] ?? '', /^ADDRESS +ID +STATE$/)
  assert.match(table[1] ?? '', new RegExp(`^127\\.0\\.0\\.1:${ports[1]} +${ids[1] ?? ''} +this host$`))
  assert.match(table[2] ?? '', new RegExp(`^127\\.0\\.0\\.1:${ports[0]} +${ids[0] ?? ''} +connected$`))

  // metrics: Prometheus text, with the host's readiness and its peers' connections.
  const metrics = ok(await run(['metrics', '--config', three], pad.dir))
  assert.match(metrics, /^# TYPE quorum_level_ready gauge$/m)
  assert.match(metrics, /^quorum_level_ready 1$/m)
  assert.match(metrics, new RegExp(`^quorum_level_peer_connected\\{peer="127\\.0\\.0\\.1:${ports[0]}"\\} 1$`, 'm'))
  // Host 3 counted none of its own writes: every write was made on the other two.
  assert.doesNotMatch(metrics, /^quorum_level_writes_total\{outcome="resolved"\} [1-9]/m)
  const writes = ok(await run(['metrics', '--config', one], pad.dir))
  assert.match(writes, /^quorum_level_writes_total\{outcome="resolved"\} 2$/m)

  // Every host stops cleanly.
  for (const server of servers) assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
})
