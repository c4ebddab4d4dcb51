import { mkdtemp, rm } from 'node:fs/promises'
import { type AddressInfo, type Server, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Duplex } from 'node:stream'
import { ClassicLevel } from 'classic-level'
import { Replicator, type ReplicatorOptions } from '../../src/index.js'

export interface TestHost {
  readonly name: string
  readonly port: number
  readonly location: string
  db: ClassicLevel<string, unknown>
  replicator: ReturnType<typeof Replicator>
  readonly server: Server
}

/** Directories and servers made by a test, removed and closed by `closeHosts`. */
export interface HostSet {
  readonly hosts: TestHost[]
  readonly dirs: string[]
}

export async function tempDir (): Promise<string> {
  return mkdtemp(join(tmpdir(), 'quorum-level-'))
}

async function listen (): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/**
 * Starts `count` hosts on 127.0.0.1, each a classic-level database in a temporary directory
 * with a Replicator, its peers being all the others, and a TCP server piping every connection
 * through `createServer()` as level-2pc's README does.
 */
export async function startHosts (count: number, options: (index: number) => ReplicatorOptions = () => ({})): Promise<HostSet> {
  const servers = await Promise.all(Array.from({ length: count }, listen))
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  const set: HostSet = { hosts: [], dirs: [] }
  for (let i = 0; i < count; i++) {
    const location = await tempDir()
    set.dirs.push(location)
    const server = servers[i] as Server
    const peers = ports.filter((_, j) => j !== i).map((port) => ({ host: '127.0.0.1', port }))
    const host: TestHost = { name: `h${i}`, port: ports[i] as number, location, server, db: null as never, replicator: null as never }
    openHost(host, { host: '127.0.0.1', port: host.port, peers, reconnectMsMin: 20, reconnectMsMax: 200, ...options(i) })
    server.on('connection', (socket) => {
      socket.on('error', () => {})
      const stream = host.replicator.createServer()
      stream.pipe(socket).pipe(stream)
    })
    set.hosts.push(host)
  }
  return set
}

/** Runs `run` against `count` fresh hosts (see `startHosts`), closing them whatever happens. */
export async function withHosts (count: number, options: Parameters<typeof startHosts>[1], run: (set: HostSet) => Promise<void>): Promise<void> {
  const set = await startHosts(count, options)
  try {
    await run(set)
  } finally {
    await closeHosts(set)
  }
}

const hostOptions = new WeakMap<TestHost, ReplicatorOptions>()

/** (Re)opens a host's database and replicator from its directory. */
export function openHost (host: TestHost, options: ReplicatorOptions): void {
  host.db = new ClassicLevel<string, unknown>(host.location, { valueEncoding: 'json' })
  host.replicator = Replicator(host.db, options)
  hostOptions.set(host, options)
}

/** The options a host was last opened with. */
export function optionsOf (host: TestHost): ReplicatorOptions {
  const options = hostOptions.get(host)
  if (options === undefined) throw new Error(`${host.name} was never opened`)
  return options
}

export async function stopHost (host: TestHost): Promise<void> {
  await host.replicator.close()
  await host.db.close()
}

export async function closeHosts (set: HostSet): Promise<void> {
  for (const host of set.hosts) {
    await host.replicator.close().catch(() => {})
    await host.db.close().catch(() => {})
    await new Promise<void>((resolve) => host.server.close(() => resolve()))
  }
  for (const dir of set.dirs) await rm(dir, { recursive: true, force: true })
}

/**
 * Host `h`'s replication options in a cluster of one host per port in `ports`, on 127.0.0.1:
 * every host gets the same member list, which holds itself too (README, Options).
 */
export function memberOptions (ports: readonly number[], h: number): { host: string, port: number, peers: Array<{ host: string, port: number }>, reconnectMsMin: number } {
  return { host: '127.0.0.1', port: ports[h] as number, peers: ports.map((port) => ({ host: '127.0.0.1', port })), reconnectMsMin: 20 }
}

/** Resolves on the next `event` of `emitter`, or rejects after `ms`. */
export function once (emitter: NodeJS.EventEmitter, event: string, ms = 5_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`no ${event} within ${ms} ms`))
    }, ms)
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer)
      resolve(args)
    }
    emitter.once(event, listener)
  })
}

/** Waits until every host's replicator is ready. */
export async function allReady (set: HostSet, ms = 10_000): Promise<void> {
  await Promise.all(set.hosts.map((host) => once(host.replicator, 'ready', ms)))
}

/** Polls `check` every 20 ms until it returns true, failing after `ms`. */
export async function eventually (check: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  for (let attempt = 0; attempt < 10_000; attempt++) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${what} not reached`)
}

/** An in-process connected pair of duplex streams, as a custom transport returns. */
export function duplexPair (): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const end = (other: () => Duplex): Duplex => new Duplex({
    read () {},
    write (chunk: Buffer, _encoding, callback) {
      other().push(chunk)
      callback()
    },
    final (callback) {
      other().push(null)
      callback()
    },
    destroy (error, callback) {
      // Like a socket: when one end goes, the other ends too.
      other().push(null)
      callback(error)
    }
  })
  ends.push(end(() => ends[1] as Duplex), end(() => ends[0] as Duplex))
  return [ends[0] as Duplex, ends[1] as Duplex]
}

/** Every user key and value of a database, for comparing replicas. */
export async function contents (db: ClassicLevel<string, unknown>): Promise<Array<[string, unknown]>> {
  const out: Array<[string, unknown]> = []
  for await (const [key, value] of db.iterator<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })) {
    // quorum-level's reserved range starts with bytes FF FF; user values are json.
    if (key[0] === 0xff && key[1] === 0xff) continue
    out.push([key.toString('utf8'), JSON.parse(value.toString('utf8'))])
  }
  return out
}
