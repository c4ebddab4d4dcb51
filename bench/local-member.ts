/**
 * One process of the local-layer scenarios: `classic` (classic-level alone), `replicator`
 * (classic-level with a Replicator and no peers: the commit path without the local layer),
 * `many-host` (classic-level served by many-level's host on a unix socket; it can run a
 * workload on the database directly), `many-guest` (many-level's guest of that socket) or
 * `quorum` (a QuorumLevel: the first to open leads, the others are its guests; an optional
 * JSON argument holds its cluster options). The parent drives it over IPC (workload.ts).
 */
import { createServer, connect } from 'node:net'
import { pipeline } from 'readable-stream'
import { ClassicLevel } from 'classic-level'
import { ManyLevelGuest, ManyLevelHost } from 'many-level'
import { QuorumLevel, Replicator, type ReplicatorOptions } from '../src/index.js'
import { send, serve } from './workload.js'

const [mode, location, socketPath, clusterArg] = process.argv.slice(2) as [string, string, string, string | undefined]
const buffers = { valueEncoding: 'buffer' } as const
const createdAt = performance.now()

switch (mode) {
  case 'classic': {
    const db = new ClassicLevel<string, Buffer>(location, buffers)
    await db.open()
    serve(db, createdAt, async () => { await db.close() })
    send({ type: 'ready' })
    break
  }
  case 'replicator': {
    const db = new ClassicLevel<string, Buffer>(location, buffers)
    const replicator = Replicator(db)
    await new Promise<void>((resolve) => replicator.once('ready', () => { resolve() }))
    serve(db, createdAt, async () => {
      await replicator.close()
      await db.close()
    })
    send({ type: 'ready' })
    break
  }
  case 'many-host': {
    const db = new ClassicLevel<string, Buffer>(location, buffers)
    await db.open()
    const host = new ManyLevelHost(db as unknown as ConstructorParameters<typeof ManyLevelHost>[0])
    const server = createServer((socket) => {
      pipeline(socket, host.createRpcStream(), socket, () => {})
    })
    await new Promise<void>((resolve) => server.listen(socketPath, resolve))
    serve(db, createdAt, async () => {
      server.close()
      await db.close()
    })
    send({ type: 'ready' })
    break
  }
  case 'many-guest': {
    const db = new ManyLevelGuest<string, Buffer>(buffers)
    const socket = connect(socketPath)
    pipeline(socket, db.createRpcStream(), socket, () => {})
    await db.open()
    serve(db, createdAt, async () => { await db.close() })
    send({ type: 'ready' })
    break
  }
  case 'quorum': {
    const cluster = clusterArg === undefined ? {} : JSON.parse(clusterArg) as ReplicatorOptions
    const db = new QuorumLevel<string, Buffer>(location, { ...buffers, ...cluster })
    await db.open()
    serve(db, createdAt, async () => { await db.close() })
    send({ type: 'ready', leader: db.isLeader })
    break
  }
  default:
    throw new Error(`unknown mode ${mode}`)
}
