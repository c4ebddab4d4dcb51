/**
 * Goal: every process of every host hears of the writes other hosts made, as abstract-level
 * events in its own encodings, once they are durable on its host; a process's own writes emit
 * as any abstract-level database's do. Method: 2 hosts x 2 QuorumLevel instances (a leader
 * and a guest over the unix socket) in temporary directories on 127.0.0.1; writes from the
 * leader and the guest of one host; every instance's put, del and batch events recorded.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { QuorumLevel } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { eventually, memberOptions, once, tempDir } from '../helpers/hosts.js'

test('a write made on one host emits put, del or batch in every process of the other', { timeout: 60_000 }, async () => {
  const ports = await freePorts(2)
  const dirs = await Promise.all(ports.map(tempDir))
  const make = (h: number): QuorumLevel<string, unknown> => new QuorumLevel<string, unknown>(dirs[h] as string, { valueEncoding: 'json', ...memberOptions(ports, h) })
  // abstract-level opens a database as it is made: each host's leader first, then its guest.
  const leaderA = make(0)
  const leaderB = make(1)
  const leadersReady = [leaderA, leaderB].map((db) => once(db.cluster, 'ready', 15_000))
  await Promise.all([leaderA.open(), leaderB.open()])
  const guestA = make(0)
  const guestB = make(1)
  const instances = [leaderA, guestA, leaderB, guestB]
  try {
    const ready = [...leadersReady, ...[guestA, guestB].map((db) => once(db.cluster, 'ready', 15_000))]
    await Promise.all([guestA.open(), guestB.open()])
    assert.deepEqual(instances.map((db) => db.isLeader), [true, false, true, false])
    await Promise.all(ready)
    const seen = instances.map((db) => {
      const events: string[] = []
      db.on('put', (key: string, value: unknown) => { events.push(JSON.stringify(['put', key, value])) })
      db.on('del', (key: string) => { events.push(JSON.stringify(['del', key])) })
      db.on('batch', (ops: unknown[]) => { events.push(JSON.stringify(['batch', ops])) })
      return events
    })
    await leaderA.put('from-a-leader', { n: 1 })
    await guestA.batch([{ type: 'put', key: 'from-a-guest', value: [1, 'ü'] }, { type: 'del', key: 'nothing' }])
    await leaderA.del('from-a-leader')
    const put = JSON.stringify(['put', 'from-a-leader', { n: 1 }])
    const batch = JSON.stringify(['batch', [{ type: 'put', key: 'from-a-guest', value: [1, 'ü'] }, { type: 'del', key: 'nothing' }]])
    const del = JSON.stringify(['del', 'from-a-leader'])
    // Host B: each of its processes hears all three, in order, once each.
    for (const events of [seen[2], seen[3]]) await eventually(() => events?.length === 3, 10_000, 'host B heard every write')
    assert.deepEqual(seen[2], [put, batch, del], 'host B\'s leader')
    assert.deepEqual(seen[3], [put, batch, del], 'host B\'s guest')
    // Host A: a process emits its own writes, as abstract-level does.
    assert.deepEqual(seen[0], [put, del])
    assert.deepEqual(seen[1], [batch])
  } finally {
    for (const db of [guestA, guestB, leaderA, leaderB]) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})
