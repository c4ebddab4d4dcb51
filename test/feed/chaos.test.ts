/**
 * Goal: under kill -9 and partitions, a consumer of the change feed in every process of every
 * host sees every acknowledged write exactly once, and a key's changes in the order they were
 * made; a consumer killed and resumed from the last position it reported misses nothing and
 * repeats nothing (README, Change feed). Method: 3 hosts x 2 QuorumLevel processes on
 * 127.0.0.1 (minConsensus 1, a majority), each host reaching each other through a proxy that
 * can be cut. Every process follows the feed and writes; meanwhile a leader is killed with
 * SIGKILL (its host fails over, a new process joins and resumes the dead one's feed), a host
 * is cut off and brought back, and a guest is killed and resumed the same way.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePorts } from '../../src/cli/free-ports.js'
import { ProxyMesh } from '../helpers/cut-proxy.js'
import { eventually, tempDir } from '../helpers/hosts.js'
import { Member } from '../local/member.js'
import type { MemberReply } from '../local/fixtures/member.js'

type ChangeReply = Extract<MemberReply, { type: 'change' }>

/** One consumer's history: the processes that followed the feed one after the other, on one host. */
interface Lineage {
  readonly host: number
  readonly members: Member[]
}

/** Writes each live process starts at once, before and during every fault. */
const WAVE = 15
const HOT_WRITES = 12
/** Failures that say the write changed nothing anywhere. */
const CHANGED_NOTHING = new Set(['LEVEL_IO_ERROR', 'LEVEL_NOT_READY', 'LEVEL_QUORUM_FAILED', 'LEVEL_WRITE_CONFLICT', 'LEVEL_TIMEOUT', 'LEVEL_DATABASE_NOT_OPEN'])

function changesOf (lineage: Lineage): ChangeReply[] {
  return lineage.members.flatMap((member) => member.replies.filter((reply): reply is ChangeReply => reply.type === 'change'))
}

function lastPosition (member: Member): string {
  const changes = member.replies.filter((reply): reply is ChangeReply => reply.type === 'change')
  const last = changes.at(-1)
  if (last !== undefined) return last.position
  const following = member.replies.find((reply) => reply.type === 'following')
  if (following?.type !== 'following') throw new Error('the member never followed')
  return following.since
}

test('every process sees every acknowledged write once, in order per key, across kill -9, partitions and resumption', { timeout: 120_000 }, async () => {
  const root = await tempDir()
  const ports = await freePorts(3)
  const mesh = await ProxyMesh.start(ports)
  const options = (host: number): Record<string, unknown> => ({
    host: '127.0.0.1',
    port: ports[host],
    peers: mesh.peersOf(host),
    minConsensus: 1,
    writeTimeout: 3_000,
    reconnectMsMin: 20,
    reconnectMsMax: 200
  })
  const location = (host: number): string => join(root, `host${host}`)
  const everyone: Member[] = []
  const lineages: Lineage[] = []
  const startMember = async (host: number, since: string): Promise<Member> => {
    const member = new Member()
    everyone.push(member)
    await member.open(location(host), options(host))
    await member.request({ type: 'follow', since }, 'following')
    return member
  }
  try {
    for (let host = 0; host < 3; host++) {
      for (let p = 0; p < 2; p++) lineages.push({ host, members: [await startMember(host, 'now')] })
    }
    await Promise.all(everyone.map(async (member) => await member.waitFor('cluster', 20_000, (reply) => reply.event === 'ready')))
    // Every live process writes a wave of new keys at each step, without waiting for the last.
    const sent = new Map<Member, number>()
    const dead = new Set<Member>()
    let waves = 0
    const wave = (): void => {
      waves++
      for (const member of everyone) {
        if (dead.has(member)) continue
        member.send({ type: 'put-many', prefix: `u${everyone.indexOf(member)}-w${waves}-`, count: WAVE })
        sent.set(member, (sent.get(member) ?? 0) + WAVE)
      }
    }
    const kill = async (member: Member): Promise<void> => {
      dead.add(member)
      member.kill()
      await member.exited()
    }
    wave()

    // A leader killed with SIGKILL: its host's guest takes over; a new process resumes its feed.
    const killedLeader = lineages[2] as Lineage
    const leaderProcess = killedLeader.members[0] as Member
    await new Promise((resolve) => setTimeout(resolve, 50))
    await kill(leaderProcess)
    wave()
    killedLeader.members.push(await startMember(1, lastPosition(leaderProcess)))
    wave()

    // Host 2 cut off from both others, then brought back.
    mesh.isolate(2, true)
    wave()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    wave()
    mesh.isolate(2, false)

    // A guest killed with SIGKILL, and resumed from the last position it reported.
    const killedGuest = lineages[1] as Lineage
    const guestProcess = killedGuest.members[0] as Member
    wave()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await kill(guestProcess)
    killedGuest.members.push(await startMember(0, lastPosition(guestProcess)))
    wave()

    // One key rewritten in sequence: every process must see its values in that order.
    const hotWriter = lineages[0]?.members[0] as Member
    for (let n = 1; n <= HOT_WRITES; n++) await hotWriter.request({ type: 'put', key: 'hot', value: n }, 'acked', (reply) => reply.key === 'hot', 20_000)
    sent.set(hotWriter, (sent.get(hotWriter) ?? 0) + HOT_WRITES)

    // Every live writer has its answers.
    await Promise.all([...sent].filter(([member]) => !dead.has(member)).map(async ([member, count]) => {
      await eventually(() => member.count('acked') + member.count('write-failed') >= count, 60_000, 'every write answered')
    }))
    const acked = new Set<string>()
    const failed = new Set<string>()
    for (const member of everyone) {
      for (const reply of member.replies) {
        if (reply.type === 'acked' && reply.key !== 'hot') acked.add(reply.key)
        if (reply.type === 'write-failed' && CHANGED_NOTHING.has(reply.code ?? '')) failed.add(reply.key)
      }
    }
    assert.ok(acked.size > WAVE * 6 * 3, `most writes were acknowledged (${acked.size} of ${[...sent.values()].reduce((a, b) => a + b, 0)})`)

    const seenCounts: number[] = []
    for (const lineage of lineages) {
      await eventually(() => {
        const seen = new Set(changesOf(lineage).map((change) => change.key))
        return [...acked].every((key) => seen.has(key)) && seen.has('hot') && changesOf(lineage).some((change) => change.key === 'hot' && change.value === HOT_WRITES)
      }, 30_000, `host ${lineage.host}'s consumer saw every acknowledged write`)
      const changes = changesOf(lineage)
      const counts = new Map<string, number>()
      for (const change of changes) if (change.key !== 'hot') counts.set(change.key, (counts.get(change.key) ?? 0) + 1)
      const repeated = [...counts].filter(([, count]) => count > 1)
      assert.deepEqual(repeated, [], 'no change is seen twice, across the resumption too')
      assert.deepEqual([...counts.keys()].filter((key) => failed.has(key)), [], 'a write that failed having changed nothing is never seen')
      const hot = changes.filter((change) => change.key === 'hot').map((change) => change.value as number)
      assert.deepEqual(hot, [...hot].sort((a, b) => a - b), 'a key\'s changes come in the order they were made')
      assert.equal(new Set(hot).size, hot.length)
      const numbers = changes.map((change) => Number(change.position.split('@')[0]))
      assert.ok(numbers.every((number, i) => i === 0 || number > (numbers[i - 1] as number)), 'positions only grow')
      seenCounts.push(changes.length)
    }
    assert.equal(seenCounts.length, 6)
  } finally {
    for (const member of everyone) member.kill()
    await Promise.all(everyone.map(async (member) => { await member.exited() }))
    await mesh.close()
    await rm(root, { recursive: true, force: true })
  }
})
