/**
 * The recovery part: a host that was away comes back to 3 hosts' cluster and takes what it
 * missed, from the log (catch-up, one put per entry) or, when the log no longer reaches back,
 * as a full copy (batches of 1,000 puts, a short log). Measured from the moment the returning
 * process makes its database to the moment the last key is readable there, with the receiver's
 * peak resident set; beside a plain copy of the same data between two classic-level databases.
 */
import { join } from 'node:path'
import { freePorts } from '../src/cli/free-ports.js'
import { ask, memberSetup, type Process, ready, startHost, stopAll, usage, withDirectories } from './processes.js'
import { type CopyRow, ratio, round } from './report.js'

const VALUE_BYTES = 100
const KEY_BYTES = 'key'.length + 8
const COPY_BATCH = 1_000
/** Far below the full copy's entry count, so the log cannot serve the returning host. */
const SHORT_LOG = 10

export interface RecoveryScenario {
  kind: 'catch-up' | 'full copy'
  entries: number
}

function row (s: RecoveryScenario, mode: string, ms: number, peakRssBytes: number): CopyRow {
  const megabytes = s.entries * (KEY_BYTES + VALUE_BYTES) / 1e6
  const seconds = ms / 1000
  return {
    part: 'recovery',
    scenario: `${s.kind} of ${s.entries.toLocaleString('en')} ${s.kind === 'catch-up' ? 'entries' : 'keys'}`,
    mode,
    entries: s.entries,
    megabytes: round(megabytes, 1),
    seconds: round(seconds, 2),
    entriesPerSec: Math.round(s.entries / seconds),
    megabytesPerSec: round(megabytes / seconds, 1),
    peakRssMegabytes: Math.round(peakRssBytes / 1e6)
  }
}

/** Writes the scenario's keys: one put each (catch-up) or batches (full copy). */
async function write (process: Process, s: RecoveryScenario): Promise<void> {
  const command = { type: 'run', count: s.entries, valueBytes: VALUE_BYTES, prefix: 'key' } as const
  if (s.kind === 'catch-up') await ask(process, { ...command, op: 'put', inFlight: 64 }, 'ran')
  else await ask(process, { ...command, op: 'batch', batchSize: COPY_BATCH, inFlight: 4 }, 'ran')
}

async function measurePlain (s: RecoveryScenario): Promise<CopyRow> {
  return await withDirectories(1, async ([dir]) => {
    const processes: Process[] = []
    try {
      const source = startHost({ location: join(dir as string, 'db'), replicated: false, port: 1, peers: [], sync: false })
      processes.push(source)
      await ready(source)
      await ask(source, { type: 'run', op: 'batch', batchSize: COPY_BATCH, inFlight: 4, count: s.entries, valueBytes: VALUE_BYTES, prefix: 'key' }, 'ran')
      const copied = await ask(source, { type: 'copy', location: join(dir as string, 'copy') }, 'copied')
      if (copied.entries !== s.entries) throw new Error(`plain copy: ${copied.entries} entries, expected ${s.entries}`)
      return row(s, 'plain copy', copied.ms, (await usage(source)).maxRssBytes)
    } finally {
      await stopAll(processes)
    }
  })
}

async function measureReplicated (s: RecoveryScenario): Promise<CopyRow> {
  return await withDirectories(3, async (dirs) => {
    const processes: Process[] = []
    try {
      const ports = await freePorts(3)
      // Writes go on while host 2 is away.
      const setup = memberSetup(dirs, ports, { sync: false, minConsensus: 1, ...(s.kind === 'full copy' ? { logRetention: SHORT_LOG } : {}) })
      const stayers = [startHost(setup(0)), startHost(setup(1))]
      processes.push(...stayers)
      for (const process of stayers) await ready(process)
      await write(stayers[0] as Process, s)
      const returning = startHost(setup(2))
      processes.push(returning)
      const lastKey = `key${String(s.entries - 1).padStart(8, '0')}`
      const found = await ask(returning, { type: 'await-key', key: lastKey, ms: 600_000 }, 'found')
      const counted = await ask(returning, { type: 'count', prefix: 'key' }, 'counted')
      if (counted.keys !== s.entries) throw new Error(`${s.kind}: host 2 has ${counted.keys} keys once the last is there, expected ${s.entries}`)
      return row(s, 'replicated', found.ms, (await usage(returning)).maxRssBytes)
    } finally {
      await stopAll(processes)
    }
  })
}

export async function measureRecovery (scenarios: RecoveryScenario[]): Promise<CopyRow[]> {
  const rows: CopyRow[] = []
  for (const s of scenarios) {
    const plain = await measurePlain(s)
    const replicated = await measureReplicated(s)
    rows.push(plain, ratio(replicated, replicated.entriesPerSec, plain.entriesPerSec))
  }
  return rows
}
