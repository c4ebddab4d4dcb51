/**
 * `npm run bench`, in two parts, each measured beside its baseline in the same run:
 * - The cluster: replicated puts of 100-byte values on 3 hosts (one process each, real
 *   classic-level databases in temporary directories, TCP on 127.0.0.1), one at a time and
 *   64 in flight, with sync off and on, beside plain classic-level.
 * - The local layer, one host without peers: puts and gets from the QuorumLevel leader
 *   process beside plain classic-level (and a bare Replicator, the commit path alone), and
 *   from a QuorumLevel guest process beside a plain many-level guest of a many-level host.
 * `npm run bench -- cluster` or `-- local` runs one part. Prints tables and JSON lines: ops/s, p50 and p99 latency, and machine CPU time per
 * operation (all processes of the scenario). Absolute figures drift on shared machines; the
 * ratio to the baseline is what to track.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HostCommand, HostReply } from './protocol.js'
import { Child } from '../src/cli/child.js'
import { freePorts } from '../src/cli/free-ports.js'

const HOST_SCRIPT = fileURLToPath(new URL('./host.js', import.meta.url))
const LOCAL_SCRIPT = fileURLToPath(new URL('./local-member.js', import.meta.url))
const VALUE_BYTES = 100
const WARMUP_OPS = 200
const HOST_READY_MS = 20_000
const RUN_MS_MAX = 300_000

type Process = Child<HostCommand, HostReply>

/** What one timed run measured. */
interface Figures {
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  cpuMicrosPerOp: number
}

interface Row extends Figures {
  scenario: string
  mode: string
  /** ops/s divided by the baseline's, in the same scenario. */
  ratio?: number
}

/** Waits for `process` to say it is ready; whether it leads, for a QuorumLevel. */
async function ready (process: Process): Promise<boolean | undefined> {
  const reply = await process.waitFor(['ready', 'failed'], undefined, HOST_READY_MS)
  if (reply.type === 'failed') throw new Error(`benchmark process did not start: ${reply.message}`)
  return reply.leader
}

async function cpu (process: Process): Promise<number> {
  return (await process.request({ type: 'cpu' }, 'cpu')).micros
}

async function run (driver: Process, command: Extract<HostCommand, { type: 'run' }>): Promise<number[]> {
  const reply = await driver.request(command, ['ran', 'failed'], undefined, RUN_MS_MAX)
  if (reply.type === 'failed') throw new Error(`run failed: ${reply.message}`)
  return reply.latencies
}

/** Times `command` on `driver`, counting the CPU of every process of the scenario. */
async function timed (processes: Process[], driver: Process, command: Extract<HostCommand, { type: 'run' }>): Promise<Figures> {
  const cpuBefore = await Promise.all(processes.map(cpu))
  const started = performance.now()
  const latencies = await run(driver, command)
  const elapsed = performance.now() - started
  const cpuAfter = await Promise.all(processes.map(cpu))
  const sorted = latencies.sort((a, b) => a - b)
  const cpuTotal = cpuAfter.reduce((sum, after, i) => sum + after - (cpuBefore[i] ?? 0), 0)
  return {
    opsPerSec: Math.round(command.count / (elapsed / 1000)),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    cpuMicrosPerOp: Math.round(cpuTotal / command.count)
  }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
}

function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}

async function stopAll (processes: Process[]): Promise<void> {
  // The last started is a guest, or the driver: it goes first, as a user's would.
  for (const process of [...processes].reverse()) await process.stop({ type: 'close' })
}

function print (title: string, rows: Row[]): void {
  console.log(title)
  console.log('scenario                    | mode          |    ops/s |  p50 ms |  p99 ms | CPU us/op | x base')
  console.log('----------------------------|---------------|----------|---------|---------|-----------|-------')
  for (const r of rows) {
    console.log(`${r.scenario.padEnd(27)} | ${r.mode.padEnd(13)} | ${String(r.opsPerSec).padStart(8)} | ${r.p50Ms.toFixed(3).padStart(7)} | ${r.p99Ms.toFixed(3).padStart(7)} | ${String(r.cpuMicrosPerOp).padStart(9)} | ${r.ratio === undefined ? '' : r.ratio.toFixed(3)}`)
  }
  console.log('')
  for (const r of rows) console.log(JSON.stringify(r))
  console.log('')
}

function ratio (row: Row, base: Row | undefined): Row {
  return base === undefined ? row : { ...row, ratio: Math.round((row.opsPerSec / base.opsPerSec) * 1000) / 1000 }
}

// The cluster.

interface ClusterScenario { inFlight: number, sync: boolean, ops: number }

const clusterScenarios: ClusterScenario[] = [
  { inFlight: 1, sync: false, ops: 3_000 },
  { inFlight: 64, sync: false, ops: 20_000 },
  { inFlight: 1, sync: true, ops: 500 },
  { inFlight: 64, sync: true, ops: 5_000 }
]

async function measureCluster (mode: 'plain' | 'replicated', scenario: ClusterScenario): Promise<Row> {
  const dirs: string[] = []
  const processes: Process[] = []
  try {
    const count = mode === 'plain' ? 1 : 3
    const ports = await freePorts(count)
    for (let i = 0; i < count; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'quorum-level-bench-'))
      dirs.push(dir)
      const peers = JSON.stringify(ports.filter((_, j) => j !== i))
      processes.push(new Child<HostCommand, HostReply>(HOST_SCRIPT, [dir, mode, String(ports[i]), peers, String(scenario.sync)]))
    }
    // All at once: a replicated host is ready when its peers are.
    for (const process of processes) await ready(process)
    const driver = processes[0] as Process
    const command = { type: 'run', op: 'put', inFlight: scenario.inFlight, valueBytes: VALUE_BYTES } as const
    await run(driver, { ...command, count: WARMUP_OPS, prefix: 'warm' })
    const figures = await timed(processes, driver, { ...command, count: scenario.ops, prefix: 'key' })
    return { scenario: `put, ${scenario.inFlight} in flight, sync ${scenario.sync ? 'on' : 'off'}`, mode, ...figures }
  } finally {
    await stopAll(processes)
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
}

const parts = new Set(process.argv.slice(2).length === 0 ? ['cluster', 'local'] : process.argv.slice(2))

if (parts.has('cluster')) {
  const clusterRows: Row[] = []
  for (const scenario of clusterScenarios) {
    const plain = await measureCluster('plain', scenario)
    const replicated = await measureCluster('replicated', scenario)
    clusterRows.push(plain, ratio(replicated, plain))
  }
  print('The cluster: 3 hosts, puts (replicated x plain classic-level)', clusterRows)
}

// The local layer.

/** Who runs the workload in a local-layer scenario. */
type LocalMode = 'classic' | 'replicator' | 'quorum-leader' | 'many-guest' | 'quorum-guest'
/** The baseline of each mode; the replicator row shows what the commit path costs alone. */
const BASELINE: Record<LocalMode, LocalMode | null> = { classic: null, replicator: 'classic', 'quorum-leader': 'classic', 'many-guest': null, 'quorum-guest': 'many-guest' }

interface LocalScenario { op: 'put' | 'get', inFlight: number, ops: number }

const localScenarios: LocalScenario[] = [
  { op: 'put', inFlight: 1, ops: 3_000 },
  { op: 'put', inFlight: 64, ops: 20_000 },
  { op: 'get', inFlight: 1, ops: 10_000 },
  { op: 'get', inFlight: 64, ops: 20_000 }
]

/** The processes of `mode`, in start order; the last one runs the workload. */
function plan (mode: LocalMode, dir: string): string[][] {
  const socket = join(dir, 'many.sock')
  const location = join(dir, 'db')
  switch (mode) {
    case 'classic': return [['classic', location]]
    case 'replicator': return [['replicator', location]]
    case 'quorum-leader': return [['quorum', location]]
    case 'many-guest': return [['many-host', location, socket], ['many-guest', location, socket]]
    case 'quorum-guest': return [['quorum', location], ['quorum', location]]
  }
}

async function measureLocal (mode: LocalMode): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'quorum-level-bench-'))
  const processes: Process[] = []
  try {
    for (const args of plan(mode, dir)) {
      const process = new Child<HostCommand, HostReply>(LOCAL_SCRIPT, args)
      processes.push(process)
      const leader = await ready(process)
      const first = processes.length === 1
      if (args[0] === 'quorum' && leader !== first) throw new Error(`${mode}: process ${processes.length} should ${first ? '' : 'not '}lead`)
    }
    const driver = processes[processes.length - 1] as Process
    await run(driver, { type: 'run', op: 'put', count: WARMUP_OPS, inFlight: 1, valueBytes: VALUE_BYTES, prefix: 'warm' })
    const rows: Row[] = []
    for (const scenario of localScenarios) {
      // Gets read the keys the puts wrote.
      const figures = await timed(processes, driver, { type: 'run', op: scenario.op, count: scenario.ops, inFlight: scenario.inFlight, valueBytes: VALUE_BYTES, prefix: 'key' })
      rows.push({ scenario: `${scenario.op}, ${scenario.inFlight} in flight`, mode, ...figures })
    }
    return rows
  } finally {
    await stopAll(processes)
    await rm(dir, { recursive: true, force: true })
  }
}

if (parts.has('local')) {
  const modes = Object.keys(BASELINE) as LocalMode[]
  const local = new Map<LocalMode, Row[]>()
  for (const mode of modes) local.set(mode, await measureLocal(mode))
  const localRows = localScenarios.flatMap((_, i) => modes.map((mode) => {
    const baseline = BASELINE[mode]
    return ratio(local.get(mode)?.[i] as Row, baseline === null ? undefined : local.get(baseline)?.[i])
  }))
  print('The local layer: 1 host, no peers, sync off (leader x classic-level, guest x many-level guest)', localRows)
}
