/**
 * What a soak run comes to: each metric, cut into segments and judged (flat.ts), with the
 * lines that chart it; the failures sorted into those a fault explains and the rest.
 */
import type { ChartSeries } from './chart.js'
import { type MetricVerdict, type Segment, type Tolerance, judgeMetric } from './flat.js'
import type { Failure, SoakRun } from './soak.js'

const MIB = 1024 * 1024

/** One measured quantity: where it comes from, how it is charted, and how much growth is noise. */
interface Metric {
  readonly name: string
  readonly file: string
  readonly title: string
  readonly unit: string
  readonly tolerance: Tolerance
  /** Why that much: printed in the summary beside the rule. */
  readonly why: string
  /** Its segments to judge and its lines to draw, from a run. */
  readonly segments: (run: SoakRun) => Segment[]
  readonly series: (run: SoakRun) => ChartSeries[]
}

type ProcessValue = (sample: SoakRun['processes'][number]) => number | null

function byProcessAndTime (samples: SoakRun['processes']): SoakRun['processes'] {
  return [...samples].sort((a, b) => a.process.localeCompare(b.process) || a.t - b.t)
}

/**
 * A process's samples, cut where it restarted or changed role (a guest that took over leads
 * a LevelDB of its own from then on): each stretch warms up and is judged on its own. Only
 * the first stretch of a process started before the load begins warm (the preload filled
 * its caches); whether a sample or two went missing at the start changes nothing to that.
 */
function processSegments (value: ProcessValue): (run: SoakRun) => Segment[] {
  return (run) => {
    type Stretch = { label: string, incarnation: number, leader: boolean, cold: boolean, points: Array<readonly [number, number]> }
    const stretches: Stretch[] = []
    const current = new Map<string, Stretch>()
    for (const sample of byProcessAndTime(run.processes)) {
      const v = value(sample)
      if (v === null) continue
      let stretch = current.get(sample.process)
      if (stretch === undefined || stretch.incarnation !== sample.incarnation || stretch.leader !== sample.leader) {
        const label = `${sample.process} #${sample.incarnation} ${sample.leader ? 'leader' : 'guest'} from ${Math.round(sample.t)} s`
        const cold = sample.incarnation !== 1 || stretch !== undefined
        stretch = { label, incarnation: sample.incarnation, leader: sample.leader, cold, points: [] }
        stretches.push(stretch)
        current.set(sample.process, stretch)
      }
      stretch.points.push([sample.t, v])
    }
    return stretches.map(({ label, points, cold }) => ({ label, points, cold }))
  }
}

/**
 * One line per process slot (`h1/p0`), broken where one of its lives ends and the next
 * begins, dashed while the process is a guest.
 */
function processSeries (value: ProcessValue): (run: SoakRun) => ChartSeries[] {
  return (run) => {
    const lines = new Map<string, { incarnation: number, points: Array<readonly [number, number, boolean] | null> }>()
    for (const sample of byProcessAndTime(run.processes)) {
      const v = value(sample)
      if (v === null) continue
      const line = lines.get(sample.process) ?? { incarnation: sample.incarnation, points: [] }
      if (line.incarnation !== sample.incarnation) line.points.push(null)
      line.incarnation = sample.incarnation
      line.points.push([sample.t, v, !sample.leader])
      lines.set(sample.process, line)
    }
    return [...lines].map(([name, line]) => ({ name, points: line.points }))
  }
}

function hostPoints (run: SoakRun): Map<string, Array<readonly [number, number]>> {
  const hosts = new Map<string, Array<readonly [number, number]>>()
  for (const sample of run.hosts) hosts.set(sample.host, [...hosts.get(sample.host) ?? [], [sample.t, sample.databaseBytes / MIB]])
  return hosts
}

export const METRICS: readonly Metric[] = [
  {
    name: 'RSS',
    file: 'rss.svg',
    title: 'Resident set size of each process',
    unit: 'MiB',
    tolerance: { relative: 0.15, absolute: 8 },
    why: 'a leader\'s resident set settles for minutes after the preload (V8 commits more old space while the heap in use stays flat, LevelDB fills its caches): up to 12 MiB between the middle and last thirds of 3-minute runs, level after 10 minutes; the heap and descriptors are the finer measures',
    segments: processSegments((s) => s.memory.rss / MIB),
    series: processSeries((s) => s.memory.rss / MIB)
  },
  {
    name: 'V8 heap used',
    file: 'heap.svg',
    title: 'V8 heap used by each process, after a full collection',
    unit: 'MiB',
    tolerance: { relative: 0.1, absolute: 2 },
    why: 'what a full collection leaves varies with the operations in flight at that moment, by a MiB or two at this load',
    segments: processSegments((s) => s.memory.heapUsed / MIB),
    series: processSeries((s) => s.memory.heapUsed / MIB)
  },
  {
    name: 'Open descriptors',
    file: 'fds.svg',
    title: 'Open file descriptors of each process',
    unit: 'descriptors',
    tolerance: { relative: 0.05, absolute: 2 },
    why: 'a leader holds one per LevelDB table file, and a compaction adds and removes one or two at a time',
    segments: processSegments((s) => s.fds),
    series: processSeries((s) => s.fds)
  },
  {
    name: 'Database size',
    file: 'db-size.svg',
    title: 'Size on disk of each host\'s database',
    unit: 'MiB',
    tolerance: { relative: 0.2, absolute: 4 },
    why: 'LevelDB writes new tables before it deletes the ones they replace, and its write-ahead log grows to 4 MiB before it becomes a table',
    segments: (run) => [...hostPoints(run)].map(([host, points]) => ({ label: host, points, cold: false })),
    series: (run) => [...hostPoints(run)].map(([name, points]) => ({ name, points }))
  }
]

/** Whether a failure fell inside a stretch where faults explain it. */
export function explained (failure: Failure, run: SoakRun): boolean {
  return run.windows.some((window) => failure.t >= window.from && failure.t <= window.to)
}

export interface Report {
  readonly verdicts: ReadonlyArray<{ metric: Metric, verdict: MetricVerdict }>
  /** Failures no fault explains, then incidents: anything here makes the run fail. */
  readonly unexpected: number
  /** Why the run failed, one line each; empty when it passed. */
  readonly problems: string[]
}

export function judge (run: SoakRun): Report {
  const verdicts = METRICS.map((metric) => ({ metric, verdict: judgeMetric(metric.segments(run), metric.tolerance) }))
  const unexplained = run.failures.filter((failure) => !explained(failure, run))
  const problems: string[] = []
  for (const { metric, verdict } of verdicts) {
    if (verdict.outcome === 'grew') problems.push(`${metric.name} grew: ${verdict.segments.filter((s) => s.judged && !s.flat).map((s) => s.label).join(', ')}`)
    if (verdict.outcome === 'not judged') problems.push(`${metric.name} not judged: the run was too short for any segment`)
  }
  if (unexplained.length > 0) problems.push(`${unexplained.length} failures outside every fault`)
  if (run.incidents.length > 0) problems.push(`${run.incidents.length} incidents: ${run.incidents.map((i) => i.what).join('; ')}`)
  if (run.interrupted) problems.push('interrupted before its end')
  return { verdicts, unexpected: unexplained.length + run.incidents.length, problems }
}
