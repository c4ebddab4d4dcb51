/**
 * The local part, one host without peers, sync off: puts and gets from the QuorumLevel leader
 * process beside plain classic-level (and a bare Replicator, the commit path alone), and from
 * a QuorumLevel guest process beside a plain many-level guest of a many-level host.
 */
import { join } from 'node:path'
import { type Process, ready, startLocalMember, stopAll, timed, withDirectories } from './processes.js'
import { type Row, ratio } from './report.js'

const WARMUP_OPS = 200
const VALUE_BYTES = 100

/** Who runs the workload in a local scenario. */
type LocalMode = 'classic' | 'replicator' | 'quorum-leader' | 'many-guest' | 'quorum-guest'
/** The baseline of each mode; the replicator row shows what the commit path costs alone. */
const BASELINE: Record<LocalMode, LocalMode | null> = { classic: null, replicator: 'classic', 'quorum-leader': 'classic', 'many-guest': null, 'quorum-guest': 'many-guest' }

export interface LocalScenario { op: 'put' | 'get', inFlight: number, ops: number }

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

async function measureMode (mode: LocalMode, scenarios: LocalScenario[]): Promise<Row[]> {
  return await withDirectories(1, async ([dir]) => {
    const processes: Process[] = []
    try {
      for (const args of plan(mode, dir as string)) {
        const process = startLocalMember(args)
        processes.push(process)
        const leader = await ready(process)
        const first = processes.length === 1
        if (args[0] === 'quorum' && leader !== first) throw new Error(`${mode}: process ${processes.length} should ${first ? '' : 'not '}lead`)
      }
      const driver = processes[processes.length - 1] as Process
      await timed(processes, [driver], { type: 'run', op: 'put', count: WARMUP_OPS, inFlight: 1, valueBytes: VALUE_BYTES, prefix: 'warm' })
      const rows: Row[] = []
      for (const s of scenarios) {
        // Gets read the keys the puts wrote.
        const measured = await timed(processes, [driver], { type: 'run', op: s.op, count: s.ops, inFlight: s.inFlight, valueBytes: VALUE_BYTES, prefix: 'key' })
        rows.push({ part: 'local', scenario: `${s.op} 100 B, ${s.inFlight === 1 ? '1 at a time' : `${s.inFlight} in flight`}`, mode, ...measured })
      }
      return rows
    } finally {
      await stopAll(processes)
    }
  })
}

export async function measureLocal (scenarios: LocalScenario[]): Promise<Row[]> {
  const modes = Object.keys(BASELINE) as LocalMode[]
  const measured = new Map<LocalMode, Row[]>()
  for (const mode of modes) measured.set(mode, await measureMode(mode, scenarios))
  return scenarios.flatMap((_, i) => modes.map((mode) => {
    const row = measured.get(mode)?.[i] as Row
    const baseline = BASELINE[mode]
    return ratio(row, row.opsPerSec, baseline === null ? undefined : measured.get(baseline)?.[i]?.opsPerSec)
  }))
}
