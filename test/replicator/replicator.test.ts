/**
 * Goal: the Replicator's public face keeps level-2pc's promises on real parts: a write
 * resolves once every host has it, events say who is connected and whether writes can
 * commit, a write is refused when too large, when no quorum is reachable or when the
 * Replicator could not start, and close() leaves the database open. Method: up
 * to 3 hosts on 127.0.0.1, each a classic-level database in a temporary directory with a TCP
 * server piping connections through createServer(), as level-2pc's README runs it;
 * assertions are on what users read.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { LevelStore } from '../../src/storage/store.js'
import { type HostSet, type TestHost, allReady, contents, eventually, once, openHost, optionsOf, tempDir, withHosts } from '../helpers/hosts.js'
import { freePorts } from '../../src/cli/free-ports.js'

test('a put resolves once every host has it, and every host reads it (level-2pc README)', { timeout: 30_000 }, async () => {
  await withHosts(3, undefined, async ({ hosts: [a, b, c] }) => {
    await allReady({ hosts: [a!, b!, c!], dirs: [] })
    await a!.db.put('x', 100)
    assert.equal(await b!.db.get('x'), 100)
    assert.equal(await c!.db.get('x'), 100)
  })
})

test('random records put to one host appear on all, in json', { timeout: 30_000 }, async () => {
  await withHosts(3, undefined, async (set) => {
    await allReady(set)
    const records = Array.from({ length: 50 }, (_, i) => [`key-${i}-${randomBytes(4).toString('hex')}`, { n: i, s: randomBytes(8).toString('base64') }] as const)
    await Promise.all(records.map(([key, value]) => set.hosts[0]!.db.put(key, value)))
    for (const host of set.hosts) {
      for (const [key, value] of records) assert.deepEqual(await host.db.get(key), value)
    }
  })
})

test('puts made in one turn reach the core together and commit as one transaction', { timeout: 30_000 }, async () => {
  await withHosts(3, undefined, async (set) => {
    await allReady(set)
    const a = set.hosts[0] as TestHost
    // The first write also loads the writer's records (SPEC §4.7), which holds the others back.
    await a.db.put('first', 0)
    await Promise.all(Array.from({ length: 50 }, (_, i) => a.db.put(`k${i}`, i)))
    const store = new LevelStore(a.db, { batch: async () => {}, sync: false })
    const origin = await store.hostId()
    const log = await store.read({ type: 'log', ranges: [{ origin, from: 1, to: 1_000 }], limit: 1_000, bytesMax: Number.MAX_SAFE_INTEGER })
    assert.ok(log.type === 'log')
    assert.deepEqual(log.entries.map((entry) => entry.kind === 'commit' ? entry.ops.length : 0), [1, 50])
    await store.close()
    for (const host of set.hosts) assert.equal(await host.db.get('k49'), 49)
  })
})

test('events: connect names each peer, notready when too few stay, ready when they return', { timeout: 30_000 }, async () => {
  await withHosts(3, () => ({ minConsensus: 2, writeTimeout: 500 }), async (set) => {
    const [a, b] = set.hosts as [HostSet['hosts'][0], HostSet['hosts'][0]]
    const connected: Array<[string, number]> = []
    a.replicator.on('connect', (host, port) => connected.push([host, port]))
    await allReady(set)
    await eventually(() => connected.length === 2, 5_000, 'two connect events')
    assert.deepEqual(connected.map(([, port]) => port).sort(), set.hosts.slice(1).map((host) => host.port).sort())
    const notready = once(a.replicator, 'notready')
    const disconnect = once(a.replicator, 'disconnect')
    await b.replicator.close()
    assert.deepEqual(await disconnect, ['127.0.0.1', b.port])
    await notready
    await assert.rejects(a.db.put('k', 1), { code: 'LEVEL_NOT_READY' })
    assert.deepEqual(await contents(a.db), [], 'the failed write left nothing')
    const ready = once(a.replicator, 'ready')
    await b.db.close()
    openHost(b, optionsOf(b))
    await ready
    await a.db.put('k', 2)
    assert.equal(await b.db.get('k'), 2)
  })
})

test('with no quorum reachable a write fails with LEVEL_NOT_READY and nothing is written', { timeout: 30_000 }, async () => {
  const location = await tempDir()
  const db = new ClassicLevel<string, unknown>(location, { valueEncoding: 'json' })
  const replicator = Replicator(db, { peers: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }], writeTimeout: 300, reconnectMsMin: 50 })
  try {
    await assert.rejects(db.put('x', 1), { code: 'LEVEL_NOT_READY' })
    await assert.rejects(db.get('x'), { code: 'LEVEL_NOT_FOUND' })
    assert.deepEqual(await contents(db), [])
  } finally {
    await replicator.close()
    await db.close()
  }
})

test('Replicator works with and without new; close() leaves the database open and stops replicating', { timeout: 30_000 }, async () => {
  const location = await tempDir()
  const db = new ClassicLevel<string, unknown>(location, { valueEncoding: 'json' })
  const called = Replicator(db, { minConsensus: 0 })
  await once(called, 'ready')
  await db.put('a', 1)
  await called.close()
  await called.close()
  assert.equal(db.status, 'open')
  const constructed = new Replicator(db)
  await once(constructed, 'ready')
  await db.put('b', 2)
  assert.deepEqual(await contents(db), [['a', 1], ['b', 2]])
  await constructed.close()
  await db.close()
})

test('a write too large for one peer message is refused and nothing is written', { timeout: 30_000 }, async () => {
  await withHosts(2, () => ({ frameBytesMax: 64 * 1024 }), async (set) => {
    await allReady(set)
    const big = 'x'.repeat(40 * 1024)
    await assert.rejects(set.hosts[0]!.db.put('big', big), { code: 'LEVEL_NOT_SUPPORTED' })
    await set.hosts[0]!.db.put('small', 'fits')
    for (const host of set.hosts) assert.deepEqual(await contents(host.db), [['small', 'fits']])
  })
})

test('a Replicator that cannot start refuses writes, says why, and applies nothing locally', { timeout: 30_000 }, async () => {
  const location = await tempDir()
  const db = new ClassicLevel<string, unknown>(location, { valueEncoding: 'json' })
  const broken = { check: async (): Promise<boolean> => { throw new Error('the witness cannot be read') }, note: () => {}, flush: async () => {} }
  const replicator = Replicator(db, { minConsensus: 0, witness: broken })
  const errors: Error[] = []
  replicator.on('error', (error) => { errors.push(error) })
  try {
    await assert.rejects(db.put('k', 1), (error: Error & { code?: string }) => error.code === 'LEVEL_DATABASE_NOT_OPEN' && /failed to start/.test(error.message))
    await assert.rejects(db.get('k'), { code: 'LEVEL_NOT_FOUND' }, 'nothing was written locally')
    assert.ok(errors.some((error) => error.message === 'the witness cannot be read'))
  } finally {
    await replicator.close()
    await db.close()
    await rm(location, { recursive: true, force: true })
  }
})

test('three hosts given one member list, each listening on every interface and announcing 127.0.0.1, become ready with the default minConsensus', { timeout: 30_000 }, async () => {
  const ports = await freePorts(3)
  const members = ports.map((port) => ({ host: '127.0.0.1', port }))
  const dirs = await Promise.all(ports.map(tempDir))
  const hosts = ports.map((port, i) => {
    const db = new ClassicLevel<string, string>(dirs[i] as string)
    return { db, replicator: Replicator(db, { host: '127.0.0.1', port, listenHost: '0.0.0.0', peers: members, reconnectMsMin: 20, reconnectMsMax: 100 }) }
  })
  try {
    const ready = hosts.map(async ({ replicator }) => await once(replicator, 'ready', 10_000))
    const failures: Error[] = []
    for (const { replicator } of hosts) replicator.on('error', (error) => { failures.push(error) })
    await Promise.all(hosts.map(async ({ replicator }) => { await replicator.listen() }))
    await Promise.all(ready)
    await hosts[0]?.db.put('k', 'v')
    // minConsensus is both other hosts: the write is on every host when it resolves.
    for (const { db } of hosts) assert.equal(await db.get('k'), 'v')
    assert.deepEqual(failures.map((error) => (error as { code?: string }).code), [], 'no host dialed itself')
  } finally {
    for (const { db, replicator } of hosts) {
      await replicator.close()
      await db.close()
    }
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})
