/**
 * One benchmark host of the cluster scenarios, run as a child process: a classic-level
 * database, with a Replicator and a TCP server (replicated) or alone (plain). Its setup is
 * one JSON argument (HostSetup); the parent drives it over IPC (workload.ts).
 */
import { createServer } from 'node:net'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../src/index.js'
import { send, serve } from './workload.js'

export interface HostSetup {
  location: string
  replicated: boolean
  port: number
  peers: number[]
  sync: boolean
  minConsensus?: number
  logRetention?: number
}

const setup = JSON.parse(process.argv[2] as string) as HostSetup
const { location, port, sync } = setup
const createdAt = performance.now()
const db = new ClassicLevel<string, Buffer>(location, { valueEncoding: 'buffer' })

if (setup.replicated) {
  const replicator = Replicator(db, {
    host: '127.0.0.1',
    port,
    peers: setup.peers.map((peer) => ({ host: '127.0.0.1', port: peer })),
    sync,
    ...(setup.minConsensus === undefined ? {} : { minConsensus: setup.minConsensus }),
    ...(setup.logRetention === undefined ? {} : { logRetention: setup.logRetention })
  })
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    const stream = replicator.createServer()
    stream.pipe(socket).pipe(stream)
  }).listen(port, '127.0.0.1')
  replicator.once('ready', () => { send({ type: 'ready' }) })
  serve(db, createdAt, async () => {
    await replicator.close()
    await db.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
} else {
  // Plain classic-level takes `sync` per write; the Replicator has it as an option.
  serve({
    put: async (key, value) => { await db.put(key, value, { sync }) },
    get: async (key) => await db.get(key),
    batch: async (operations) => { await db.batch(operations, { sync }) },
    keys: (options) => db.keys(options),
    iterator: (options) => options === undefined ? db.iterator() : db.iterator(options)
  }, createdAt, async () => { await db.close() })
  db.open().then(() => { send({ type: 'ready' }) }, (error: unknown) => { throw error })
}
