/**
 * Goal: `quorum-level members add|remove|min-consensus` change the cluster's membership as
 * README says, and `serve` shows catch-up progress as a line that fills up. Method: real
 * `quorum-level` processes on 127.0.0.1; the progress renderer on made-up statuses.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplicatorStatus } from '../../src/index.js'
import { ProgressLine } from '../../src/cli/progress.js'
import { ok, run, scratch, writeCluster } from './cli.js'

test('members add, remove and min-consensus change the cluster, and refusals say why', { timeout: 120_000 }, async (t) => {
  const pad = await scratch(t)
  const { configs, ports } = await writeCluster(pad, 3, () => ({ minConsensus: 1 }))
  const address = (i: number): string => `127.0.0.1:${ports[i] as number}`
  // Hosts 1 and 2 form the cluster; host 3 is started with the list it will be part of.
  for (const i of [0, 1]) {
    await pad.write(`host${i + 1}.json`, { location: `./data${i + 1}`, host: '127.0.0.1', port: ports[i], peers: [address(0), address(1)], minConsensus: 1, reconnectMsMin: 20, reconnectMsMax: 200 })
  }
  const servers = configs.map((config) => pad.serve(['--config', config]))
  await Promise.all(servers.slice(0, 2).map(async (server) => { await server.waitForLine(/ready: writes can start/) }))
  const [one, two, three] = configs as [string, string, string]
  ok(await run(['put', 'before', 'the change', '--config', one], pad.dir))

  const added = JSON.parse(ok(await run(['members', 'add', address(2), '--json', '--config', one], pad.dir))) as unknown
  assert.deepEqual(added, { epoch: 1, members: [address(0), address(1), address(2)].sort(), minConsensus: 1 })
  await (servers[2] as (typeof servers)[number]).waitForLine(/membership epoch 1/)
  assert.equal(ok(await run(['get', 'before', '--config', three, '--consistency', 'strong'], pad.dir)), 'the change\n')

  const refused = await run(['members', 'min-consensus', '0', '--config', two], pad.dir)
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^quorum-level: Membership change refused: minConsensus 0 of 3 members lets two quorums miss each other: at least 1 \(LEVEL_INVALID_OPTION\)\n$/)
  const self = await run(['members', 'remove', address(1), '--config', two], pad.dir)
  assert.match(self.stderr, /cannot remove itself: ask another member \(LEVEL_INVALID_OPTION\)/)
  const usage = await run(['members', 'min-consensus', 'two', '--config', two], pad.dir)
  assert.equal(usage.code, 2)

  const raised = ok(await run(['members', 'min-consensus', '2', '--config', two], pad.dir))
  assert.match(raised, /^epoch: +2$/m)
  assert.match(raised, /^minConsensus: +2$/m)
  const removed = JSON.parse(ok(await run(['members', 'remove', address(1), '--min-consensus', '1', '--json', '--config', three], pad.dir))) as unknown
  assert.deepEqual(removed, { epoch: 3, members: [address(0), address(2)].sort(), minConsensus: 1 })
  // Host 2 is out: the others no longer list it, and write without it.
  await (servers[0] as (typeof servers)[number]).waitForLine(/membership epoch 3/)
  const status = JSON.parse(ok(await run(['status', '--json', '--config', one], pad.dir))) as ReplicatorStatus
  assert.deepEqual(status.membership, removed)
  assert.deepEqual(status.peers.map((peer) => peer.port), [ports[2]])
  assert.match(ok(await run(['status', '--config', one], pad.dir)), /^membership: +epoch 3, 2 members$/m)
  ok(await run(['put', 'after', 'the removal', '--config', three], pad.dir))
  assert.equal(ok(await run(['get', 'after', '--config', one, '--consistency', 'strong'], pad.dir)), 'the removal\n')
  for (const server of servers) assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
})

test('serve\'s progress line: catch-up fills a bar from where it began; a full copy counts what came', () => {
  const status = (behind: number, receiving: ReplicatorStatus['fullCopy']['receiving'] = null): ReplicatorStatus => ({
    catchUp: { behind, origins: {} }, fullCopy: { receiving, sending: 0 }
  }) as unknown as ReplicatorStatus
  const line = new ProgressLine()
  assert.equal(line.render(status(0)), null)
  assert.equal(line.render(status(4_000)), 'catching up [------------------------] 0%, 4,000 of 4,000 decisions to go')
  assert.equal(line.render(status(1_000)), 'catching up [##################------] 75%, 1,000 of 4,000 decisions to go')
  // Further behind than at the start: the bar starts from there.
  assert.equal(line.render(status(5_000)), 'catching up [------------------------] 0%, 5,000 of 5,000 decisions to go')
  assert.equal(line.render(status(12, { from: 'h1', parts: 3, records: 12_345, applying: false })), 'full copy from h1: 12,345 records in 3 chunks so far')
  assert.equal(line.render(status(12, { from: 'h1', parts: 3, records: 12_345, applying: true })), 'full copy from h1: applying its 3 chunks, local reads wait')
  assert.equal(line.render(status(0)), null)
  // A new stretch of catching up counts from its own start.
  assert.equal(line.render(status(10)), 'catching up [------------------------] 0%, 10 of 10 decisions to go')
})
