/**
 * One benchmark host, run as a child process: a classic-level database in a temporary
 * directory, with a Replicator and a TCP server (replicated mode) or alone (plain mode).
 * The parent drives it over IPC: `run` a workload, report `cpu`, `close`.
 */
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../src/index.js'
import type { HostCommand, HostReply } from './protocol.js'

const [location, mode, portArg, peersArg, syncArg] = process.argv.slice(2)
const sync = syncArg === 'true'
const db = new ClassicLevel<string, Buffer>(location as string, { valueEncoding: 'buffer' })
const send = (reply: HostReply): void => { process.send?.(reply) }

let close = async (): Promise<void> => { await db.close() }
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
  close = async () => {
    await replicator.close()
    await db.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
} else {
  db.open().then(() => { send({ type: 'ready' }) }, (error: unknown) => { throw error })
}

async function run (count: number, inFlight: number, valueBytes: number, prefix: string): Promise<number[]> {
  const latencies: number[] = []
  const value = randomBytes(valueBytes)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const started = performance.now()
      // Plain classic-level takes `sync` per write; the Replicator has it as an option.
      await db.put(`${prefix}${String(i).padStart(8, '0')}`, value, mode === 'plain' ? { sync } : {})
      latencies.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return latencies
}

process.on('message', (command: HostCommand) => {
  switch (command.type) {
    case 'run':
      run(command.count, command.inFlight, command.valueBytes, command.prefix).then((latencies) => { send({ type: 'ran', latencies }) }, (error: unknown) => { send({ type: 'failed', message: String(error) }) })
      break
    case 'cpu': {
      const usage = process.cpuUsage()
      send({ type: 'cpu', micros: usage.user + usage.system })
      break
    }
    case 'close':
      close().then(() => process.exit(0), () => process.exit(1))
      break
  }
})
