/**
 * `npm run bench [-- [--quick] [cluster] [processes] [recovery] [local] [feed] [reads]]`: each figure
 * beside its baseline measured in the same run (plain classic-level, a plain many-level guest,
 * the put a change feed delivers, or a local read), as a table and as JSON lines. Absolute figures drift on
 * shared machines; the ratios are what to track. `--quick` runs every scenario with fewer
 * operations (about a minute).
 */
import { parseArgs } from 'node:util'
import { type ClusterScenario, measureCluster, measureProcessesPerHost } from './cluster.js'
import { measureFeed } from './feed.js'
import { measureLocal } from './local.js'
import { measureReads } from './reads.js'
import { measureRecovery } from './recovery.js'
import { printCopies, printFeed, printRows } from './report.js'

const PARTS = ['cluster', 'processes', 'recovery', 'local', 'feed', 'reads'] as const
type Part = typeof PARTS[number]

const HELP = `usage: npm run bench -- [--quick] [part...]

Parts (all by default):
  cluster     replicated puts on 3 and 5 hosts; 100 B, 1 KiB and 64 KiB values; sync off and on
  processes   3 hosts x 4 QuorumLevel processes, all writing
  recovery    catch-up of 100,000 log entries and a full copy of 1,000,000 keys to a returning host
  local       one host without peers: the QuorumLevel leader and a guest
  feed        change feed: delivery to a guest and to another host; backlog reads, memory and disk
  reads       strong gets and iterators beside local ones, on a host of 3

Options:
  --quick     fewer operations in every scenario (about a minute and a half in all)
  --help      this text`

function parse (): { quick: boolean, parts: Set<Part> } {
  try {
    const { values, positionals } = parseArgs({ options: { quick: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true })
    if (values.help === true) {
      console.log(HELP)
      process.exit(0)
    }
    for (const part of positionals) if (!(PARTS as readonly string[]).includes(part)) throw new Error(`unknown part '${part}' (expected ${PARTS.join(', ')})`)
    return { quick: values.quick === true, parts: new Set((positionals.length === 0 ? PARTS : positionals) as Part[]) }
  } catch (error) {
    console.error(`bench: ${(error as Error).message}; see --help`)
    process.exit(2)
  }
}

const { quick, parts } = parse()
/** Full operation counts, or a fraction of them with --quick. */
const n = (full: number, fast: number): number => quick ? fast : full

if (parts.has('cluster')) {
  const put = (hosts: number, inFlight: number, sync: boolean, valueBytes: number, full: number, fast: number): ClusterScenario => ({ hosts, inFlight, sync, valueBytes, ops: n(full, fast) })
  printRows('The cluster: replicated puts, one process per host, minConsensus = all peers (replicated x plain classic-level)', await measureCluster([
    put(3, 1, false, 100, 3_000, 300),
    put(3, 64, false, 100, 20_000, 3_000),
    put(3, 1, true, 100, 500, 100),
    put(3, 64, true, 100, 5_000, 1_000),
    put(5, 1, false, 100, 2_000, 300),
    put(5, 64, false, 100, 10_000, 2_000),
    put(3, 1, false, 1024, 2_000, 300),
    put(3, 64, false, 1024, 10_000, 2_000),
    put(3, 1, false, 65_536, 500, 100),
    put(3, 64, false, 65_536, 2_000, 300)
  ]))
}

if (parts.has('processes')) {
  printRows('Processes: every process of every host writes, sync off (quorum-level x a many-level host with 3 guests on one host)', await measureProcessesPerHost({ hosts: 3, processesPerHost: 4, inFlight: 16, ops: n(4_000, 500) }))
}

if (parts.has('recovery')) {
  printCopies('Recovery: a returning host takes what it missed (replicated x a plain copy between two classic-level databases)', await measureRecovery([
    { kind: 'catch-up', entries: n(100_000, 10_000) },
    { kind: 'full copy', entries: n(1_000_000, 100_000) }
  ]))
}

if (parts.has('local')) {
  printRows('The local layer: 1 host, no peers, sync off (leader x classic-level, guest x many-level guest)', await measureLocal([
    { op: 'put', inFlight: 1, ops: n(3_000, 500) },
    { op: 'put', inFlight: 64, ops: n(20_000, 3_000) },
    { op: 'get', inFlight: 1, ops: n(10_000, 1_000) },
    { op: 'get', inFlight: 64, ops: n(20_000, 3_000) }
  ]))
}

if (parts.has('feed')) {
  printFeed('The change feed: delivery of puts made 1 at a time, 100 B (feed delivered x put resolved, p50); reading a backlog (feed x classic-level iterator, entries/s)', await measureFeed([
    { peers: 0, ops: n(3_000, 300) },
    { peers: 2, minConsensus: 2, ops: n(3_000, 300) },
    { peers: 2, minConsensus: 1, ops: n(3_000, 300) }
  ], [
    { consumer: 'leader', source: 'memory', entries: n(40_000, 10_000) },
    { consumer: 'guest', source: 'memory', entries: n(40_000, 10_000) },
    { consumer: 'leader', source: 'storage', entries: n(100_000, 10_000) },
    { consumer: 'guest', source: 'storage', entries: n(100_000, 10_000) }
  ]))
}

if (parts.has('reads')) {
  printRows('Reads: gets of 100 B on a host that holds the data (strong x local)', await measureReads([
    { minConsensus: 1, inFlight: 1, ops: n(3_000, 300), scans: n(200, 20) },
    { minConsensus: 1, inFlight: 64, ops: n(20_000, 3_000), scans: 0 },
    { minConsensus: 2, inFlight: 1, ops: n(3_000, 300), scans: n(200, 20) }
  ]))
}
