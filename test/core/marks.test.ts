/**
 * Goal: AppliedMarks answers exactly like the obvious set of applied sequence numbers.
 * Method: property test against a naive twin over random spans, jumps and queries.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AppliedMarks } from '../../src/core/marks.js'
import { Prng } from '../sim/prng.js'

test('marks agree with a naive set of applied numbers', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const random = new Prng(seed)
    const marks = new AppliedMarks()
    const applied = new Set<number>()
    // Entries tile the sequence space, as an origin's log does: spans of 1 to 3 numbers.
    const spans: Array<[number, number]> = []
    for (let seq = 1; seq <= 40;) {
      const last = seq + random.int(0, 2)
      spans.push([seq, last])
      seq = last + 1
    }
    for (let step = 0; step < 30; step++) {
      if (random.chance(0.1)) {
        const [, to] = random.pick(spans)
        marks.jump('o', to)
        for (let seq = 1; seq <= to; seq++) applied.add(seq)
      } else {
        const [start, last] = random.pick(spans)
        marks.add('o', start, last)
        for (let seq = start; seq <= last; seq++) applied.add(seq)
      }
      let contiguous = 0
      while (applied.has(contiguous + 1)) contiguous++
      assert.equal(marks.contiguous('o'), contiguous, `seed ${seed} step ${step}`)
      assert.equal(marks.highest('o'), Math.max(0, ...applied), `seed ${seed} step ${step}`)
      for (let seq = 1; seq <= 42; seq++) assert.equal(marks.covers('o', seq), applied.has(seq), `seed ${seed} seq ${seq}`)
      assert.equal(marks.clone().contiguous('o'), contiguous)
    }
  }
})

test('marks of different origins are independent', () => {
  const marks = new AppliedMarks()
  marks.add('a', 1, 1)
  marks.add('b', 2, 2)
  assert.equal(marks.contiguous('a'), 1)
  assert.equal(marks.contiguous('b'), 0)
  assert.equal(marks.covers('b', 2), true)
  assert.deepEqual(marks.toRecord(), { a: 1, b: 0 })
})
