/**
 * The feed part. Delivery: a change's delay from just before its put to its arrival in a
 * change feed of another process (a guest of the writing leader's host, no peers) or of
 * another host (3 hosts, one QuorumLevel process each), taken from the wall clock stamped in
 * its value, beside the put's own latency in the same run. Reading: how fast a feed made
 * `since` a position reads the backlog written after it, from the feed's memory or from
 * storage after the host's processes reopen, beside a plain classic-level iterator reading as
 * many entries (reopened too, for storage).
 */
import { join } from 'node:path'
import { ask, follow, type Process, ready, type RunCommand, startLocalMember, startQuorumHosts, stopAll, withDirectories } from './processes.js'
import { type FeedRow, ratio, spread } from './report.js'

const WARMUP_OPS = 200
const VALUE_BYTES = 100
const BACKLOG_BATCH = 1_000
const FOLLOW_MS = 300_000
/**
 * The feed keeps its newest changes in memory up to 8 MiB (src/feed/feed-log.ts), counting
 * 32 bytes, the key (with the data sublevel's `!data!`) and the value for each.
 */
const FEED_MEMORY_BYTES = 8 * 1024 * 1024
const FEED_CHANGE_BYTES = 32 + '!data!key'.length + 8 + VALUE_BYTES

export interface DeliveryScenario {
  /** Peers of the writing host: 0 for a guest of its own host, else the consumer is host B. */
  peers: 0 | 2
  /** Of a cluster; 2 is all peers. */
  minConsensus?: 1 | 2
  ops: number
}

export interface BacklogScenario {
  consumer: 'leader' | 'guest'
  /** `storage`: the host's processes reopen before reading, so the feed's memory is empty. */
  source: 'memory' | 'storage'
  entries: number
}

function deliveryName (s: DeliveryScenario): string {
  return s.peers === 0 ? 'delivery to a guest, 1 host' : `delivery to host B, 3 hosts, minConsensus ${s.minConsensus ?? 2}`
}

/** Without `consumer`, the plain read's: it serves both consumers' rows as their baseline. */
function backlogName (s: Omit<BacklogScenario, 'consumer'>, consumer?: BacklogScenario['consumer']): string {
  const name = `read ${s.entries.toLocaleString('en')} from ${s.source}`
  return consumer === undefined ? name : `${name}, ${consumer}`
}

/**
 * Starts the processes of one host, `plan` (their arguments, the leader's first), into
 * `processes`, one after another.
 */
async function startAll (plan: string[][], processes: Process[]): Promise<void> {
  for (const args of plan) {
    const process = startLocalMember(args)
    processes.push(process)
    const leader = await ready(process)
    const first = processes.length === 1
    if (args[0] === 'quorum' && leader !== first) throw new Error(`process ${processes.length} should ${first ? '' : 'not '}lead`)
  }
}

/** Empties the feed's memory (and LevelDB's): the host's processes stop and start again. */
async function reopen (plan: string[][], processes: Process[]): Promise<void> {
  await stopAll(processes.splice(0))
  await startAll(plan, processes)
}

/** The processes of a delivery scenario, started and ready: the writer first, then the consumer. */
async function startDelivery (s: DeliveryScenario, dirs: string[], processes: Process[]): Promise<[Process, Process]> {
  if (s.peers === 0) {
    const location = join(dirs[0] as string, 'db')
    await startAll([['quorum', location], ['quorum', location]], processes)
  } else {
    await startQuorumHosts(dirs, s.minConsensus ?? 2, processes)
  }
  return [processes[0] as Process, processes[1] as Process]
}

/** `count` stamped puts, one at a time, while `consumer` follows them: their latencies and delays. */
async function writeFollowed (writer: Process, consumer: Process, count: number, prefix: string): Promise<{ puts: number[], delays: number[] }> {
  const followed = await follow(consumer, { type: 'follow', since: null, prefix, count, stamped: true, ms: FOLLOW_MS })
  const { latencies } = await ask(writer, { type: 'run', op: 'put', count, inFlight: 1, valueBytes: VALUE_BYTES, prefix, stamp: true }, 'ran')
  const { delays } = await followed()
  return { puts: latencies, delays }
}

async function measureDelivery (s: DeliveryScenario): Promise<FeedRow[]> {
  return await withDirectories(s.peers + 1, async (dirs) => {
    const processes: Process[] = []
    try {
      const [writer, consumer] = await startDelivery(s, dirs, processes)
      await writeFollowed(writer, consumer, WARMUP_OPS, 'warm')
      const { puts, delays } = await writeFollowed(writer, consumer, s.ops, 'key')
      const put = spread(puts)
      const delivered = spread(delays)
      const row = (mode: string, latencies: { p50Ms: number, p99Ms: number }): FeedRow => ({ part: 'feed', scenario: deliveryName(s), mode, count: s.ops, ...latencies })
      return [row('put resolved', put), ratio(row('feed delivered', delivered), delivered.p50Ms, put.p50Ms)]
    } finally {
      await stopAll(processes)
    }
  })
}

/** The row of `entries` read in `ms`, which must be the whole backlog. */
function rate (scenario: string, mode: string, s: Omit<BacklogScenario, 'consumer'>, entries: number, ms: number): FeedRow {
  if (entries !== s.entries) throw new Error(`${scenario}, ${mode}: read ${entries} entries, expected ${s.entries}`)
  return { part: 'feed', scenario, mode, count: entries, perSec: Math.round(entries / (ms / 1000)) }
}

function backlog (entries: number): RunCommand {
  return { type: 'run', op: 'batch', batchSize: BACKLOG_BATCH, inFlight: 4, count: entries, valueBytes: VALUE_BYTES, prefix: 'key' }
}

async function measurePlainRead (s: Omit<BacklogScenario, 'consumer'>): Promise<FeedRow> {
  return await withDirectories(1, async ([dir]) => {
    const processes: Process[] = []
    const plan = [['classic', join(dir as string, 'db')]]
    try {
      await startAll(plan, processes)
      await ask(processes[0] as Process, backlog(s.entries), 'ran')
      if (s.source === 'storage') await reopen(plan, processes)
      const scanned = await ask(processes[0] as Process, { type: 'scan', prefix: 'key' }, 'scanned')
      return rate(backlogName(s), 'classic-level iterator', s, scanned.entries, scanned.ms)
    } finally {
      await stopAll(processes)
    }
  })
}

async function measureFeedRead (s: BacklogScenario): Promise<FeedRow> {
  if (s.source === 'memory' && s.entries * FEED_CHANGE_BYTES > FEED_MEMORY_BYTES) throw new Error(`${backlogName(s, s.consumer)}: a backlog this big does not fit in the feed's memory`)
  return await withDirectories(1, async ([dir]) => {
    const processes: Process[] = []
    const location = join(dir as string, 'db')
    const plan = s.consumer === 'leader' ? [['quorum', location]] : [['quorum', location], ['quorum', location]]
    try {
      await startAll(plan, processes)
      const { position } = await ask(processes[0] as Process, { type: 'position' }, 'position')
      await ask(processes[0] as Process, backlog(s.entries), 'ran')
      if (s.source === 'storage') await reopen(plan, processes)
      const consumer = processes[processes.length - 1] as Process
      // The follow fails unless it reads all `entries`.
      const followed = await ask(consumer, { type: 'follow', since: position, prefix: 'key', count: s.entries, stamped: false, ms: FOLLOW_MS }, 'followed')
      return rate(backlogName(s, s.consumer), 'feed', s, s.entries, followed.ms)
    } finally {
      await stopAll(processes)
    }
  })
}

export async function measureFeed (deliveries: DeliveryScenario[], backlogs: BacklogScenario[]): Promise<FeedRow[]> {
  const rows: FeedRow[] = []
  for (const s of deliveries) rows.push(...await measureDelivery(s))
  // A plain read is measured once per size and source, and reused.
  const plain = new Map<string, FeedRow>()
  for (const s of backlogs) {
    const key = `${s.entries} ${s.source}`
    let base = plain.get(key)
    if (base === undefined) {
      base = await measurePlainRead(s)
      plain.set(key, base)
      rows.push(base)
    }
    const read = await measureFeedRead(s)
    rows.push(ratio(read, read.perSec ?? 0, base.perSec))
  }
  return rows
}
