/**
 * One soak run: 3 hosts x 2 QuorumLevel processes under a steady load, faults on a schedule,
 * and every process and every host's database measured every few seconds. It returns what it
 * saw; judging and charting it is report.ts's job. Every process it starts is ended, and its
 * directories removed, however it ends.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Prng } from '../../test/sim/prng.js'
import { type Incarnation, SoakCluster } from './cluster.js'
import { type FaultKind, performFault, planFault } from './faults.js'
import type { FailedOp, SoakCounts, SoakLoad, SoakMemory } from './protocol.js'

interface SoakSettings {
  readonly seconds: number
  readonly sampleSeconds: number
  readonly seed: number
}

const HOSTS = 3
const PROCESSES_PER_HOST = 2
const WRITE_TIMEOUT_MS = 5_000
/**
 * The cluster's options. Retention is lowered from its defaults (100,000 log entries per
 * origin, 100,000 changes) so that the log and the feed reach their bounds within a few
 * minutes at this load: at the defaults a 30-minute soak would still be filling them, and
 * the database would grow for a reason that is not a leak.
 */
const CLUSTER_OPTIONS = {
  minConsensus: 1,
  writeTimeout: WRITE_TIMEOUT_MS,
  reconnectMsMin: 20,
  reconnectMsMax: 1_000,
  logRetention: 2_000,
  feedRetention: 5_000
}
/**
 * Each process's load: 20 writes and 20 gets a second and an iterator, on 2,000 keys. Far from
 * saturation (the cluster takes thousands of writes a second), so that a soak measures
 * steady state rather than queues.
 */
const LOAD: SoakLoad = { writesPerSec: 20, deleteShare: 0.25, readsPerSec: 20, scansPerSec: 1, scanEntries: 20, keys: 2_000, valueBytesMin: 200, valueBytesMax: 600, inFlightMax: 32 }
/**
 * After a fault ends, how long failures still count as its own: a write started during it
 * settles within writeTimeout, and peers reconnect within reconnectMsMax and recover.
 */
const SETTLE_MS = WRITE_TIMEOUT_MS + 5_000
/**
 * Writes each host's first process makes before the load, as fast as they go, so that the
 * run starts where a long one would be: more changes (27,000 at the load's mix) than the
 * feed keeps in memory (8 MiB, about 24,000 of these) or in storage (feedRetention), more
 * log entries than logRetention per origin, every key written many times. Without it, the
 * leaders' caches fill for minutes at the load's rate, and a short soak judges that filling.
 */
const PRELOAD_WRITES_PER_HOST = 9_000
const PRELOAD_IN_FLIGHT = 32
const PRELOAD_MS = 300_000
/** How long a process may take to answer a sample, or to drain its load at the end. */
const SAMPLE_MS = 3_000
const DRAIN_MS = WRITE_TIMEOUT_MS + 2_000
/** No fault starts this close to the end: the run ends on a settled cluster. */
const QUIET_END_MS = 10_000

/** One process's measure of itself. Times are seconds since the run began. */
export interface ProcessSample {
  readonly t: number
  readonly process: string
  readonly incarnation: number
  readonly leader: boolean
  readonly memory: SoakMemory
  readonly fds: number | null
}

interface HostSample {
  readonly t: number
  readonly host: string
  readonly databaseBytes: number
}

interface FaultRecord {
  readonly kind: FaultKind
  readonly host: string
  readonly from: number
  readonly to: number
  readonly note: string
}

/** A stretch of the run in which failures are expected: a fault and its settling, the start, the end. */
interface Window {
  readonly from: number
  readonly to: number
  readonly why: string
}

export interface Failure {
  readonly t: number
  readonly process: string
  readonly op: FailedOp
  readonly code: string
  readonly message: string
}

/** Something that should never happen: a crash, a process that could not open, a host that stayed leaderless. */
interface Incident {
  readonly t: number
  readonly what: string
}

export interface SoakRun {
  readonly settings: SoakSettings
  readonly load: SoakLoad
  /** Writes made before the load, across the cluster. */
  readonly preloadWrites: number
  readonly options: Record<string, unknown>
  /** When the load began (time 0), ISO 8601. */
  startedAt: string
  /** How long the load ran: the settings' duration, or less when interrupted. */
  seconds: number
  interrupted: boolean
  readonly processes: ProcessSample[]
  readonly hosts: HostSample[]
  readonly faults: FaultRecord[]
  readonly windows: Window[]
  readonly failures: Failure[]
  readonly incidents: Incident[]
  /** Samples a live process did not answer within SAMPLE_MS. */
  missedSamples: number
  /** Every process life's last counts, added up. */
  readonly counts: SoakCounts
}

/** Runs the soak for `settings.seconds`, or until `signal` aborts; then ends every process. */
export async function runSoak (settings: SoakSettings, signal: AbortSignal, progress: (line: string) => void = () => {}): Promise<SoakRun> {
  const root = await mkdtemp(join(tmpdir(), 'quorum-level-soak-'))
  // The run's clock starts once every process is open and preloaded: time 0 is when the load begins.
  let origin = performance.now()
  const clock = (): number => (performance.now() - origin) / 1000
  const run: SoakRun = {
    settings,
    load: LOAD,
    preloadWrites: PRELOAD_WRITES_PER_HOST * HOSTS,
    options: CLUSTER_OPTIONS,
    startedAt: new Date().toISOString(),
    seconds: 0,
    interrupted: false,
    processes: [],
    hosts: [],
    faults: [],
    windows: [],
    failures: [],
    incidents: [],
    missedSamples: 0,
    counts: { writes: 0, reads: 0, scans: 0, changes: 0, shed: 0, failed: 0 }
  }
  let cluster: SoakCluster | null = null
  try {
    cluster = await SoakCluster.create({
      hosts: HOSTS,
      processesPerHost: PROCESSES_PER_HOST,
      options: CLUSTER_OPTIONS,
      load: LOAD,
      // One consumer of the change feed per host: process 1, a guest unless its leader fails.
      follows: (index) => index === 1,
      onIncident: (incarnation, what) => {
        run.incidents.push({ t: clock(), what: `${incarnation.name} #${incarnation.number} ${what}` })
        progress(`incident: ${incarnation.name} #${incarnation.number} ${what}`)
      }
    }, root)
    const opened = cluster
    // Ctrl-C while the cluster starts stops the run at once; what is still starting is killed below.
    const starting = startAndPreload(opened, progress)
    starting.catch(() => {})
    await Promise.race([starting, new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }) })])
    if (!signal.aborted) await starting
    const startupSeconds = clock()
    opened.startLoad()
    origin = performance.now()
    const startedAtMs = Date.now()
    run.startedAt = new Date(startedAtMs).toISOString()
    run.windows.push({ from: -startupSeconds, to: SETTLE_MS / 1000, why: 'start' })
    if (!signal.aborted) progress(`${HOSTS} hosts x ${PROCESSES_PER_HOST} processes open and preloaded after ${startupSeconds.toFixed(1)} s`)

    const ending = AbortSignal.any([signal, AbortSignal.timeout(settings.seconds * 1000)])
    await Promise.all([
      sampleUntil(opened, run, clock, startedAtMs, ending),
      faultUntil(opened, run, clock, ending, progress)
    ])
    run.seconds = clock()
    run.interrupted = signal.aborted
    await stop(opened, run, clock)
    collectFailures(opened.incarnations, run, startedAtMs)
    for (const incarnation of opened.incarnations) {
      if (incarnation.counts === null) continue
      for (const key of Object.keys(run.counts) as Array<keyof SoakCounts>) run.counts[key] += incarnation.counts[key]
    }
    return run
  } finally {
    await cluster?.destroy()
    await rm(root, { recursive: true, force: true })
  }
}

/** Every process started at once, then the preload on each host's first process. */
async function startAndPreload (cluster: SoakCluster, progress: (line: string) => void): Promise<void> {
  await Promise.all(Array.from({ length: HOSTS * PROCESSES_PER_HOST }, async (_, i) => await cluster.start(Math.floor(i / PROCESSES_PER_HOST), i % PROCESSES_PER_HOST)))
  await Promise.all(cluster.live().filter((incarnation) => cluster.indexOf(incarnation) === 0).map(async (incarnation) => {
    const { failed } = await incarnation.child.request({ type: 'preload', writes: PRELOAD_WRITES_PER_HOST, inFlight: PRELOAD_IN_FLIGHT }, 'preloaded', undefined, PRELOAD_MS)
    if (failed > 0) progress(`${incarnation.name}: ${failed} of ${PRELOAD_WRITES_PER_HOST} preload writes failed`)
  }))
}

/** The end: no more load, every operation settled (their counts kept), every process closed. */
async function stop (cluster: SoakCluster, run: SoakRun, clock: () => number): Promise<void> {
  const from = clock()
  await Promise.all(cluster.live().map(async (incarnation) => {
    const drained = await incarnation.child.request({ type: 'drain', ms: DRAIN_MS }, 'drained', undefined, DRAIN_MS + SAMPLE_MS).catch(() => null)
    if (drained !== null) incarnation.counts = drained.counts
  }))
  await Promise.all(cluster.live().map(async (incarnation) => { await cluster.close(incarnation) }))
  run.windows.push({ from, to: clock(), why: 'stop' })
}

/** Every `sampleSeconds`, from 0: each live process's sample, then each host's database size. */
async function sampleUntil (cluster: SoakCluster, run: SoakRun, clock: () => number, startedAtMs: number, ending: AbortSignal): Promise<void> {
  const { settings } = run
  for (let round = 0; ; round++) {
    const due = round * settings.sampleSeconds
    if (due > settings.seconds) return
    await sleep(Math.max(0, (due - clock()) * 1000), undefined, { signal: ending }).catch(() => {})
    if (ending.aborted && due < settings.seconds) return
    const t = clock()
    await Promise.all(cluster.live().map(async (incarnation) => {
      const reply = await incarnation.child.request({ type: 'sample' }, 'sample', undefined, SAMPLE_MS).catch(() => null)
      if (reply === null) {
        // A process killed meanwhile has nothing to answer; a live one that stays silent is stalled.
        if (!incarnation.exited && !incarnation.ending) run.missedSamples++
        return
      }
      incarnation.counts = reply.counts
      incarnation.position = reply.position
      run.processes.push({ t, process: incarnation.name, incarnation: incarnation.number, leader: reply.leader, memory: reply.memory, fds: reply.fds })
    }))
    for (let host = 0; host < HOSTS; host++) run.hosts.push({ t, host: `h${host}`, databaseBytes: await cluster.databaseBytes(host) })
    collectFailures(cluster.incarnations, run, startedAtMs)
  }
}

/** Faults one after another, each after its delay, until the end is near (or `ending` aborts). */
async function faultUntil (cluster: SoakCluster, run: SoakRun, clock: () => number, ending: AbortSignal, progress: (line: string) => void): Promise<void> {
  const { settings } = run
  const prng = new Prng(settings.seed)
  for (let n = 0; ; n++) {
    const plan = planFault(n, prng)
    const startAt = clock() + plan.delayMs / 1000
    if (startAt > settings.seconds - QUIET_END_MS / 1000) return
    await sleep(plan.delayMs, undefined, { signal: ending }).catch(() => {})
    if (ending.aborted) return
    const from = clock()
    const outcome = await performFault(cluster, plan, ending)
    const to = clock()
    run.faults.push({ kind: plan.kind, host: `h${plan.host}`, from, to, note: outcome.note })
    run.windows.push({ from, to: to + SETTLE_MS / 1000, why: `${plan.kind} h${plan.host}` })
    for (const what of outcome.incidents) run.incidents.push({ t: to, what })
    progress(`${from.toFixed(0)} s: ${outcome.note} (${(to - from).toFixed(1)} s)`)
  }
}

/** Moves the failures each process reported since the last look into `run`, timed from the run's start. */
function collectFailures (incarnations: readonly Incarnation[], run: SoakRun, startedAtMs: number): void {
  for (const incarnation of incarnations) {
    const replies = incarnation.child.replies
    for (; incarnation.seen < replies.length; incarnation.seen++) {
      const reply = replies[incarnation.seen]
      if (reply?.type !== 'failure') continue
      run.failures.push({ t: (reply.at - startedAtMs) / 1000, process: incarnation.name, op: reply.op, code: reply.code, message: reply.message })
    }
  }
}
