/** Writes a judged soak run to a directory: a chart per metric, every sample, and summary.md. */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { lineChart } from './chart.js'
import { METRICS, type Report } from './report.js'
import type { SoakRun } from './soak.js'
import { summarize } from './summary.js'

export async function writeReport (run: SoakRun, report: Report, out: string): Promise<void> {
  await mkdir(out, { recursive: true })
  const bands = run.faults.map((fault) => ({ from: fault.from, to: fault.to, label: `${fault.kind} ${fault.host}` }))
  for (const metric of METRICS) {
    const svg = lineChart({ title: metric.title, xLabel: 'seconds since the load began', yLabel: metric.unit, series: metric.series(run), bands, xMax: run.seconds, dashed: 'guest' })
    await writeFile(join(out, metric.file), svg)
  }
  await writeFile(join(out, 'samples.json'), JSON.stringify(run, null, 1) + '\n')
  await writeFile(join(out, 'summary.md'), summarize(run, report))
}
