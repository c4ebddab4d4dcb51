/**
 * `npm run bench`, in two parts, each measured beside its baseline in the same run:
 * - The cluster: replicated puts of 100-byte values on 3 hosts (one process each, real
 *   classic-level databases in temporary directories, TCP on 127.0.0.1), one at a time and
 *   64 in flight, with sync off and on, beside plain classic-level.
 * - The local layer, one host without peers: puts and gets from the QuorumLevel leader
 *   process beside plain classic-level (and a bare Replicator, the commit path alone), and
 *   from a QuorumLevel guest process beside a plain many-level guest of a many-level host.
 * Prints tables and JSON lines: ops/s, p50 and p99 latency, and machine CPU time per
 * operation (all processes of the scenario). Absolute figures drift on shared machines; the
 * ratio to the baseline is what to track.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HostCommand, HostReply } from './protocol.js'
import { freePorts } from '../src/cli/free-ports.js'

const HOST_SCRIPT = fileURLToPath(new URL('./host.js', import.meta.url))
const LOCAL_SCRIPT = fileURLToPath(new URL('./local-member.js', import.meta.url))
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

  constructor (script: string, args: string[]) {
    this.#child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
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
      hosts.push(new Host(HOST_SCRIPT, [dir, mode, String(ports[i]), peers, String(scenario.sync)]))
    }
    for (const host of hosts) {
      const reply = await host.next(HOST_READY_MS)
      if (reply.type !== 'ready') throw new Error(`host did not start: ${JSON.stringify(reply)}`)
    }
    const driver = hosts[0] as Host
    await driver.ask({ type: 'run', op: 'put', count: WARMUP_OPS, inFlight: scenario.inFlight, valueBytes: VALUE_BYTES, prefix: 'warm' })
    const cpuBefore = await Promise.all(hosts.map((host) => host.cpu()))
    const started = performance.now()
    const reply = await driver.ask({ type: 'run', op: 'put', count: scenario.ops, inFlight: scenario.inFlight, valueBytes: VALUE_BYTES, prefix: 'key' })
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

console.log('The cluster: 3 hosts, puts')
console.log('scenario                    | mode       |    ops/s |  p50 ms |  p99 ms | CPU us/put | x plain')
console.log('----------------------------|------------|----------|---------|---------|------------|--------')
for (const r of results) {
  console.log(`${r.scenario.padEnd(27)} | ${r.mode.padEnd(10)} | ${String(r.opsPerSec).padStart(8)} | ${r.p50Ms.toFixed(3).padStart(7)} | ${r.p99Ms.toFixed(3).padStart(7)} | ${String(r.cpuMicrosPerOp).padStart(10)} | ${r.ratioToPlain === undefined ? '' : r.ratioToPlain.toFixed(3)}`)
}
console.log('')
for (const r of results) console.log(JSON.stringify(r))
console.log('')

/** Who runs the workload in a local-layer scenario, and the baseline it is compared with. */
type LocalMode = 'classic' | 'replicator' | 'quorum-leader' | 'many-guest' | 'quorum-guest'
/** The replicator row shows what the commit path costs without the local layer. */
const BASELINE: Record<LocalMode, LocalMode | null> = { classic: null, replicator: 'classic', 'quorum-leader': 'classic', 'many-guest': null, 'quorum-guest': 'many-guest' }

interface LocalScenario { op: 'put' | 'get', inFlight: number, ops: number }

const localScenarios: LocalScenario[] = [
  { op: 'put', inFlight: 1, ops: 3_000 },
  { op: 'put', inFlight: 64, ops: 20_000 },
  { op: 'get', inFlight: 1, ops: 10_000 },
  { op: 'get', inFlight: 64, ops: 20_000 }
]

interface LocalResult {
  scenario: string
  mode: LocalMode
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  cpuMicrosPerOp: number
  ratio?: number
}

/** Starts the processes of `mode`; the last one runs the workload. */
async function startLocal (mode: LocalMode, dir: string): Promise<Host[]> {
  const socket = join(dir, 'many.sock')
  const location = join(dir, 'db')
  const plan: string[][] = {
    classic: [['classic', location]],
    replicator: [['replicator', location]],
    'quorum-leader': [['quorum', location]],
    'many-guest': [['many-host', location, socket], ['many-guest', location, socket]],
    'quorum-guest': [['quorum', location], ['quorum', location]]
  }[mode]
  const hosts: Host[] = []
  for (const args of plan) {
    const host = new Host(LOCAL_SCRIPT, args)
    hosts.push(host)
    const reply = await host.next(HOST_READY_MS)
    if (reply.type !== 'ready') throw new Error(`${mode} process did not start: ${JSON.stringify(reply)}`)
    if (args[0] === 'quorum' && reply.leader !== (hosts.length === 1)) throw new Error(`${mode}: process ${hosts.length} should ${hosts.length === 1 ? '' : 'not '}lead`)
  }
  return hosts
}

async function measureLocal (mode: LocalMode): Promise<LocalResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'quorum-level-bench-'))
  let hosts: Host[] = []
  try {
    hosts = await startLocal(mode, dir)
    const driver = hosts[hosts.length - 1] as Host
    await driver.ask({ type: 'run', op: 'put', count: WARMUP_OPS, inFlight: 1, valueBytes: VALUE_BYTES, prefix: 'warm' })
    const measured: LocalResult[] = []
    for (const scenario of localScenarios) {
      const cpuBefore = await Promise.all(hosts.map((host) => host.cpu()))
      const started = performance.now()
      // Gets read the keys the puts wrote.
      const reply = await driver.ask({ type: 'run', op: scenario.op, count: scenario.ops, inFlight: scenario.inFlight, valueBytes: VALUE_BYTES, prefix: 'key' })
      const elapsed = performance.now() - started
      const cpuAfter = await Promise.all(hosts.map((host) => host.cpu()))
      if (reply.type !== 'ran') throw new Error(`${mode} run failed: ${JSON.stringify(reply)}`)
      const sorted = reply.latencies.sort((a, b) => a - b)
      const cpu = cpuAfter.reduce((sum, after, i) => sum + after - (cpuBefore[i] ?? 0), 0)
      measured.push({
        scenario: `${scenario.op}, ${scenario.inFlight} in flight`,
        mode,
        opsPerSec: Math.round(scenario.ops / (elapsed / 1000)),
        p50Ms: round(percentile(sorted, 0.5)),
        p99Ms: round(percentile(sorted, 0.99)),
        cpuMicrosPerOp: Math.round(cpu / scenario.ops)
      })
    }
    return measured
  } finally {
    for (const host of hosts.reverse()) await host.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const local = new Map<LocalMode, LocalResult[]>()
for (const mode of Object.keys(BASELINE) as LocalMode[]) local.set(mode, await measureLocal(mode))
const localResults: LocalResult[] = []
for (let i = 0; i < localScenarios.length; i++) {
  for (const [mode, baseline] of Object.entries(BASELINE) as Array<[LocalMode, LocalMode | null]>) {
    const result = local.get(mode)?.[i] as LocalResult
    const base = baseline === null ? undefined : local.get(baseline)?.[i]
    if (base !== undefined) result.ratio = Math.round((result.opsPerSec / base.opsPerSec) * 1000) / 1000
    localResults.push(result)
  }
}

console.log('The local layer: 1 host, no peers, sync off (leader x classic-level, guest x many-level guest)')
console.log('scenario             | mode          |    ops/s |  p50 ms |  p99 ms | CPU us/op | x base')
console.log('---------------------|---------------|----------|---------|---------|-----------|-------')
for (const r of localResults) {
  console.log(`${r.scenario.padEnd(20)} | ${r.mode.padEnd(13)} | ${String(r.opsPerSec).padStart(8)} | ${r.p50Ms.toFixed(3).padStart(7)} | ${r.p99Ms.toFixed(3).padStart(7)} | ${String(r.cpuMicrosPerOp).padStart(9)} | ${r.ratio === undefined ? '' : r.ratio.toFixed(3)}`)
}
console.log('')
for (const r of localResults) console.log(JSON.stringify(r))
