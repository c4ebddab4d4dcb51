/**
 * One benchmark host of the cluster scenarios, run as a child process: a classic-level
 * database in a temporary directory, with a Replicator and a TCP server (replicated mode) or
 * alone (plain mode). The parent drives it over IPC (workload.ts).
 */
import { createServer } from 'node:net'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../src/index.js'
import { send, serve } from './workload.js'

const [location, mode, portArg, peersArg, syncArg] = process.argv.slice(2)
const sync = syncArg === 'true'
const db = new ClassicLevel<string, Buffer>(location as string, { valueEncoding: 'buffer' })

if (mode === 'replicated') {
  const port = Number(portArg)
  const peers = JSON.parse(peersArg as string) as number[]
  const replicator = Replicator(db, { host: '127.0.0.1', port, peers: peers.map((peer) => ({ host: '127.0.0.1', port: peer })), sync })
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    const stream = replicator.createServer()
    stream.pipe(socket).pipe(stream)
  }).listen(port, '127.0.0.1')
  replicator.once('ready', () => { send({ type: 'ready' }) })
  serve(db, async () => {
    await replicator.close()
    await db.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
} else {
  // Plain classic-level takes `sync` per write; the Replicator has it as an option.
  serve({ put: async (key, value) => { await db.put(key, value, { sync }) }, get: async (key) => await db.get(key) }, async () => { await db.close() })
  db.open().then(() => { send({ type: 'ready' }) }, (error: unknown) => { throw error })
}
