/**
 * The operations a benchmark process times, and its side of the IPC protocol: `run` a
 * workload, report `cpu`, `close`. Puts write `count` keys `<prefix><8 digits>` with one
 * random value; gets read those keys back, round robin.
 */
import { randomBytes } from 'node:crypto'
import type { HostCommand, HostReply } from './protocol.js'

/** The calls a workload makes: any abstract-level database with string keys and buffer values. */
export interface BenchDatabase {
  put: (key: string, value: Buffer) => Promise<void>
  get: (key: string) => Promise<unknown>
}

export function send (reply: HostReply): void {
  process.send?.(reply)
}

async function run (db: BenchDatabase, command: Extract<HostCommand, { type: 'run' }>): Promise<number[]> {
  const { op, count, inFlight, valueBytes, prefix } = command
  const latencies: number[] = []
  const value = randomBytes(valueBytes)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const key = `${prefix}${String(next++).padStart(8, '0')}`
      const started = performance.now()
      if (op === 'put') await db.put(key, value)
      else await db.get(key)
      latencies.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return latencies
}

/** Answers the driver's commands with `db` (null: this process only serves others). */
export function serve (db: BenchDatabase | null, close: () => Promise<void>): void {
  process.on('message', (command: HostCommand) => {
    switch (command.type) {
      case 'run':
        if (db === null) {
          send({ type: 'failed', message: 'this process runs no workload' })
          break
        }
        run(db, command).then((latencies) => { send({ type: 'ran', latencies }) }, (error: unknown) => { send({ type: 'failed', message: String(error) }) })
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
}
