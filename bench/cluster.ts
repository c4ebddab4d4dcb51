/**
 * The cluster part: replicated puts on 3 or 5 hosts (one process each, a Replicator over
 * classic-level, TCP on 127.0.0.1, `minConsensus` = all peers) beside plain classic-level;
 * and 3 hosts of 4 QuorumLevel processes each, all writing, beside one many-level host and
 * three many-level guests.
 */
import { join } from 'node:path'
import { freePorts } from '../src/cli/free-ports.js'
import { type Process, quorumMember, ready, startHost, startLocalMember, stopAll, timed, withDirectories } from './processes.js'
import { type Row, ratio } from './report.js'

const WARMUP_OPS = 200

export interface ClusterScenario {
  hosts: number
  inFlight: number
  sync: boolean
  valueBytes: number
  ops: number
}

export interface ProcessesScenario {
  hosts: number
  processesPerHost: number
  /** In flight in each process. */
  inFlight: number
  /** Puts per process. */
  ops: number
}

function bytes (n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`
}

function name (s: ClusterScenario): string {
  return `put ${bytes(s.valueBytes)}, ${s.inFlight === 1 ? '1 at a time' : `${s.inFlight} in flight`}, sync ${s.sync ? 'on' : 'off'}`
}

async function measureHosts (replicated: boolean, s: ClusterScenario): Promise<Row> {
  const count = replicated ? s.hosts : 1
  return await withDirectories(count, async (dirs) => {
    const processes: Process[] = []
    try {
      const ports = await freePorts(count)
      for (let i = 0; i < count; i++) {
        processes.push(startHost({ location: dirs[i] as string, replicated, port: ports[i] as number, peers: ports.filter((_, j) => j !== i), sync: s.sync }))
      }
      // All at once: a replicated host is ready when its peers are.
      for (const process of processes) await ready(process)
      const driver = processes[0] as Process
      const command = { type: 'run', op: 'put', inFlight: s.inFlight, valueBytes: s.valueBytes } as const
      await timed(processes, [driver], { ...command, count: WARMUP_OPS, prefix: 'warm' })
      const measured = await timed(processes, [driver], { ...command, count: s.ops, prefix: 'key' })
      return { part: 'cluster', scenario: `${name(s)}, ${s.hosts} hosts`, mode: replicated ? 'replicated' : 'plain', ...measured }
    } finally {
      await stopAll(processes)
    }
  })
}

/** Rows of every scenario; a plain baseline is measured once per kind of put and reused. */
export async function measureCluster (scenarios: ClusterScenario[]): Promise<Row[]> {
  const rows: Row[] = []
  const plain = new Map<string, Row>()
  for (const s of scenarios) {
    let base = plain.get(name(s))
    if (base === undefined) {
      base = await measureHosts(false, s)
      plain.set(name(s), base)
      rows.push({ ...base, scenario: name(s) })
    }
    const replicated = await measureHosts(true, s)
    rows.push(ratio(replicated, replicated.opsPerSec, base.opsPerSec))
  }
  return rows
}

/** Every process writes `ops` puts of 100 bytes, `inFlight` at a time, sync off. */
async function measureProcesses (replicated: boolean, s: ProcessesScenario): Promise<Row> {
  const hosts = replicated ? s.hosts : 1
  return await withDirectories(hosts, async (dirs) => {
    const processes: Process[] = []
    try {
      const ports = await freePorts(hosts)
      const members = (h: number): string[][] => {
        const dir = dirs[h] as string
        const location = join(dir, 'db')
        if (!replicated) {
          const socket = join(dir, 'many.sock')
          return [['many-host', location, socket], ...Array.from({ length: s.processesPerHost - 1 }, () => ['many-guest', location, socket])]
        }
        return Array.from({ length: s.processesPerHost }, () => quorumMember(dir, ports, h))
      }
      // Leaders first, on every host at once; then their guests.
      const plans = Array.from({ length: hosts }, (_, h) => members(h))
      for (let rank = 0; rank < s.processesPerHost; rank++) {
        const started = plans.map((plan) => startLocalMember(plan[rank] as string[]))
        processes.push(...started)
        const leads = await Promise.all(started.map(ready))
        if (replicated && leads.some((leader) => leader !== (rank === 0))) throw new Error(`process ${rank} of a host should ${rank === 0 ? '' : 'not '}lead`)
      }
      const command = { type: 'run', op: 'put', inFlight: s.inFlight, valueBytes: 100 } as const
      await timed(processes, processes, { ...command, count: WARMUP_OPS / 4, prefix: 'warm' })
      const measured = await timed(processes, processes, { ...command, count: s.ops, prefix: 'key' })
      const scenario = `put 100 B, ${s.processesPerHost} processes x ${s.inFlight} in flight`
      return { part: 'cluster', scenario: replicated ? `${scenario}, ${s.hosts} hosts` : scenario, mode: replicated ? 'quorum-level' : 'many-level', ...measured }
    } finally {
      await stopAll(processes)
    }
  })
}

export async function measureProcessesPerHost (s: ProcessesScenario): Promise<Row[]> {
  const plain = await measureProcesses(false, s)
  const replicated = await measureProcesses(true, s)
  return [plain, ratio(replicated, replicated.opsPerSec, plain.opsPerSec)]
}
