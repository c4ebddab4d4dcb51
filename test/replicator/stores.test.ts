/**
 * Goal: a replicated write reads back byte for byte on every kind of store a Replicator
 * wraps, in every encoding, as a local write would; and a database the Replicator cannot
 * drive is refused at once, before anything is written. Method: 3 hosts on 127.0.0.1 (a
 * classic-level, a memory-level storing Buffers, a memory-level storing views), each writing
 * with several encodings; every host reads every write back. abstract-level 3 databases
 * (classic-level 3, memory-level 3) and a memory-level storing strings are offered and refused.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type AddressInfo, type Server, createServer } from 'node:net'
import { rm } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { ClassicLevel as ClassicLevel3 } from 'classic-level-3'
import { MemoryLevel as MemoryLevel3 } from 'memory-level-3'
import { Replicator } from '../../src/index.js'
import { CODES } from '../../src/errors.js'
import { once, tempDir } from '../helpers/hosts.js'

/** Both are abstract-level 1 databases; one type keeps the calls' overloads readable. */
type AnyLevel = ClassicLevel<string, string>

interface StoreHost {
  readonly name: string
  readonly db: AnyLevel
  readonly replicator: Replicator
  readonly server: Server
}

interface Cluster {
  readonly hosts: StoreHost[]
  close: () => Promise<void>
}

const STORES: Array<{ name: string, make: (location: string) => AnyLevel }> = [
  { name: 'classic-level', make: (location) => new ClassicLevel<string, string>(location) },
  { name: 'memory-level buffer', make: () => new MemoryLevel<string, string>({ storeEncoding: 'buffer' }) as unknown as AnyLevel },
  { name: 'memory-level view', make: () => new MemoryLevel<string, string>({ storeEncoding: 'view' }) as unknown as AnyLevel }
]

async function startCluster (): Promise<Cluster> {
  const servers = await Promise.all(STORES.map(async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }))
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  const dir = await tempDir()
  const hosts = STORES.map((store, i): StoreHost => {
    const db = store.make(`${dir}/${i}`)
    const peers = ports.filter((_, j) => j !== i).map((port) => ({ host: '127.0.0.1', port }))
    const replicator = Replicator(db, { host: '127.0.0.1', port: ports[i] as number, peers, reconnectMsMin: 20, reconnectMsMax: 200 })
    const server = servers[i] as Server
    server.on('connection', (socket) => {
      socket.on('error', () => {})
      const stream = replicator.createServer()
      stream.pipe(socket).pipe(stream)
    })
    return { name: store.name, db, replicator, server }
  })
  return {
    hosts,
    close: async () => {
      for (const host of hosts) {
        await host.replicator.close().catch(() => {})
        await host.db.close().catch(() => {})
        await new Promise<void>((resolve) => host.server.close(() => resolve()))
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}

test('replicated writes read back byte for byte on classic-level and memory-level, in every encoding', { timeout: 30_000 }, async () => {
  const cluster = await startCluster()
  try {
    await Promise.all(cluster.hosts.map((host) => once(host.replicator, 'ready', 10_000)))
    const binary = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0xc3, 0x28])
    for (const [i, { db }] of cluster.hosts.entries()) {
      await db.put(`ключ-${i}`, 'значение')
      await db.put(`json-${i}`, { n: i, s: 'ü' } as unknown as string, { valueEncoding: 'json' })
      await db.put(`buffer-${i}`, binary as unknown as string, { valueEncoding: 'buffer' })
      await db.put(Buffer.from([0xfe, 0x00, i]) as unknown as string, new Uint8Array([i, 0xff, 0x00]) as unknown as string, { keyEncoding: 'buffer', valueEncoding: 'view' })
      await db.batch([{ type: 'put', key: `gone-${i}`, value: 'x' }, { type: 'del', key: `gone-${i}` }, { type: 'put', key: `batch-${i}`, value: '🙂' }])
    }
    for (const reader of cluster.hosts) {
      const where = `read on ${reader.name}`
      for (let i = 0; i < cluster.hosts.length; i++) {
        assert.equal(await reader.db.get(`ключ-${i}`), 'значение', where)
        assert.deepEqual(await reader.db.get(`json-${i}`, { valueEncoding: 'json' }), { n: i, s: 'ü' }, where)
        const buffer = await reader.db.get<string, Buffer>(`buffer-${i}`, { valueEncoding: 'buffer' })
        assert.ok(Buffer.isBuffer(buffer), `${where}: a buffer read returns a Buffer`)
        assert.deepEqual([...buffer], [...binary], where)
        const view = await reader.db.get<Buffer, Uint8Array>(Buffer.from([0xfe, 0x00, i]), { keyEncoding: 'buffer', valueEncoding: 'view' })
        assert.deepEqual([...view], [i, 0xff, 0x00], where)
        assert.equal(await reader.db.get(`batch-${i}`), '🙂', where)
        await assert.rejects(reader.db.get(`gone-${i}`), { code: 'LEVEL_NOT_FOUND' }, where)
      }
      const keys: string[] = []
      // Below U+FFFF (EF BF BF): past the binary keys (FE ..) and quorum-level's records (FF FF ..).
      for await (const key of reader.db.keys({ lt: '\uffff' })) keys.push(key)
      assert.deepEqual(keys.sort(), ['batch-0', 'batch-1', 'batch-2', 'buffer-0', 'buffer-1', 'buffer-2', 'json-0', 'json-1', 'json-2', 'ключ-0', 'ключ-1', 'ключ-2'].sort(), where)
    }
  } finally {
    await cluster.close()
  }
})

test('a database the Replicator cannot drive is refused at once, and stays as it was', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir()
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const refused = [
    { name: 'classic-level 3', db: new ClassicLevel3<string, string>(`${dir}/classic3`) },
    { name: 'memory-level 3', db: new MemoryLevel3<string, string>() },
    { name: 'memory-level storing strings', db: new MemoryLevel<string, string>({ storeEncoding: 'utf8' }) }
  ]
  for (const { name, db } of refused) {
    assert.throws(() => Replicator(db as never, { peers: [{ host: '127.0.0.1', port: 1 }] }), (error: Error & { code?: string }) => {
      assert.equal(error.code, CODES.NOT_SUPPORTED, name)
      assert.match(error.message, /abstract-level 1|stores strings/, name)
      return true
    })
    // Untouched: its own writes work as before, and nothing of quorum-level's is in it.
    await db.put('k', 'v')
    assert.equal(await db.get('k'), 'v', name)
    const keys: string[] = []
    for await (const key of db.keys()) keys.push(key)
    assert.deepEqual(keys, ['k'], name)
    await db.close()
  }
})

test('a replicated write emits on every host the put, del and batch events a local write emits', { timeout: 30_000 }, async () => {
  const cluster = await startCluster()
  try {
    await Promise.all(cluster.hosts.map((host) => once(host.replicator, 'ready', 10_000)))
    const seen = cluster.hosts.map(({ db }) => {
      const events: unknown[] = []
      db.on('put', (key: string, value: string) => { events.push(['put', key, value]) })
      db.on('del', (key: string) => { events.push(['del', key]) })
      db.on('batch', (ops: unknown[]) => { events.push(['batch', ops]) })
      return events
    })
    const expected: unknown[] = []
    for (const [i, { db }] of cluster.hosts.entries()) {
      await db.put(`k${i}`, `значение ${i}`)
      await db.del(`k${i}`)
      await db.batch([{ type: 'put', key: `a${i}`, value: '1' }, { type: 'del', key: `b${i}` }])
      expected.push(['put', `k${i}`, `значение ${i}`], ['del', `k${i}`], ['batch', [{ type: 'put', key: `a${i}`, value: '1' }, { type: 'del', key: `b${i}` }]])
    }
    // Every write resolved once every host applied it; the events follow within the turn.
    await new Promise((resolve) => setImmediate(resolve))
    for (const [i, events] of seen.entries()) {
      const normalized = events.map((event) => JSON.parse(JSON.stringify(event)) as unknown)
      assert.deepEqual(new Set(normalized.map((event) => JSON.stringify(event))), new Set(expected.map((event) => JSON.stringify(event))), `events on ${cluster.hosts[i]?.name ?? i}`)
      assert.equal(events.length, expected.length, `each once on ${cluster.hosts[i]?.name ?? i}`)
    }
  } finally {
    await cluster.close()
  }
})
