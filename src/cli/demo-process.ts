/**
 * One process of the demo: opens QuorumLevel on its host's directory and does what the demo
 * driver asks over IPC (write, list, close), reporting leadership and cluster readiness.
 */
import { QuorumLevel } from '../index.js'

export type DemoCommand =
  | { type: 'open', location: string, port: number, peers: number[] }
  | { type: 'put', key: string, value: string }
  | { type: 'list' }
  | { type: 'close' }

export type DemoReply =
  | { type: 'opened', leader: boolean }
  | { type: 'leader' }
  | { type: 'ready' }
  | { type: 'put', key: string, error: string | null }
  | { type: 'list', entries: Array<[string, string]> }
  | { type: 'failed', message: string }

let db: QuorumLevel<string, string> | null = null
const reply = (message: DemoReply): void => { process.send?.(message) }

process.on('message', (command: DemoCommand) => {
  switch (command.type) {
    case 'open': {
      const opened = new QuorumLevel<string, string>(command.location, {
        valueEncoding: 'utf8',
        host: '127.0.0.1',
        port: command.port,
        peers: command.peers.map((port) => ({ host: '127.0.0.1', port })),
        secret: 'quorum-level demo',
        reconnectMsMin: 20,
        reconnectMsMax: 200
      })
      db = opened
      opened.on('leader', () => { reply({ type: 'leader' }) })
      opened.cluster.on('ready', () => { reply({ type: 'ready' }) })
      opened.open().then(() => { reply({ type: 'opened', leader: opened.isLeader }) }, (error: Error) => { reply({ type: 'failed', message: error.message }) })
      break
    }
    case 'put':
      db?.put(command.key, command.value).then(() => { reply({ type: 'put', key: command.key, error: null }) }, (error: Error) => {
        reply({ type: 'put', key: command.key, error: error.message })
      })
      break
    case 'list':
      db?.iterator().all().then((entries) => { reply({ type: 'list', entries }) }, (error: Error) => { reply({ type: 'failed', message: error.message }) })
      break
    case 'close':
      (db?.close() ?? Promise.resolve()).then(() => { process.exit(0) }, () => { process.exit(1) })
      break
  }
})
