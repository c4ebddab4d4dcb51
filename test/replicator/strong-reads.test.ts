/**
 * Goal: a strong read returns the latest acknowledged write, even on a host that has not
 * applied it; a local read stays local; strong reads need a majority. Method: 3 Replicators
 * over classic-level on 127.0.0.1, each reaching the others through a proxy that can be cut,
 * so that one host misses another's commits while it reads.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { ProxyMesh } from '../helpers/cut-proxy.js'
import { eventually, once, tempDir } from '../helpers/hosts.js'

/** Read options with a field abstract-level's types do not know: passed through to the Replicator. */
const STRONG = { consistency: 'strong' } as { keyEncoding?: string }

interface Host {
  readonly db: ClassicLevel<string, unknown>
  readonly replicator: ReturnType<typeof Replicator>
}

async function withCluster (minConsensus: number, run: (hosts: Host[], cut: (a: number, b: number, cut: boolean) => void) => Promise<void>): Promise<void> {
  const ports = await freePorts(3)
  const mesh = await ProxyMesh.start(ports)
  const dirs = await Promise.all(ports.map(tempDir))
  const hosts = ports.map((port, i): Host => {
    const db = new ClassicLevel<string, unknown>(dirs[i] as string, { valueEncoding: 'json' })
    return { db, replicator: Replicator(db, { host: '127.0.0.1', port, peers: mesh.peersOf(i), minConsensus, writeTimeout: 2_000, reconnectMsMin: 20, reconnectMsMax: 100 }) }
  })
  const cut = (a: number, b: number, value: boolean): void => { mesh.cut(a, b, value) }
  try {
    const ready = hosts.map(async (host) => await once(host.replicator, 'ready', 10_000))
    await Promise.all(hosts.map(async (host) => { await host.replicator.listen() }))
    await Promise.all(ready)
    await run(hosts, cut)
  } finally {
    for (const host of hosts) {
      await host.replicator.close()
      await host.db.close()
    }
    await mesh.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
}

test('a write on one host, then a strong read on another that has not applied it, sees it', { timeout: 30_000 }, async () => {
  await withCluster(1, async (hosts, cut) => {
    const [a, b, c] = hosts as [Host, Host, Host]
    await a.db.put('x', 'old')
    await eventually(async () => await c.db.get('x').catch(() => undefined) === 'old', 5_000, 'c holds the old value')
    // c hears nothing from a: a's quorum is b.
    cut(0, 2, true)
    await eventually(() => true, 100)
    await a.db.put('x', 'new')
    await a.db.put('y', { n: 1 })
    assert.equal(await c.db.get('x'), 'old', 'a local read is local')
    assert.equal(await c.db.get('x', STRONG), 'new')
    assert.deepEqual(await c.db.getMany(['x', 'y', 'nothing'], STRONG), ['new', { n: 1 }, undefined])
    await a.db.del('y')
    await assert.rejects(c.db.get('y', STRONG), { code: 'LEVEL_NOT_FOUND' })
    // Through a sublevel, in its encodings.
    const users = a.db.sublevel<string, string>('users', { valueEncoding: 'utf8' })
    await users.put('ann', 'hello')
    assert.equal(await c.db.sublevel<string, string>('users', { valueEncoding: 'utf8' }).get('ann', STRONG), 'hello')
    assert.equal(await b.db.get('x', { consistency: 'local' } as typeof STRONG), 'new')
  })
})

test('a strong iterator on a host that has not applied a write waits until it has, then sees it', { timeout: 30_000 }, async () => {
  await withCluster(1, async (hosts, cut) => {
    const [a, , c] = hosts as [Host, Host, Host]
    await a.db.batch([{ type: 'put', key: 'a1', value: 1 }, { type: 'put', key: 'a2', value: 2 }, { type: 'put', key: 'b1', value: 3 }])
    // Bounded: the Replicator's own records share the database, above every key here.
    await eventually(async () => (await c.db.keys({ lt: 'c' }).all()).join() === 'a1,a2,b1', 5_000, 'c holds the first batch')
    cut(0, 2, true)
    await a.db.batch([{ type: 'put', key: 'a2', value: 20 }, { type: 'put', key: 'a3', value: 30 }, { type: 'del', key: 'a1' }])
    assert.deepEqual(await c.db.iterator({ gte: 'a', lt: 'b' }).all(), [['a1', 1], ['a2', 2]], 'a local iterator is local')
    assert.deepEqual(await c.db.iterator({ gte: 'a', lt: 'b', ...STRONG }).all(), [['a2', 20], ['a3', 30]])
    assert.deepEqual(await c.db.keys({ lt: 'c', reverse: true, ...STRONG }).all(), ['b1', 'a3', 'a2'])
    assert.deepEqual(await c.db.values({ gt: 'a2', lt: 'c', ...STRONG }).all(), [30, 3])
    // Through a sublevel, in its encodings.
    await a.db.sublevel<string, string>('users', { valueEncoding: 'utf8' }).put('ann', 'hi')
    assert.deepEqual(await c.db.sublevel<string, string>('users', { valueEncoding: 'utf8' }).iterator(STRONG).all(), [['ann', 'hi']])
  })
})

test('strong reads need a majority minConsensus, and a known consistency', { timeout: 30_000 }, async () => {
  await withCluster(0, async (hosts) => {
    const [a] = hosts as [Host]
    await a.db.put('x', 1)
    await assert.rejects(a.db.get('x', STRONG), { code: 'LEVEL_NOT_SUPPORTED' })
    await assert.rejects(a.db.get('x', { consistency: 'linearizable' } as typeof STRONG), { code: 'LEVEL_INVALID_OPTION' })
    assert.equal(await a.db.get('x'), 1)
  })
})

test('a strong read waits for enough peers until writeTimeout, and answers once they are back', { timeout: 30_000 }, async () => {
  await withCluster(1, async (hosts, cut) => {
    const [a, , c] = hosts as [Host, Host, Host]
    await a.db.put('k', 'from a')
    await eventually(async () => await c.db.get('k').catch(() => undefined) === 'from a', 5_000, 'c holds it')
    cut(0, 2, true)
    cut(1, 2, true)
    await once(c.replicator, 'notready')
    const started = Date.now()
    await assert.rejects(c.db.get('k', STRONG), { code: 'LEVEL_NOT_READY' })
    assert.ok(Date.now() - started >= 1_500, 'it waited for peers until writeTimeout')
    const read = c.db.get('k', STRONG)
    await new Promise((resolve) => setTimeout(resolve, 200))
    cut(0, 2, false)
    cut(1, 2, false)
    assert.equal(await read, 'from a')
  })
})
