/**
 * Goal: QuorumLevel's two layers together: processes on each host behind a local leader, and
 * the hosts' leaders replicating every write. Method: 3 hosts on 127.0.0.1 (directories and
 * ports of their own), 2 forked processes each; every process writes, every process reads
 * everything; then a host's leader is killed with SIGKILL and its guest takes over.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { tempDir } from '../helpers/hosts.js'
import { Member } from './member.js'
import { freePorts } from '../../src/cli/free-ports.js'

interface Host { location: string, port: number, members: Member[] }

async function withCluster (run: (hosts: Host[]) => Promise<void>): Promise<void> {
  const root = await tempDir()
  const ports = await freePorts(3)
  const hosts: Host[] = ports.map((port, i) => ({ location: join(root, `host${i}`), port, members: [new Member(), new Member()] }))
  try {
    for (const host of hosts) {
      const peers = hosts.filter((other) => other !== host).map((other) => ({ host: '127.0.0.1', port: other.port }))
      for (const member of host.members) {
        await member.open(host.location, { host: '127.0.0.1', port: host.port, peers, secret: 'test-cluster', reconnectMsMin: 20, reconnectMsMax: 200 })
      }
    }
    await run(hosts)
  } finally {
    const members = hosts.flatMap((host) => host.members)
    for (const member of members) member.kill()
    await Promise.all(members.map((member) => member.exited()))
    await rm(root, { recursive: true, force: true })
  }
}

async function get (member: Member, key: string): Promise<unknown> {
  const before = member.replies.length
  member.send({ type: 'get', key })
  const reply = await member.waitFor('value', 15_000, (value) => value.key === key && member.replies.indexOf(value) >= before)
  return reply.code === undefined ? reply.value : reply.code
}

test('3 hosts x 2 processes: every write is readable from every process on every host', { timeout: 90_000 }, async () => {
  await withCluster(async (hosts) => {
    const members = hosts.flatMap((host) => host.members)
    // Cluster events reach every process of a host, not only its leader.
    for (const member of members) await member.waitFor('cluster', 15_000, (reply) => reply.event === 'ready')
    members.forEach((member, i) => { member.send({ type: 'put', key: `from-${i}`, value: i }) })
    for (const member of members) await member.waitFor('acked', 30_000)
    // minConsensus defaults to all peers: acknowledged means applied on every host.
    for (const member of members) {
      for (let i = 0; i < members.length; i++) assert.equal(await get(member, `from-${i}`), i)
    }
  })
})

test('a host\'s leader killed with SIGKILL: its guest leads, rejoins the cluster, and nothing acknowledged is lost', { timeout: 90_000 }, async () => {
  await withCluster(async (hosts) => {
    const [first, second] = hosts as [Host, Host, Host]
    const [leader, guest] = first.members as [Member, Member]
    assert.equal(leader.count('leader'), 1, 'the first process to open leads')
    guest.send({ type: 'put-many', prefix: 'during-', count: 50 })
    await guest.waitFor('acked')
    leader.kill()
    await guest.waitFor('leader', 30_000)
    await guest.waitFor('acked', 60_000, (reply) => reply.key === 'during-0049')
    assert.equal(guest.count('write-failed'), 0)
    const acked = guest.replies.flatMap((reply) => reply.type === 'acked' ? [reply.key] : [])
    for (const key of acked) assert.notEqual(await get(second.members[1] as Member, key), 'LEVEL_NOT_FOUND', `${key} reached another host`)
    guest.send({ type: 'put', key: 'after-failover', value: true })
    await guest.waitFor('acked', 30_000, (reply) => reply.key === 'after-failover')
    assert.equal(await get(second.members[0] as Member, 'after-failover'), true)
  })
})
