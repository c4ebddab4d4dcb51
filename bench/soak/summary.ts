/** summary.md: a soak run's verdict, what it did, the rule it was judged by, and the figures behind each verdict. */
import { COLD_SEGMENT_SECONDS_MIN, SAMPLES_PER_THIRD_MIN, SEGMENT_SECONDS_MIN, type SegmentVerdict } from './flat.js'
import { type Report, explained } from './report.js'
import type { SoakRun } from './soak.js'

const number = (value: number): string => value.toLocaleString('en')
const fixed = (value: number, digits = 1): string => value.toFixed(digits)

function segmentRow (segment: SegmentVerdict, unit: string): string {
  if (!segment.judged) return `| ${segment.label} | | | | | not judged (${segment.reason}) |`
  const growth = segment.middle === 0 ? 0 : (segment.last / segment.middle - 1) * 100
  return `| ${segment.label} | ${fixed(segment.from, 0)}-${fixed(segment.to, 0)} s | ${fixed(segment.middle)} ${unit} | ${fixed(segment.last)} ${unit} (${growth >= 0 ? '+' : ''}${fixed(growth)}%) | ${fixed(segment.allowed)} ${unit} | ${segment.flat ? 'flat' : '**grew**'} |`
}

/** Failures grouped by what failed and how, split by whether a fault explains them. */
function failureRows (run: SoakRun): string[] {
  const groups = new Map<string, { explained: number, unexplained: number, message: string }>()
  for (const failure of run.failures) {
    const key = `${failure.op} | ${failure.code}`
    const group = groups.get(key) ?? { explained: 0, unexplained: 0, message: failure.message }
    if (explained(failure, run)) group.explained++
    else group.unexplained++
    groups.set(key, group)
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([key, g]) => `| ${key} | ${number(g.explained)} | ${number(g.unexplained)} | ${g.message.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 160)} |`)
}

export function summarize (run: SoakRun, report: Report): string {
  const { settings, counts, load } = run
  const perSecond = (count: number): string => fixed(count / Math.max(run.seconds, 1))
  const kinds = new Map<string, number>()
  for (const fault of run.faults) kinds.set(fault.kind, (kinds.get(fault.kind) ?? 0) + 1)
  const failuresExplained = run.failures.filter((failure) => explained(failure, run)).length
  const lines: string[] = []
  lines.push(`# Soak: ${report.problems.length === 0 ? 'passed' : 'FAILED'}`, '')
  lines.push(`Load began ${run.startedAt} and ran ${fixed(run.seconds / 60)} minutes${run.interrupted ? ' (interrupted)' : ''}: 3 hosts x 2 QuorumLevel processes on 127.0.0.1, \`minConsensus\` ${String(run.options['minConsensus'])}, a sample every ${settings.sampleSeconds} s, fault seed ${settings.seed} (\`--seed ${settings.seed}\` repeats the schedule).`, '')
  for (const { metric, verdict } of report.verdicts) {
    const judged = verdict.segments.filter((s) => s.judged)
    lines.push(`- **${metric.name}**: ${verdict.outcome} (${judged.length} of ${verdict.segments.length} segments judged${judged.length > 0 ? `, ${judged.filter((s) => s.judged && s.flat).length} flat` : ''})`)
  }
  lines.push(`- **Failures**: ${number(run.failures.length - failuresExplained)} outside every fault, ${number(failuresExplained)} during faults; ${run.incidents.length} incidents`)
  lines.push('')
  lines.push(report.problems.length === 0 ? 'Exit code 0: every metric stayed flat, and nothing failed that a fault does not explain.' : `Exit code 1: ${report.problems.join('; ')}.`)
  lines.push('')

  lines.push('## Load and faults', '')
  lines.push(`Each process offers, whatever its answers take, ${load.writesPerSec} writes a second (${fixed(load.deleteShare * 100, 0)}% deletes, values of ${load.valueBytesMin} to ${load.valueBytesMax} bytes), ${load.readsPerSec} gets and ${load.scansPerSec} iterator of ${load.scanEntries} entries, on ${number(load.keys)} keys shared by all, with at most ${load.inFlightMax} operations in flight; process 1 of each host follows the change feed. Retention is lowered so that the log and the feed reach their bounds early (\`logRetention\` ${number(run.options['logRetention'] as number)}, \`feedRetention\` ${number(run.options['feedRetention'] as number)}).`, '')
  lines.push('| | count | per second |', '| --- | --- | --- |')
  lines.push(`| writes acknowledged | ${number(counts.writes)} | ${perSecond(counts.writes)} |`)
  lines.push(`| gets answered | ${number(counts.reads)} | ${perSecond(counts.reads)} |`)
  lines.push(`| iterators read | ${number(counts.scans)} | ${perSecond(counts.scans)} |`)
  lines.push(`| changes read from feeds | ${number(counts.changes)} | ${perSecond(counts.changes)} |`)
  lines.push(`| operations failed | ${number(counts.failed)} | ${perSecond(counts.failed)} |`)
  lines.push(`| operations shed (too many in flight) | ${number(counts.shed)} | ${perSecond(counts.shed)} |`)
  lines.push('')
  lines.push('Counts are each process life\'s last sample (its drain, at the end): a process killed loses what it did since its last sample.', '')
  lines.push(`${run.faults.length} faults: ${[...kinds].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'none'}. Missed samples (a live process silent for 3 s): ${run.missedSamples}.`, '')
  if (run.faults.length > 0) {
    lines.push('| from | to | fault | what happened |', '| --- | --- | --- | --- |')
    for (const fault of run.faults) lines.push(`| ${fixed(fault.from)} s | ${fixed(fault.to)} s | ${fault.kind} ${fault.host} | ${fault.note} |`)
    lines.push('')
  }

  lines.push('## The flatness rule', '')
  lines.push('Each metric is judged in segments: stretches in which only time should change it. For a process, one life in one role (a restart, or a guest taking over as leader, starts a new segment); for a database, its host\'s whole run (the directory outlives its processes). A segment\'s first third is its warm-up and is not judged. It **stayed flat** if the median of its last third is at most the median of its middle third times (1 + r), plus a, where r and a are the metric\'s tolerance below. Memory is measured right after a full garbage collection, so the heap is what is still referenced.')
  lines.push('')
  lines.push(`Why this is fair. Before the load, a preload of ${number(run.preloadWrites)} writes fills what a long run fills (the log to \`logRetention\`, the feed to its retention and to the 8 MiB it keeps in memory, every key): segments that begin with the load begin warm, and are judged from ${SEGMENT_SECONDS_MIN} s. A process that starts, or takes over as leader, during the run begins cold and fills its caches for about 4 minutes at this load: its segment is judged only from ${COLD_SEGMENT_SECONDS_MIN} s, so that its warm-up third covers that. Host 0 is never restarted, so its processes give segments as long as the run. Medians ignore the sample that caught a compaction or a burst; a third with fewer than ${SAMPLES_PER_THIRD_MIN} samples is not judged. A leak of L per second grows the last median by L times a third of the segment: the smallest leak caught is the tolerance over a third of the run, so a longer soak catches slower leaks. A metric with no judged segment fails: the run proved nothing.`)
  lines.push('')
  lines.push('Failures are expected from the start of a fault until 10 s after its end (a write settles within `writeTimeout`, 5 s, and peers reconnect and recover), during the start and during the stop; any other is unexpected, as is any incident (a process that exits unasked or cannot open, a host without a leader for 20 s).')
  lines.push('')
  for (const { metric, verdict } of report.verdicts) {
    lines.push(`## ${metric.name}: ${verdict.outcome}`, '')
    lines.push(`Tolerance: +${fixed(metric.tolerance.relative * 100, 0)}% + ${metric.tolerance.absolute} ${metric.unit}: ${metric.why}. Chart: ${metric.file}.`, '')
    lines.push('| segment | span | median, middle third | median, last third | allowed | verdict |', '| --- | --- | --- | --- | --- | --- |')
    for (const segment of verdict.segments) lines.push(segmentRow(segment, metric.unit === 'descriptors' ? '' : metric.unit))
    lines.push('')
  }

  lines.push('## Failures', '')
  if (run.failures.length === 0) lines.push('None.', '')
  else lines.push('| op | code | during faults | outside | first message |', '| --- | --- | --- | --- | --- |', ...failureRows(run), '')
  if (run.incidents.length > 0) {
    lines.push('Incidents:', '')
    for (const incident of run.incidents) lines.push(`- ${fixed(incident.t)} s: ${incident.what}`)
    lines.push('')
  }
  return lines.join('\n')
}
