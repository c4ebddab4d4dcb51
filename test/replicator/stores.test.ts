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
import { Replicator, type ReplicatorOptions } from '../../src/index.js'
import { CODES } from '../../src/errors.js'
import { eventually, once, tempDir } from '../helpers/hosts.js'

/**
 * The calls the tests make, common to abstract-level 1 and 3; one type keeps their
 * overloads readable. `modern`: abstract-level 3, which says `undefined` for a missing key
 * and announces writes with a `write` event.
 */
type AnyLevel = ClassicLevel<string, string>
/** `strings`: a store of strings, which takes no buffer or view encoding from its user. */
interface StoreKind { name: string, modern: boolean, strings?: boolean, make: (location: string) => AnyLevel }

const as = (db: unknown): AnyLevel => db as AnyLevel
const KINDS = {
  classic1: { name: 'classic-level 1', modern: false, make: (location) => new ClassicLevel<string, string>(location) },
  classic3: { name: 'classic-level 3', modern: true, make: (location) => as(new ClassicLevel3<string, string>(location)) },
  memory1Buffer: { name: 'memory-level 1 storing Buffers', modern: false, make: () => as(new MemoryLevel<string, string>({ storeEncoding: 'buffer' })) },
  memory1View: { name: 'memory-level 1 storing views', modern: false, make: () => as(new MemoryLevel<string, string>({ storeEncoding: 'view' })) },
  memory3Buffer: { name: 'memory-level 3 storing Buffers', modern: true, make: () => as(new MemoryLevel3<string, string>({ storeEncoding: 'buffer' })) },
  memory3View: { name: 'memory-level 3 storing views', modern: true, make: () => as(new MemoryLevel3<string, string>({ storeEncoding: 'view' })) },
  memory1Strings: { name: 'memory-level 1 storing strings', modern: false, strings: true, make: () => as(new MemoryLevel<string, string>({ storeEncoding: 'utf8' })) },
  memory3Strings: { name: 'memory-level 3 storing strings', modern: true, strings: true, make: () => as(new MemoryLevel3<string, string>({ storeEncoding: 'utf8' })) }
} satisfies Record<string, StoreKind>
/**
 * Every kind in a cluster, each beside kinds of the other major version. `binary`: the cluster
 * carries bytes that are not text, which a store of strings cannot hold.
 */
const CLUSTERS: Array<{ kinds: StoreKind[], binary: boolean }> = [
  { kinds: [KINDS.classic1, KINDS.memory1Buffer, KINDS.memory3View], binary: true },
  { kinds: [KINDS.classic3, KINDS.memory3Buffer, KINDS.memory1View], binary: true },
  { kinds: [KINDS.memory1Strings, KINDS.memory3Strings, KINDS.classic1], binary: false }
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

async function startCluster (kinds: StoreKind[], extra: ReplicatorOptions = {}): Promise<Cluster> {
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
    const replicator = Replicator(db, { host: '127.0.0.1', port: ports[i] as number, peers, reconnectMsMin: 20, reconnectMsMax: 200, ...extra })
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

for (const { kinds, binary: carriesBytes } of CLUSTERS) {
  const names = kinds.map((kind) => kind.name).join(', ')

  test(`replicated writes read back byte for byte in every encoding${carriesBytes ? '' : ' of text'}: ${names}`, { timeout: 30_000 }, async () => {
    const cluster = await startCluster(kinds)
    try {
      await Promise.all(cluster.hosts.map((host) => once(host.replicator, 'ready', 10_000)))
      // Bytes that are not text where the cluster can hold them; UTF-8 text otherwise, with
      // characters whose UTF-16 order is not their UTF-8 order (U+FFFD before U+1F642).
      const binary = carriesBytes ? Buffer.from([0x00, 0xff, 0x80, 0x7f, 0xc3, 0x28]) : Buffer.from('\ufffd🙂 text', 'utf8')
      const binaryKey = (i: number): Buffer => carriesBytes ? Buffer.from([0xfe, 0x00, i]) : Buffer.from(`🙂\ufffd${i}`, 'utf8')
      const viewValue = (i: number): number[] => carriesBytes ? [i, 0xff, 0x00] : [...Buffer.from(`view ${i} \ufffd`, 'utf8')]
      // Bytes are written where the store takes them from its user: a store of strings does not.
      const byteWriters = cluster.hosts.flatMap((host, i) => host.kind.strings === true ? [] : [i])
      for (const [i, { db, kind }] of cluster.hosts.entries()) {
        await db.put(`ключ-${i}`, 'значение')
        await db.put(`json-${i}`, { n: i, s: 'ü' } as unknown as string, { valueEncoding: 'json' })
        if (kind.strings !== true) {
          await db.put(`buffer-${i}`, binary as unknown as string, { valueEncoding: 'buffer' })
          await db.put(binaryKey(i) as unknown as string, new Uint8Array(viewValue(i)) as unknown as string, { keyEncoding: 'buffer', valueEncoding: 'view' })
        }
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
          if (byteWriters.includes(i)) {
            if (reader.kind.strings === true) {
              // Text written as bytes elsewhere reads back as the same text.
              assert.equal(await reader.db.get(`buffer-${i}`), binary.toString('utf8'), where)
              assert.equal(await reader.db.get(binaryKey(i).toString('utf8')), Buffer.from(viewValue(i)).toString('utf8'), where)
            } else {
              const buffer = await reader.db.get<string, Buffer>(`buffer-${i}`, { valueEncoding: 'buffer' })
              assert.ok(Buffer.isBuffer(buffer), `${where}: a buffer read returns a Buffer`)
              assert.deepEqual([...buffer], [...binary], where)
              const view = await reader.db.get<Buffer, Uint8Array>(binaryKey(i), { keyEncoding: 'buffer', valueEncoding: 'view' })
              assert.deepEqual([...view], viewValue(i), where)
            }
          }
          assert.equal(await reader.db.get(`batch-${i}`), '🙂', where)
          assert.ok(await missing(reader.db, `gone-${i}`), `${where}: gone-${i} was deleted`)
          assert.equal(await reader.db.sublevel<string, string>('sub', { valueEncoding: 'utf8' }).get(`s${i}`), 'in a sublevel', where)
          assert.equal(await reader.db.get(`chained-${i}`), 'c', where)
        }
        const keys: string[] = []
        // From 'a' to 'я': past the binary keys and quorum-level's records, in any store's order.
        for await (const key of reader.db.keys({ gte: 'a', lt: 'я' })) keys.push(key)
        const expected = ['batch-', 'chained-', 'json-', 'ключ-'].flatMap((prefix) => [0, 1, 2].map((i) => `${prefix}${i}`))
        expected.push(...byteWriters.map((i) => `buffer-${i}`))
        assert.deepEqual(keys.sort(), expected.sort(), where)
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

test('a database the Replicator cannot drive is refused at once', () => {
  assert.throws(() => Replicator({ open: async () => {} }), { code: CODES.NOT_SUPPORTED, message: /not one/ })
})

test('a store of strings refuses bytes that are not text: it stops applying and says why, and holds nothing mangled', { timeout: 30_000 }, async () => {
  const cluster = await startCluster([KINDS.classic1, KINDS.memory1Strings], { minConsensus: 1, writeTimeout: 1_000 })
  try {
    const [bytes, strings] = cluster.hosts as [StoreHost, StoreHost]
    await Promise.all(cluster.hosts.map((host) => once(host.replicator, 'ready', 10_000)))
    const errors: Error[] = []
    strings.replicator.on('error', (error) => { errors.push(error) })
    await bytes.db.put('text', 'fine')
    assert.equal(await strings.db.get('text'), 'fine')
    // Committed at its origin, it can never be applied where only text is held.
    await assert.rejects(bytes.db.put('bytes', Buffer.from([0xff, 0xfe]) as unknown as string, { valueEncoding: 'buffer' }), { code: CODES.COMMITTED_UNCONFIRMED })
    await eventually(() => errors.some((error) => /cannot hold/.test(`${error.message} ${String((error.cause as Error | undefined)?.message)}`)), 10_000, 'the store of strings says why')
    assert.ok(await missing(strings.db, 'bytes'), 'nothing mangled was written')
    // A key that reads as the reserved range in a store of strings is refused where it is written.
    await assert.rejects(strings.db.put('\uffff\uffffqlx', 'v'), { code: CODES.NOT_SUPPORTED })
  } finally {
    await cluster.close()
  }
})

for (const { kinds } of CLUSTERS) {
  const names = kinds.map((kind) => kind.name).join(', ')

  test(`strong gets, iterators, key and value iterators read every host's writes in every store: ${names}`, { timeout: 30_000 }, async () => {
    const cluster = await startCluster(kinds, { minConsensus: 1 })
    const strong = { consistency: 'strong' } as { keyEncoding?: string }
    try {
      await Promise.all(cluster.hosts.map((host) => once(host.replicator, 'ready', 10_000)))
      for (const [i, { db }] of cluster.hosts.entries()) {
        await db.batch([{ type: 'put', key: `k${i}a`, value: `v${i}a` }, { type: 'put', key: `k${i}b`, value: `v${i}b` }])
        await db.sublevel<string, string>('sub', { valueEncoding: 'utf8' }).put(`s${i}`, 'in a sublevel')
      }
      await cluster.hosts[0]?.db.del('k0b')
      const expected = cluster.hosts.flatMap((_, i) => i === 0 ? [[`k${i}a`, `v${i}a`]] : [[`k${i}a`, `v${i}a`], [`k${i}b`, `v${i}b`]])
      for (const reader of cluster.hosts) {
        const where = `read on ${reader.name}`
        assert.equal(await reader.db.get('k2b', strong), 'v2b', where)
        assert.deepEqual(await reader.db.getMany(['k1a', 'k0b'], strong), ['v1a', undefined], where)
        assert.deepEqual(await reader.db.iterator({ gte: 'k', lt: 'l', ...strong }).all(), expected, where)
        assert.deepEqual(await reader.db.keys({ gte: 'k', lt: 'l', reverse: true, ...strong }).all(), expected.map(([key]) => key).reverse(), where)
        assert.deepEqual(await reader.db.values({ gte: 'k1', lt: 'l', ...strong }).all(), expected.slice(1).map(([, value]) => value), where)
        assert.deepEqual(await reader.db.sublevel<string, string>('sub', { valueEncoding: 'utf8' }).keys(strong).all(), cluster.hosts.map((_, i) => `s${i}`), where)
      }
    } finally {
      await cluster.close()
    }
  })
}
