/**
 * Goal: a replicated write reads back byte for byte on every kind of store a Replicator
 * wraps, in every encoding, as a local write would, and emits on every host the events a
 * local write emits; a database the Replicator cannot drive is refused at once, before
 * anything is written. Method: two clusters of 3 hosts on 127.0.0.1 that mix classic-level 1
 * and 3 and memory-level 1 and 3 storing Buffers or views, each host writing with several
 * encodings; every host reads every write back. Stores of strings are offered and refused.
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

/**
 * The calls the tests make, common to abstract-level 1 and 3; one type keeps their
 * overloads readable. `modern`: abstract-level 3, which says `undefined` for a missing key
 * and announces writes with a `write` event.
 */
type AnyLevel = ClassicLevel<string, string>
interface StoreKind { name: string, modern: boolean, make: (location: string) => AnyLevel }

const as = (db: unknown): AnyLevel => db as AnyLevel
const KINDS = {
  classic1: { name: 'classic-level 1', modern: false, make: (location) => new ClassicLevel<string, string>(location) },
  classic3: { name: 'classic-level 3', modern: true, make: (location) => as(new ClassicLevel3<string, string>(location)) },
  memory1Buffer: { name: 'memory-level 1 storing Buffers', modern: false, make: () => as(new MemoryLevel<string, string>({ storeEncoding: 'buffer' })) },
  memory1View: { name: 'memory-level 1 storing views', modern: false, make: () => as(new MemoryLevel<string, string>({ storeEncoding: 'view' })) },
  memory3Buffer: { name: 'memory-level 3 storing Buffers', modern: true, make: () => as(new MemoryLevel3<string, string>({ storeEncoding: 'buffer' })) },
  memory3View: { name: 'memory-level 3 storing views', modern: true, make: () => as(new MemoryLevel3<string, string>({ storeEncoding: 'view' })) }
} satisfies Record<string, StoreKind>
/** Every kind in a cluster, each beside kinds of the other major version. */
const CLUSTERS: StoreKind[][] = [
  [KINDS.classic1, KINDS.memory1Buffer, KINDS.memory3View],
  [KINDS.classic3, KINDS.memory3Buffer, KINDS.memory1View]
]

interface StoreHost {
  readonly name: string
  readonly kind: StoreKind
  readonly db: AnyLevel
  readonly replicator: Replicator
  readonly server: Server
}

interface Cluster {
  readonly hosts: StoreHost[]
  close: () => Promise<void>
}

/** A missing key, in either major version's manner. */
async function missing (db: AnyLevel, key: string): Promise<boolean> {
  try {
    return await db.get(key) === undefined
  } catch (error) {
    return (error as { code?: string }).code === 'LEVEL_NOT_FOUND'
  }
}

async function startCluster (kinds: StoreKind[]): Promise<Cluster> {
  const servers = await Promise.all(kinds.map(async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }))
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  const dir = await tempDir()
  const hosts = kinds.map((kind, i): StoreHost => {
    const db = kind.make(`${dir}/${i}`)
    const peers = ports.filter((_, j) => j !== i).map((port) => ({ host: '127.0.0.1', port }))
    const replicator = Replicator(db, { host: '127.0.0.1', port: ports[i] as number, peers, reconnectMsMin: 20, reconnectMsMax: 200 })
    const server = servers[i] as Server
    server.on('connection', (socket) => {
      socket.on('error', () => {})
      const stream = replicator.createServer()
      stream.pipe(socket).pipe(stream)
    })
    return { name: kind.name, kind, db, replicator, server }
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

for (const kinds of CLUSTERS) {
  const names = kinds.map((kind) => kind.name).join(', ')

  test(`replicated writes read back byte for byte in every encoding: ${names}`, { timeout: 30_000 }, async () => {
    const cluster = await startCluster(kinds)
    try {
      await Promise.all(cluster.hosts.map((host) => once(host.replicator, 'ready', 10_000)))
      const binary = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0xc3, 0x28])
      for (const [i, { db }] of cluster.hosts.entries()) {
        await db.put(`ключ-${i}`, 'значение')
        await db.put(`json-${i}`, { n: i, s: 'ü' } as unknown as string, { valueEncoding: 'json' })
        await db.put(`buffer-${i}`, binary as unknown as string, { valueEncoding: 'buffer' })
        await db.put(Buffer.from([0xfe, 0x00, i]) as unknown as string, new Uint8Array([i, 0xff, 0x00]) as unknown as string, { keyEncoding: 'buffer', valueEncoding: 'view' })
        await db.batch([{ type: 'put', key: `gone-${i}`, value: 'x' }, { type: 'del', key: `gone-${i}` }, { type: 'put', key: `batch-${i}`, value: '🙂' }])
        await db.sublevel<string, string>('sub', { valueEncoding: 'utf8' }).put(`s${i}`, 'in a sublevel')
        const chained = db.batch()
        chained.put(`chained-${i}`, 'c')
        await chained.write()
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
          assert.ok(await missing(reader.db, `gone-${i}`), `${where}: gone-${i} was deleted`)
          assert.equal(await reader.db.sublevel<string, string>('sub', { valueEncoding: 'utf8' }).get(`s${i}`), 'in a sublevel', where)
          assert.equal(await reader.db.get(`chained-${i}`), 'c', where)
        }
        const keys: string[] = []
        // Below U+FFFF (EF BF BF): past the binary keys (FE ..) and quorum-level's records (FF FF ..).
        for await (const key of reader.db.keys({ gte: 'a', lt: '\uffff' })) keys.push(key)
        assert.deepEqual(keys.sort(), ['batch-', 'buffer-', 'chained-', 'json-', 'ключ-'].flatMap((prefix) => [0, 1, 2].map((i) => `${prefix}${i}`)).sort(), where)
      }
    } finally {
      await cluster.close()
    }
  })

  test(`a replicated write emits on every host the events a local write emits: ${names}`, { timeout: 30_000 }, async () => {
    const cluster = await startCluster(kinds)
    try {
      await Promise.all(cluster.hosts.map((host) => once(host.replicator, 'ready', 10_000)))
      // abstract-level 1 emits put, del and batch; abstract-level 3 one write event, of operations.
      const seen = cluster.hosts.map(({ db, kind }) => {
        const events: string[] = []
        const note = (event: unknown): void => { events.push(JSON.stringify(event)) }
        if (kind.modern) {
          db.on('write' as never, (ops: Array<{ type: string, key: string, value?: string }>) => { note(['write', ops.map(({ type, key, value }) => ({ type, key, value }))]) })
        } else {
          db.on('put', (key: string, value: string) => { note(['put', key, value]) })
          db.on('del', (key: string) => { note(['del', key]) })
          db.on('batch', (ops: unknown[]) => { note(['batch', ops]) })
        }
        return events
      })
      const expected = cluster.hosts.map(() => [] as string[])
      for (const [i, { db }] of cluster.hosts.entries()) {
        const ops = [{ type: 'put' as const, key: `a${i}`, value: '1' }, { type: 'del' as const, key: `b${i}` }]
        await db.put(`k${i}`, `значение ${i}`)
        await db.del(`k${i}`)
        await db.batch(ops)
        for (const [j, { kind }] of cluster.hosts.entries()) {
          const put = { type: 'put', key: `k${i}`, value: `значение ${i}` }
          const del = { type: 'del', key: `k${i}` }
          expected[j]?.push(...(kind.modern
            ? [['write', [put]], ['write', [del]], ['write', ops]]
            : [['put', put.key, put.value], ['del', del.key], ['batch', ops]]).map((event) => JSON.stringify(event)))
        }
      }
      // Every write resolved once every host applied it; the events follow within the turn.
      await new Promise((resolve) => setImmediate(resolve))
      for (const [j, events] of seen.entries()) {
        assert.deepEqual([...events].sort(), [...(expected[j] ?? [])].sort(), `events on ${cluster.hosts[j]?.name ?? j}`)
      }
    } finally {
      await cluster.close()
    }
  })
}

test('a database the Replicator cannot drive is refused at once, and stays as it was', { timeout: 30_000 }, async () => {
  const refused = [
    { name: 'memory-level 1 storing strings', db: as(new MemoryLevel<string, string>({ storeEncoding: 'utf8' })) },
    { name: 'memory-level 3 storing strings', db: as(new MemoryLevel3<string, string>({ storeEncoding: 'utf8' })) }
  ]
  for (const { name, db } of refused) {
    assert.throws(() => Replicator(db, { peers: [{ host: '127.0.0.1', port: 1 }] }), (error: Error & { code?: string }) => {
      assert.equal(error.code, CODES.NOT_SUPPORTED, name)
      assert.match(error.message, /stores strings/, name)
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
  assert.throws(() => Replicator({ open: async () => {} }), { code: CODES.NOT_SUPPORTED, message: /not one/ })
})
