/**
 * `npm run bench`: replicated puts of 100-byte values on 3 hosts (one process each, real
 * classic-level databases in temporary directories, TCP on 127.0.0.1), one at a time and 64
 * in flight, with sync off and on, each beside plain classic-level measured the same way in
 * the same run. Prints a table and JSON lines: ops/s, p50 and p99 latency, and machine CPU
 * time per put (all processes of the scenario). Absolute figures drift on shared machines;
 * the ratio to plain classic-level is what to track.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HostCommand, HostReply } from './protocol.js'
import { freePorts } from '../src/cli/free-ports.js'

const HOST_SCRIPT = fileURLToPath(new URL('./host.js', import.meta.url))
const VALUE_BYTES = 100
const WARMUP_OPS = 200
const HOST_READY_MS = 20_000
const RUN_MS_MAX = 300_000

interface Scenario { inFlight: number, sync: boolean, ops: number }

const scenarios: Scenario[] = [
  { inFlight: 1, sync: false, ops: 3_000 },
  { inFlight: 64, sync: false, ops: 20_000 },
  { inFlight: 1, sync: true, ops: 500 },
  { inFlight: 64, sync: true, ops: 5_000 }
]

interface Result {
  scenario: string
  mode: 'plain' | 'replicated'
  inFlight: number
  sync: boolean
  ops: number
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  cpuMicrosPerOp: number
  ratioToPlain?: number
}

class Host {
  readonly #child: ChildProcess
  readonly #waiting: Array<(reply: HostReply) => void> = []
  /** Replies that came before anyone waited for them (a host may be ready at once). */
  readonly #unclaimed: HostReply[] = []

  constructor (args: string[]) {
    this.#child = fork(HOST_SCRIPT, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child.on('message', (reply: HostReply) => {
      const waiter = this.#waiting.shift()
      if (waiter === undefined) this.#unclaimed.push(reply)
      else waiter(reply)
    })
  }

  next (ms: number): Promise<HostReply> {
    const early = this.#unclaimed.shift()
    if (early !== undefined) return Promise.resolve(early)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`benchmark host silent for ${ms} ms`)) }, ms)
      this.#waiting.push((reply) => {
        clearTimeout(timer)
        resolve(reply)
      })
    })
  }

  async ask (command: HostCommand, ms = RUN_MS_MAX): Promise<HostReply> {
    const reply = this.next(ms)
    this.#child.send(command)
    return reply
  }

  async cpu (): Promise<number> {
    const reply = await this.ask({ type: 'cpu' })
    if (reply.type !== 'cpu') throw new Error(`expected cpu, got ${reply.type}`)
    return reply.micros
  }

  async close (): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.send({ type: 'close' } satisfies HostCommand)
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
}

async function measure (mode: 'plain' | 'replicated', scenario: Scenario): Promise<Result> {
  const dirs: string[] = []
  const hosts: Host[] = []
  try {
    const count = mode === 'plain' ? 1 : 3
    const ports = await freePorts(count)
    for (let i = 0; i < count; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'quorum-level-bench-'))
      dirs.push(dir)
      const peers = JSON.stringify(ports.filter((_, j) => j !== i))
      hosts.push(new Host([dir, mode, String(ports[i]), peers, String(scenario.sync)]))
    }
    for (const host of hosts) {
      const reply = await host.next(HOST_READY_MS)
      if (reply.type !== 'ready') throw new Error(`host did not start: ${JSON.stringify(reply)}`)
    }
    const driver = hosts[0] as Host
    await driver.ask({ type: 'run', count: WARMUP_OPS, inFlight: scenario.inFlight, valueBytes: VALUE_BYTES, prefix: 'warm' })
    const cpuBefore = await Promise.all(hosts.map((host) => host.cpu()))
    const started = performance.now()
    const reply = await driver.ask({ type: 'run', count: scenario.ops, inFlight: scenario.inFlight, valueBytes: VALUE_BYTES, prefix: 'key' })
    const elapsed = performance.now() - started
    const cpuAfter = await Promise.all(hosts.map((host) => host.cpu()))
    if (reply.type !== 'ran') throw new Error(`run failed: ${JSON.stringify(reply)}`)
    const sorted = reply.latencies.sort((a, b) => a - b)
    const cpu = cpuAfter.reduce((sum, after, i) => sum + after - (cpuBefore[i] ?? 0), 0)
    return {
      scenario: `${scenario.inFlight} in flight, sync ${scenario.sync ? 'on' : 'off'}`,
      mode,
      inFlight: scenario.inFlight,
      sync: scenario.sync,
      ops: scenario.ops,
      opsPerSec: Math.round(scenario.ops / (elapsed / 1000)),
      p50Ms: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      cpuMicrosPerOp: Math.round(cpu / scenario.ops)
    }
  } finally {
    for (const host of hosts) await host.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
}

function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}

const results: Result[] = []
for (const scenario of scenarios) {
  const plain = await measure('plain', scenario)
  const replicated = await measure('replicated', scenario)
  replicated.ratioToPlain = Math.round((replicated.opsPerSec / plain.opsPerSec) * 1000) / 1000
  results.push(plain, replicated)
}

console.log('scenario                    | mode       |    ops/s |  p50 ms |  p99 ms | CPU us/put | x plain')
console.log('----------------------------|------------|----------|---------|---------|------------|--------')
for (const r of results) {
  console.log(`${r.scenario.padEnd(27)} | ${r.mode.padEnd(10)} | ${String(r.opsPerSec).padStart(8)} | ${r.p50Ms.toFixed(3).padStart(7)} | ${r.p99Ms.toFixed(3).padStart(7)} | ${String(r.cpuMicrosPerOp).padStart(10)} | ${r.ratioToPlain === undefined ? '' : r.ratioToPlain.toFixed(3)}`)
}
console.log('')
for (const r of results) console.log(JSON.stringify(r))
