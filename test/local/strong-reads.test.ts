/**
 * Goal: every process of a host, guests included, can read with `consistency: 'strong'` and
 * see the latest acknowledged write of any host, even when its host has not applied it yet.
 * Method: 3 hosts x 2 QuorumLevel instances (a leader and a guest over the unix socket) on
 * 127.0.0.1, minConsensus 1, each host reaching the others through a proxy that can be cut.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { QuorumLevel } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { ProxyMesh } from '../helpers/cut-proxy.js'
import { eventually, once, tempDir } from '../helpers/hosts.js'

/** Read options with a field abstract-level's types do not know: passed through to the database. */
const STRONG = { consistency: 'strong' } as { keyEncoding?: string }

test('a guest\'s strong read sees a write acknowledged on another host that its own host has not applied', { timeout: 60_000 }, async () => {
  const ports = await freePorts(3)
  const mesh = await ProxyMesh.start(ports)
  const dirs = await Promise.all(ports.map(tempDir))
  const make = (h: number): QuorumLevel<string, unknown> => new QuorumLevel<string, unknown>(dirs[h] as string, {
    valueEncoding: 'json',
    host: '127.0.0.1',
    port: ports[h],
    peers: mesh.peersOf(h),
    minConsensus: 1,
    writeTimeout: 2_000,
    reconnectMsMin: 20,
    reconnectMsMax: 100
  })
  const leaders = [0, 1, 2].map(make)
  const instances = [...leaders]
  try {
    const ready = leaders.map(async (db) => await once(db.cluster, 'ready', 15_000))
    await Promise.all(leaders.map(async (db) => { await db.open() }))
    await Promise.all(ready)
    const guests = [0, 1, 2].map(make)
    instances.push(...guests)
    await Promise.all(guests.map(async (db) => { await db.open() }))
    const [guestA, , guestC] = guests as [QuorumLevel<string, unknown>, QuorumLevel<string, unknown>, QuorumLevel<string, unknown>]
    await guestA.put('x', 'old')
    await eventually(async () => await guestC.get('x').catch(() => undefined) === 'old', 10_000, 'host C holds the old value')
    mesh.cut(0, 2, true)
    await guestA.put('x', { now: 'new' })
    await guestA.put('y', 2)
    assert.equal(await guestC.get('x'), 'old', 'a local read is local')
    assert.deepEqual(await guestC.get('x', STRONG), { now: 'new' })
    assert.deepEqual(await (leaders[2] as QuorumLevel<string, unknown>).getMany(['x', 'y', 'none'], STRONG), [{ now: 'new' }, 2, undefined])
    const users = guestA.sublevel<string, string>('users', { valueEncoding: 'utf8' })
    await users.put('ann', 'hi')
    assert.equal(await guestC.sublevel<string, string>('users', { valueEncoding: 'utf8' }).get('ann', STRONG), 'hi')
    await assert.rejects(guestC.get('none', STRONG), { code: 'LEVEL_NOT_FOUND' })
    // A strong iterator of a guest: the fence through its leader, then its own reads.
    await guestA.batch([{ type: 'put', key: 'z1', value: 1 }, { type: 'put', key: 'z2', value: 2 }])
    assert.deepEqual(await guestC.iterator({ gte: 'z', ...STRONG }).all(), [['z1', 1], ['z2', 2]])
    assert.deepEqual(await guestC.keys({ gte: 'x', lt: 'z', reverse: true, ...STRONG }).all(), ['y', 'x'])
    assert.deepEqual(await guestC.sublevel<string, string>('users', { valueEncoding: 'utf8' }).iterator(STRONG).all(), [['ann', 'hi']])
    await assert.rejects(guestC.get('x', { consistency: 'eventual' } as typeof STRONG), { code: 'LEVEL_INVALID_OPTION' })
  } finally {
    for (const db of [...instances].reverse()) await db.close()
    await mesh.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})
