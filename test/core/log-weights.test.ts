/**
 * Goal: the log is cut by bytes exactly where the newest entries through the contiguous mark
 * first weigh more than the limit, whatever order entries arrive in, across truncations and
 * jumps. Method: a seeded comparison of LogWeights with a naive sum over a plain map.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LogWeights } from '../../src/core/log-weights.js'
import { Prng } from '../sim/prng.js'

/** The first seq to keep by the naive rule: from the newest down while the sum fits, the newest always. */
function naiveCut (entries: ReadonlyMap<number, number>, floor: number, contiguous: number, max: number): number {
  let kept = 0
  let first = contiguous + 1
  for (let seq = contiguous; seq >= floor; seq--) {
    const bytes = entries.get(seq) ?? 0
    if (seq < contiguous && kept + bytes > max) break
    kept += bytes
    first = seq
  }
  return Math.max(first, floor)
}

test('LogWeights cuts where a naive sum does, over 200 seeded runs', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = new Prng(seed)
    const weights = new LogWeights()
    const entries = new Map<number, number>()
    let floor = 1
    let contiguous = 0
    let highest = 0
    for (let step = 0; step < 300; step++) {
      const roll = random.next()
      if (roll < 0.6) {
        // Mostly the next entries, some out of order above the contiguous run.
        const seq = contiguous + random.int(1, 4)
        const bytes = random.int(32, 400)
        if (seq >= floor && !entries.has(seq)) {
          entries.set(seq, bytes)
          weights.add('a', seq, bytes)
        }
        highest = Math.max(highest, seq)
        while (entries.has(contiguous + 1)) contiguous++
      } else if (roll < 0.95) {
        const max = random.int(0, 2_000)
        const cut = weights.cut('a', floor, contiguous, max)
        assert.equal(cut, naiveCut(entries, floor, contiguous, max), `seed ${seed} step ${step}`)
        if (cut > floor) {
          floor = cut
          weights.truncate('a', cut)
          for (const seq of [...entries.keys()]) if (seq < cut) entries.delete(seq)
        }
      } else {
        // A full copy: the marks jump past everything, and the log starts after them.
        contiguous = Math.max(contiguous, highest) + random.int(0, 5)
        floor = contiguous + 1
        weights.truncate('a', floor)
        entries.clear()
      }
    }
  }
})
