/** Figures of the benchmark, and how they are printed: a table for people, JSON lines for tools. */

/** What one timed run of operations measured. */
export interface Figures {
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  /** Machine CPU (every process of the scenario) per operation. */
  cpuMicrosPerOp: number
}

export interface Row extends Figures {
  part: string
  scenario: string
  mode: string
  /** ops/s divided by the baseline's, in the same scenario and run. */
  ratio?: number
}

/** What copying a database to a host that lacks it measured. */
export interface CopyRow {
  part: 'recovery'
  scenario: string
  mode: string
  entries: number
  /** Keys and values, as the user wrote them. */
  megabytes: number
  seconds: number
  entriesPerSec: number
  megabytesPerSec: number
  /** Peak resident set of the receiving process. */
  peakRssMegabytes: number
  ratio?: number
}

/**
 * What the change feed measured: latencies (a put's, or a change's from just before its put to
 * its delivery), or a read rate (changes, or a plain iterator's entries, per second).
 */
export interface FeedRow {
  part: 'feed'
  scenario: string
  mode: string
  /** Puts, changes or entries measured. */
  count: number
  p50Ms?: number
  p99Ms?: number
  perSec?: number
  /** p50 over the baseline's p50 (latencies), or rate over the baseline's rate (reads). */
  ratio?: number
}

export function figures (latencies: number[], count: number, elapsedMs: number, cpuMicros: number): Figures {
  return {
    opsPerSec: Math.round(count / (elapsedMs / 1000)),
    ...spread(latencies),
    cpuMicrosPerOp: Math.round(cpuMicros / count)
  }
}

/** The median and 99th percentile of `latencies`, in milliseconds. */
export function spread (latencies: number[]): { p50Ms: number, p99Ms: number } {
  const sorted = [...latencies].sort((a, b) => a - b)
  return { p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)) }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
}

export function round (value: number, digits = 3): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

export function ratio<T extends { ratio?: number }> (row: T, value: number, base: number | undefined): T {
  return base === undefined || base === 0 ? row : { ...row, ratio: round(value / base) }
}

export function printRows (title: string, rows: Row[]): void {
  console.log(title)
  console.log('scenario                                         | mode          |    ops/s |  p50 ms |  p99 ms | CPU us/op | x base')
  console.log('-------------------------------------------------|---------------|----------|---------|---------|-----------|-------')
  for (const r of rows) {
    console.log(`${r.scenario.padEnd(48)} | ${r.mode.padEnd(13)} | ${String(r.opsPerSec).padStart(8)} | ${r.p50Ms.toFixed(3).padStart(7)} | ${r.p99Ms.toFixed(3).padStart(7)} | ${String(r.cpuMicrosPerOp).padStart(9)} | ${r.ratio === undefined ? '' : r.ratio.toFixed(3)}`)
  }
  printJson(rows)
}

export function printCopies (title: string, rows: CopyRow[]): void {
  console.log(title)
  console.log('scenario                                         | mode          |   entries |      s |  entries/s |   MB/s | peak RSS MB | x base')
  console.log('-------------------------------------------------|---------------|-----------|--------|------------|--------|-------------|-------')
  for (const r of rows) {
    console.log(`${r.scenario.padEnd(48)} | ${r.mode.padEnd(13)} | ${String(r.entries).padStart(9)} | ${r.seconds.toFixed(2).padStart(6)} | ${String(r.entriesPerSec).padStart(10)} | ${r.megabytesPerSec.toFixed(1).padStart(6)} | ${String(r.peakRssMegabytes).padStart(11)} | ${r.ratio === undefined ? '' : r.ratio.toFixed(3)}`)
  }
  printJson(rows)
}

export function printFeed (title: string, rows: FeedRow[]): void {
  const figure = (value: number | undefined, digits: number, width: number): string => (value === undefined ? '' : value.toFixed(digits)).padStart(width)
  console.log(title)
  console.log('scenario                                         | mode                   |   count |  p50 ms |  p99 ms |     per s | x base')
  console.log('-------------------------------------------------|------------------------|---------|---------|---------|-----------|-------')
  for (const r of rows) {
    console.log(`${r.scenario.padEnd(48)} | ${r.mode.padEnd(22)} | ${String(r.count).padStart(7)} | ${figure(r.p50Ms, 3, 7)} | ${figure(r.p99Ms, 3, 7)} | ${figure(r.perSec, 0, 9)} | ${figure(r.ratio, 3, 0)}`)
  }
  printJson(rows)
}

function printJson (rows: object[]): void {
  console.log('')
  for (const row of rows) console.log(JSON.stringify(row))
  console.log('')
}
