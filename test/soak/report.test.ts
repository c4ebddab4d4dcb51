/**
 * Goal: a soak run is judged red when a process leaks, when something fails outside every
 * fault, or when a process crashes, and green otherwise; restarts and role changes start new
 * segments instead of reading as growth; the charts and the summary say what was judged.
 * Method: made-up runs (3 hosts x 2 processes, a sample every 5 s for 3 minutes) through
 * report.ts, chart.ts and summary.ts, with one thing broken at a time.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lineChart } from '../../bench/soak/chart.js'
import { METRICS, judge } from '../../bench/soak/report.js'
import type { ProcessSample, SoakRun } from '../../bench/soak/soak.js'
import { summarize } from '../../bench/soak/summary.js'
import { Prng } from '../sim/prng.js'

const MIB = 1024 * 1024
const SECONDS = 180
const EVERY = 5

type Shape = (t: number) => { incarnation: number, leader: boolean, rssMib: number, heapMib: number, fds: number }

/** A steady process: a leader (p0) or a guest (p1), with ±2% noise. */
const steady = (process: string): Shape => {
  const leader = process.endsWith('p0')
  return () => ({ incarnation: 1, leader, rssMib: leader ? 120 : 65, heapMib: leader ? 25 : 10, fds: leader ? 34 : 23 })
}

/** A made-up run in which each process follows `shapes[process]` (steady by default). */
function madeUpRun (shapes: Record<string, Shape> = {}): SoakRun {
  const random = new Prng(7)
  const noisy = (value: number): number => value * (1 + 0.02 * (2 * random.next() - 1))
  const processes: ProcessSample[] = []
  const hosts: SoakRun['hosts'] = []
  for (let t = 0; t <= SECONDS; t += EVERY) {
    for (const process of ['h0/p0', 'h0/p1', 'h1/p0', 'h1/p1', 'h2/p0', 'h2/p1']) {
      const { incarnation, leader, rssMib, heapMib, fds } = (shapes[process] ?? steady(process))(t)
      const memory = { rss: noisy(rssMib) * MIB, heapUsed: noisy(heapMib) * MIB, heapTotal: 2 * heapMib * MIB, external: 0, arrayBuffers: 0 }
      processes.push({ t, process, incarnation, leader, memory, fds })
    }
    for (const host of ['h0', 'h1', 'h2']) hosts.push({ t, host, databaseBytes: noisy(6) * MIB })
  }
  return {
    settings: { seconds: SECONDS, sampleSeconds: EVERY, seed: 1 },
    preloadWrites: 27_000,
    load: { writesPerSec: 20, deleteShare: 0.25, readsPerSec: 20, scansPerSec: 1, scanEntries: 20, keys: 2000, valueBytesMin: 200, valueBytesMax: 600, inFlightMax: 32 },
    options: { minConsensus: 1, logRetention: 2000, feedRetention: 5000 },
    startedAt: '2026-01-01T00:00:00.000Z',
    seconds: SECONDS,
    interrupted: false,
    processes,
    hosts,
    faults: [{ kind: 'kill-leader', host: 'h1', from: 60, to: 61, note: 'SIGKILL to leader h1/p0' }],
    windows: [{ from: -3, to: 10, why: 'start' }, { from: 60, to: 71, why: 'kill-leader h1' }, { from: SECONDS, to: SECONDS + 5, why: 'stop' }],
    failures: [{ t: 62, process: 'h1/p1', op: 'write', code: 'LEVEL_NOT_READY', message: 'not ready' }],
    incidents: [],
    missedSamples: 0,
    counts: { writes: 21_000, reads: 21_000, scans: 1_000, changes: 63_000, shed: 0, failed: 1 }
  }
}

test('a steady run with failures only during its faults passes', () => {
  const report = judge(madeUpRun())
  assert.deepEqual(report.problems, [])
  assert.equal(report.unexpected, 0)
  for (const { verdict } of report.verdicts) assert.equal(verdict.outcome, 'flat')
})

test('a leak in one process turns the run red, and names the process', () => {
  const leaking: Shape = (t) => ({ ...steady('h0/p1')(t), heapMib: 10 + t / 10 })
  const report = judge(madeUpRun({ 'h0/p1': leaking }))
  assert.equal(report.verdicts.find(({ metric }) => metric.name === 'V8 heap used')?.verdict.outcome, 'grew')
  assert.equal(report.problems.length, 1)
  assert.match(report.problems[0] as string, /^V8 heap used grew: h0\/p1 #1 guest from 0 s$/)
})

test('a growing database turns the run red', () => {
  const run = madeUpRun()
  const grown = { ...run, hosts: run.hosts.map((sample) => sample.host === 'h2' ? { ...sample, databaseBytes: (6 + sample.t / 6) * MIB } : sample) }
  assert.match(judge(grown).problems.join(), /^Database size grew: h2$/)
})

test('a restart and a takeover start new segments: their steps are not growth', () => {
  // h1/p0 leads at 120 MiB until killed at 60 s, comes back as a guest of 65 MiB; h1/p1, a
  // guest of 65 MiB, leads from then on and grows to 130 MiB as a leader's caches fill.
  const killed: Shape = (t) => t < 60 ? steady('h1/p0')(t) : { ...steady('h1/p1')(t), incarnation: 2 }
  const tookOver: Shape = (t) => t < 60 ? steady('h1/p1')(t) : { ...steady('h1/p0')(t), rssMib: 65 + 65 * Math.min(1, (t - 60) / 40) }
  const report = judge(madeUpRun({ 'h1/p0': killed, 'h1/p1': tookOver }))
  assert.deepEqual(report.problems, [])
  const rss = report.verdicts.find(({ metric }) => metric.name === 'RSS')?.verdict
  assert.deepEqual(rss?.segments.filter((s) => s.label.startsWith('h1/')).map((s) => s.label), [
    'h1/p0 #1 leader from 0 s', 'h1/p0 #2 guest from 60 s', 'h1/p1 #1 guest from 0 s', 'h1/p1 #1 leader from 60 s'
  ])
  // What began after the load did, a restart or a takeover, began cold: its caches were empty.
  for (const segment of rss?.segments.filter((s) => s.label.includes('from 60 s')) ?? []) {
    assert.match(segment.judged ? '' : segment.reason, /began cold/, segment.label)
  }
})

test('a process whose first samples went missing still began warm, with the load', () => {
  const run = madeUpRun()
  const late = { ...run, processes: run.processes.filter((s) => !(s.process.startsWith('h0/') && s.t < 10)) }
  const report = judge(late)
  assert.deepEqual(report.problems, [])
  const rss = report.verdicts.find(({ metric }) => metric.name === 'RSS')?.verdict
  assert.deepEqual(rss?.segments.filter((s) => s.label.startsWith('h0/')).map((s) => [s.label, s.judged]), [['h0/p0 #1 leader from 10 s', true], ['h0/p1 #1 guest from 10 s', true]])
})

test('a failure outside every fault, a crash or an interruption turns the run red', () => {
  const late = madeUpRun()
  late.failures.push({ t: 120, process: 'h0/p0', op: 'read', code: 'LEVEL_TIMEOUT', message: 'slow' })
  assert.deepEqual(judge(late).problems, ['1 failures outside every fault'])
  const crashed = madeUpRun()
  crashed.incidents.push({ t: 90, what: 'h2/p1 #1 exited without being asked to' })
  assert.deepEqual(judge(crashed).problems, ['1 incidents: h2/p1 #1 exited without being asked to'])
  const interrupted = { ...madeUpRun(), interrupted: true }
  assert.deepEqual(judge(interrupted).problems, ['interrupted before its end'])
})

test('a run too short to judge fails: it proved nothing', () => {
  const run = madeUpRun()
  const short = { ...run, processes: run.processes.filter((s) => s.t < 30), hosts: run.hosts.filter((s) => s.t < 30) }
  assert.equal(judge(short).problems.filter((problem) => problem.endsWith('not judged: the run was too short for any segment')).length, METRICS.length)
})

test('the summary states the verdict, the rule, the counts and each segment\'s medians', () => {
  const leaking: Shape = (t) => ({ ...steady('h2/p0')(t), rssMib: 120 + t })
  const run = madeUpRun({ 'h2/p0': leaking })
  const text = summarize(run, judge(run))
  assert.match(text, /^# Soak: FAILED\n/)
  assert.match(text, /Exit code 1: RSS grew: h2\/p0 #1 leader from 0 s\./)
  assert.match(text, /median of its last third is at most the median of its middle third/)
  assert.match(text, /\| writes acknowledged \| 21,000 \| 116\.7 \|/)
  assert.match(text, /\| h2\/p0 #1 leader from 0 s \| 0-180 s \| [\d.]+ MiB \| [\d.]+ MiB \(\+[\d.]+%\) \| [\d.]+ MiB \| \*\*grew\*\* \|/)
  assert.match(text, /\| write \| LEVEL_NOT_READY \| 1 \| 0 \| not ready \|/)
  assert.match(summarize(madeUpRun(), judge(madeUpRun())), /^# Soak: passed\n/)
})

test('a chart has a title, labelled axes, a line per unbroken stretch (dashed for a guest) and a legend entry per series', () => {
  const svg = lineChart({
    title: 'RSS <of> each process',
    xLabel: 'seconds',
    yLabel: 'MiB',
    series: [{ name: 'h0/p0', points: [[0, 10], [5, 12], null, [15, 11], [20, 11]] }, { name: 'h0/p1', points: [[0, 5], null, [10, 6, true], [15, 6, true], [20, 7]] }],
    bands: [{ from: 8, to: 9, label: 'cut h0' }],
    xMax: 20,
    dashed: 'guest'
  })
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  assert.match(svg, /<\/svg>\n$/)
  assert.match(svg, />RSS &lt;of&gt; each process</)
  assert.match(svg, />seconds</)
  assert.match(svg, />MiB</)
  // h0/p0: two stretches; h0/p1: a lone point, then a dashed stretch joined to a solid one.
  assert.equal(svg.match(/<polyline /g)?.length, 4)
  assert.equal(svg.match(/<circle /g)?.length, 1)
  assert.equal(svg.match(/<polyline [^>]*stroke-dasharray/g)?.length, 1)
  assert.match(svg, />guest</)
  assert.match(svg, />h0\/p0</)
  assert.match(svg, />h0\/p1</)
  assert.match(svg, />cut h0</)
})
