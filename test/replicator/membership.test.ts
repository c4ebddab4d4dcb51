/**
 * Goal: a cluster changes its membership as README says: a host started for it is added and
 * catches up, a member is removed and the others stop counting it, a change refused says
 * why, and a restarted host runs under the stored membership, not its options. Method: real
 * Replicators over classic-level on 127.0.0.1, each listening on its own port.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import type { ReplicatorOptions } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { eventually, once, tempDir } from '../helpers/hosts.js'

interface Host {
  readonly name: string
  readonly port: number
  readonly location: string
  db: ClassicLevel<string, string>
  replicator: Replicator
}

async function open (host: Host, options: ReplicatorOptions): Promise<void> {
  host.db = new ClassicLevel<string, string>(host.location)
  host.replicator = Replicator(host.db, { host: '127.0.0.1', port: host.port, reconnectMsMin: 20, reconnectMsMax: 200, writeTimeout: 3_000, ...options })
  await host.replicator.listen()
}

async function close (host: Host): Promise<void> {
  await host.replicator.close()
  await host.db.close()
}

test('members are added and removed, cluster-wide and durably; a restart runs under the stored membership', { timeout: 60_000 }, async () => {
  const ports = await freePorts(4)
  const address = (i: number): { host: string, port: number } => ({ host: '127.0.0.1', port: ports[i] as number })
  const name = (i: number): string => `127.0.0.1:${ports[i] as number}`
  const hosts: Host[] = await Promise.all(ports.map(async (port, i) => ({ name: `h${i}`, port, location: await tempDir(), db: null as never, replicator: null as never })))
  const [a, b, c, d] = hosts as [Host, Host, Host, Host]
  const started: Host[] = []
  try {
    // Three hosts from one list, a majority; the fourth started for the change that adds it.
    const founders = [0, 1, 2].map(address)
    for (const host of [a, b, c]) {
      await open(host, { peers: founders, minConsensus: 1 })
      started.push(host)
    }
    await Promise.all([a, b, c].map(async (host) => await once(host.replicator, 'ready', 10_000)))
    await a.db.put('before', 'the change')
    await open(d, { peers: [0, 1, 2, 3].map(address), minConsensus: 2 })
    started.push(d)
    assert.deepEqual(a.replicator.members(), { epoch: 0, members: [name(0), name(1), name(2)].sort(), minConsensus: 1 })

    const added = await a.replicator.changeMembers({ add: address(3) })
    const four = { epoch: 1, members: [name(0), name(1), name(2), name(3)].sort(), minConsensus: 2 }
    assert.deepEqual(added, four, 'a majority of four: two peers')
    await eventually(() => hosts.every((host) => host.replicator.members().epoch === 1), 10_000, 'every host runs under epoch 1')
    assert.deepEqual(d.replicator.members(), four)
    assert.deepEqual(d.replicator.status().membership, four)
    assert.equal(d.replicator.status().minConsensus, 2)
    assert.equal(await d.db.get('before'), 'the change', 'the added host holds what was written before')
    await d.db.put('from', 'the new member')
    assert.equal(await b.db.get('from'), 'the new member')

    // Refused changes say why, and change nothing.
    await assert.rejects(b.replicator.changeMembers({ remove: address(1) }), { code: 'LEVEL_INVALID_OPTION', message: /cannot remove itself/ })
    await assert.rejects(b.replicator.changeMembers({ minConsensus: 1 }), { code: 'LEVEL_INVALID_OPTION', message: /two quorums miss each other/ })
    await assert.rejects(b.replicator.changeMembers({ add: 'no port' }), { code: 'LEVEL_INVALID_OPTION', message: /host:port/ })
    assert.equal(b.replicator.members().epoch, 1)

    // c leaves: once the others run under epoch 2 they no longer count it, nor connect to it.
    const removed = await b.replicator.changeMembers({ remove: `127.0.0.1:${c.port}` })
    assert.deepEqual(removed, { epoch: 2, members: [name(0), name(1), name(3)].sort(), minConsensus: 2 })
    await eventually(() => [a, b, d].every((host) => host.replicator.members().epoch === 2), 10_000, 'the members run under epoch 2')
    await eventually(() => [a, b, d].every((host) => !host.replicator.status().peers.some((peer) => peer.port === c.port)), 10_000, 'nobody lists c')
    await close(c)
    started.splice(started.indexOf(c), 1)
    await a.db.put('without', 'c')
    assert.equal(await d.db.get('without'), 'c')

    // a restarts with its old options: the stored membership is the one in force.
    await close(a)
    started.splice(started.indexOf(a), 1)
    await open(a, { peers: founders, minConsensus: 1 })
    started.push(a)
    await once(a.replicator, 'ready', 10_000)
    assert.deepEqual(a.replicator.members(), removed)
    assert.deepEqual(a.replicator.status().peers.map((peer) => peer.port).sort(), [b.port, d.port].sort())
    await a.db.put('after', 'restart')
    assert.equal(await d.db.get('after'), 'restart')
  } finally {
    for (const host of started) await close(host)
    for (const host of hosts) await rm(host.location, { recursive: true, force: true })
  }
})
