/**
 * Goal: the soak's flatness rule passes what only looks like growth (noise, a garbage
 * collection caught by one sample, a cache filling during the warm-up) and fails what grows
 * for good, at the soak's own tolerances and sample rates. Method: made-up series, seeded
 * noise, judged by flat.ts and by the soak's metrics.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Segment, judgeMetric, judgeSegment, median } from '../../bench/soak/flat.js'
import { METRICS } from '../../bench/soak/report.js'
import { Prng } from '../sim/prng.js'

/** A series sampled every `every` seconds for `seconds`, from `value(t)`, with ±`noise` relative noise. */
function series (seconds: number, every: number, value: (t: number) => number, noise = 0, seed = 1): Segment {
  const random = new Prng(seed)
  const points: Array<readonly [number, number]> = []
  for (let t = 0; t <= seconds; t += every) points.push([t, value(t) * (1 + noise * (2 * random.next() - 1))])
  return { label: 'made up', points, cold: false }
}

const rss = METRICS.find((metric) => metric.name === 'RSS')?.tolerance ?? assert.fail('no RSS metric')
const heap = METRICS.find((metric) => metric.name === 'V8 heap used')?.tolerance ?? assert.fail('no heap metric')
const MIB_PER_MINUTE = 1 / 60

test('median: of odd and even counts, unsorted', () => {
  assert.equal(median([3, 1, 2]), 2)
  assert.equal(median([4, 1, 3, 2]), 2.5)
  assert.throws(() => median([]), RangeError)
})

test('a flat series with 5% noise stays flat, over many seeds', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const verdict = judgeSegment(series(180, 5, () => 120, 0.05, seed), rss)
    assert.ok(verdict.judged && verdict.flat, `seed ${seed}: ${JSON.stringify(verdict)}`)
  }
})

test('growth during the warm-up third is not judged: a cache that fills, then stays full', () => {
  // From 80 to 120 MiB over the first minute of three, then flat.
  const verdict = judgeSegment(series(180, 5, (t) => 80 + 40 * Math.min(t, 60) / 60), rss)
  assert.ok(verdict.judged && verdict.flat)
})

test('one sample caught in a spike (a compaction, a collection) moves no median', () => {
  const spiky = series(180, 5, (t) => t === 170 ? 400 : 120)
  const verdict = judgeSegment(spiky, rss)
  assert.ok(verdict.judged && verdict.flat && verdict.last === 120)
})

test('a leak fails: a leader\'s heap of 20 MiB growing 6 MiB a minute, caught in 3 minutes', () => {
  const verdict = judgeSegment(series(180, 5, (t) => 20 + 6 * MIB_PER_MINUTE * t, 0.02), heap)
  assert.ok(verdict.judged && !verdict.flat, JSON.stringify(verdict))
})

test('a native leak fails too: a resident set of 140 MiB growing 40 MiB a minute, caught in 3 minutes', () => {
  const verdict = judgeSegment(series(180, 5, (t) => 140 + 40 * MIB_PER_MINUTE * t, 0.02), rss)
  assert.ok(verdict.judged && !verdict.flat, JSON.stringify(verdict))
})

test('a slower leak needs a longer soak: 1 MiB of heap a minute passes in 3 minutes, fails in 30', () => {
  const leak = (t: number): number => 20 + MIB_PER_MINUTE * t
  const short = judgeSegment(series(180, 5, leak), heap)
  assert.ok(short.judged && short.flat)
  const long = judgeSegment(series(1800, 10, leak), heap)
  assert.ok(long.judged && !long.flat, JSON.stringify(long))
})

test('a leak that starts after the warm-up fails too', () => {
  const verdict = judgeSegment(series(600, 10, (t) => t < 300 ? 120 : 120 + (t - 300) * 0.2), rss)
  assert.ok(verdict.judged && !verdict.flat)
})

test('descriptors: one leaked per 10 s over 3 minutes fails; a table file more or less passes', () => {
  const fds = METRICS.find((metric) => metric.name === 'Open descriptors')?.tolerance ?? assert.fail('no descriptor metric')
  const flatOf = (segment: Segment): boolean | null => {
    const verdict = judgeSegment(segment, fds)
    return verdict.judged ? verdict.flat : null
  }
  assert.equal(flatOf(series(180, 5, (t) => 34 + Math.floor(t / 10))), false)
  assert.equal(flatOf(series(180, 5, (t) => 34 + (t / 5) % 3)), true)
})

test('a segment too short to have three samples in each third is not judged', () => {
  const verdict = judgeSegment(series(35, 5, () => 100), rss)
  assert.equal(verdict.judged, false)
  assert.match((verdict as { reason: string }).reason, /too short/)
})

test('a segment that began cold is judged only once its warm-up third covers a leader\'s caches filling', () => {
  // A new leader's heap fills for about 4 minutes, then stays.
  const filling = (seconds: number): Segment => ({ ...series(seconds, 10, (t) => 10 + 12 * Math.min(t, 240) / 240), cold: true })
  assert.equal(judgeSegment(filling(300), heap).judged, false)
  const long = judgeSegment(filling(900), heap)
  assert.ok(long.judged && long.flat)
  // The same filling, judged as if it had begun warm, reads as growth: why cold ones wait.
  const early = judgeSegment({ ...filling(300), cold: false }, heap)
  assert.ok(early.judged && !early.flat)
})

test('a metric is flat only if every judged segment is, and is not judged without one', () => {
  const flat = series(180, 5, () => 100)
  const grows = series(180, 5, (t) => 100 + t)
  const short = series(20, 5, (t) => 100 + t)
  assert.equal(judgeMetric([flat, short], rss).outcome, 'flat')
  assert.equal(judgeMetric([flat, grows, short], rss).outcome, 'grew')
  assert.equal(judgeMetric([short], rss).outcome, 'not judged')
  assert.equal(judgeMetric([], rss).outcome, 'not judged')
})
