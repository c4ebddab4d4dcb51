/**
 * `npm run soak -- [--minutes N] [--out dir] [--sample-seconds S] [--seed N]`: 3 hosts x 2
 * QuorumLevel processes under a steady load and a schedule of faults, each process's memory
 * and descriptors and each host's database size sampled as it runs; charts, samples and a
 * summary go to `--out`. Exit code 0 when every metric stayed flat and nothing failed that a
 * fault does not explain, 1 otherwise, 2 for bad options.
 */
import { parseArgs } from 'node:util'
import { writeReport } from './output.js'
import { judge } from './report.js'
import { runSoak } from './soak.js'

const HELP = `usage: npm run soak -- [--minutes N] [--out dir] [--sample-seconds S] [--seed N]

Runs 3 hosts x 2 QuorumLevel processes on 127.0.0.1 under a steady load (writes, deletes,
gets, iterators, change feeds) while it kills leaders, cuts hosts off and restarts hosts,
and samples each process's RSS, V8 heap and open descriptors and each host's database size.
Writes rss.svg, heap.svg, fds.svg, db-size.svg, samples.json and summary.md to the output
directory; exits 0 when every metric stayed flat and every failure came during a fault.

Options:
  --minutes N          how long the load runs, after the processes open (default 30; 0.5 is 30 s)
  --out dir            where the charts and the summary go (default soak-report)
  --sample-seconds S   time between samples (default 10)
  --seed N             the fault schedule's seed (default: a random one, printed)
  --help               this text`

interface Options {
  minutes: number
  out: string
  sampleSeconds: number
  seed: number
}

function positive (text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not '${text}'`)
  return value
}

function parse (): Options {
  try {
    const { values } = parseArgs({
      options: {
        minutes: { type: 'string' },
        out: { type: 'string' },
        'sample-seconds': { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean' }
      }
    })
    if (values.help === true) {
      console.log(HELP)
      process.exit(0)
    }
    const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed)
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number, not '${values.seed ?? ''}'`)
    return {
      minutes: positive(values.minutes, '--minutes', 30),
      out: values.out ?? 'soak-report',
      sampleSeconds: positive(values['sample-seconds'], '--sample-seconds', 10),
      seed
    }
  } catch (error) {
    // parseArgs explains some mistakes over several lines: one line here, as every error.
    console.error(`soak: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}; see --help`)
    process.exit(2)
  }
}

const options = parse()
const controller = new AbortController()
// Ctrl-C ends the run early: its processes are stopped and what it measured is still written.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { controller.abort() })

console.log(`soak: ${options.minutes} minutes, a sample every ${options.sampleSeconds} s, seed ${options.seed}, into ${options.out}`)
try {
  const run = await runSoak({ seconds: options.minutes * 60, sampleSeconds: options.sampleSeconds, seed: options.seed }, controller.signal, (line) => { console.log(`soak: ${line}`) })
  const report = judge(run)
  await writeReport(run, report, options.out)
  for (const { metric, verdict } of report.verdicts) console.log(`soak: ${metric.name}: ${verdict.outcome}`)
  console.log(`soak: ${run.counts.writes} writes, ${run.counts.reads} gets, ${run.counts.scans} iterators, ${run.counts.changes} feed changes, ${run.faults.length} faults, ${run.failures.length} failures (${report.unexpected} unexpected)`)
  if (report.problems.length > 0) {
    console.log(`soak: FAILED: ${report.problems.join('; ')}`)
    process.exitCode = 1
  } else {
    console.log(`soak: passed; see ${options.out}/summary.md`)
  }
} catch (error) {
  console.error(`soak: ${(error as Error).stack ?? String(error)}`)
  process.exitCode = 1
}
