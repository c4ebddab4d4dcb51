/**
 * The reads part: what a strong read (README, Read consistency) costs beside a local one, on
 * a host that holds the data: 3 hosts, one QuorumLevel process each, host A writes, host B
 * reads back the same keys, one at a time, locally and then with `consistency: 'strong'`.
 */
import { ask, type Process, startQuorumHosts, stopAll, timed, usage, withDirectories } from './processes.js'
import { type Row, figures, ratio } from './report.js'

const VALUE_BYTES = 100
const WARMUP_OPS = 200

export interface ReadsScenario {
  /** Of 3 hosts: 1 and 2 are both majorities. */
  minConsensus: 1 | 2
  inFlight: number
  ops: number
  /** Iterators over 100 of the keys, one after another, this many of each kind. */
  scans: number
}

const SCAN_KEYS = 100

const HOLD_MS_MAX = 60_000

async function holdsAll (process: Process, keys: number): Promise<void> {
  const deadline = performance.now() + HOLD_MS_MAX
  for (let attempt = 0; attempt < HOLD_MS_MAX / 50; attempt++) {
    if ((await ask(process, { type: 'count', prefix: 'key' }, 'counted')).keys === keys) return
    if (performance.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`host B did not hold all ${keys} keys within ${HOLD_MS_MAX} ms`)
}

async function measureScenario (s: ReadsScenario): Promise<Row[]> {
  return await withDirectories(3, async (dirs) => {
    const processes: Process[] = []
    try {
      await startQuorumHosts(dirs, s.minConsensus, processes)
      const [writer, reader] = processes as [Process, Process]
      // As timed() names them for its first writer: the reader's gets, timed the same way, read them.
      await timed(processes, [writer], { type: 'run', op: 'batch', batchSize: 100, inFlight: 4, count: s.ops, valueBytes: VALUE_BYTES, prefix: 'key' })
      // B holds them all before it reads, so that both reads find every key (it may apply them
      // in any order: each batch needs one peer, not B).
      await holdsAll(reader, s.ops)
      await timed(processes, [reader], { type: 'run', op: 'get', count: WARMUP_OPS, inFlight: 1, valueBytes: VALUE_BYTES, prefix: 'key', strong: true })
      const scenario = `get 100 B on host B, 3 hosts, minConsensus ${s.minConsensus}, ${s.inFlight === 1 ? '1 at a time' : `${s.inFlight} in flight`}`
      const local = await timed(processes, [reader], { type: 'run', op: 'get', count: s.ops, inFlight: s.inFlight, valueBytes: VALUE_BYTES, prefix: 'key' })
      const strong = await timed(processes, [reader], { type: 'run', op: 'get', count: s.ops, inFlight: s.inFlight, valueBytes: VALUE_BYTES, prefix: 'key', strong: true })
      const localRow: Row = { part: 'reads', scenario, mode: 'local', ...local }
      const strongRow: Row = { part: 'reads', scenario, mode: 'strong', ...strong }
      const rows = [localRow, ratio(strongRow, strong.opsPerSec, local.opsPerSec)]
      if (s.scans === 0) return rows
      const scanned = async (strongScan: boolean): Promise<Row> => {
        const cpuBefore = await Promise.all(processes.map(usage))
        const started = performance.now()
        const latencies: number[] = []
        for (let i = 0; i < s.scans; i++) {
          // The keys timed() wrote, 100 at a time: `key0-` then 8 digits.
          const { ms, entries } = await ask(reader, { type: 'scan', prefix: `key0-${String(i % Math.floor(s.ops / SCAN_KEYS)).padStart(6, '0')}`, strong: strongScan }, 'scanned')
          if (entries !== SCAN_KEYS) throw new Error(`a scan read ${entries} entries, not ${SCAN_KEYS}`)
          latencies.push(ms)
        }
        const elapsed = performance.now() - started
        const cpuAfter = await Promise.all(processes.map(usage))
        const cpu = cpuAfter.reduce((sum, after, i) => sum + after.cpuMicros - (cpuBefore[i]?.cpuMicros ?? 0), 0)
        return { part: 'reads', scenario: `iterator over ${SCAN_KEYS} keys on host B, 3 hosts, minConsensus ${s.minConsensus}, 1 at a time`, mode: strongScan ? 'strong' : 'local', ...figures(latencies, s.scans, elapsed, cpu) }
      }
      const localScan = await scanned(false)
      const strongScan = await scanned(true)
      return [...rows, localScan, ratio(strongScan, strongScan.opsPerSec, localScan.opsPerSec)]
    } finally {
      await stopAll(processes)
    }
  })
}

export async function measureReads (scenarios: ReadsScenario[]): Promise<Row[]> {
  const rows: Row[] = []
  for (const s of scenarios) rows.push(...await measureScenario(s))
  return rows
}
