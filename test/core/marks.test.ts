/**
 * Goal: AppliedMarks answers exactly like the obvious set of applied sequence numbers.
 * Method: property test against a naive twin over random adds and jumps (a jump may land
 * inside a run applied out of order), checking every query after every step.
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
    for (let step = 0; step < 40; step++) {
      if (random.chance(0.1)) {
        const to = random.int(1, 40)
        marks.jump('o', to)
        for (let seq = 1; seq <= to; seq++) applied.add(seq)
      } else {
        const seq = random.int(1, 40)
        marks.add('o', seq)
        applied.add(seq)
      }
      let contiguous = 0
      while (applied.has(contiguous + 1)) contiguous++
      const at = `seed ${seed} step ${step}`
      assert.equal(marks.contiguous('o'), contiguous, at)
      assert.equal(marks.highest('o'), Math.max(0, ...applied), at)
      for (let seq = 1; seq <= 42; seq++) assert.equal(marks.covers('o', seq), applied.has(seq), `${at} seq ${seq}`)
      const gaps: Array<[number, number]> = []
      for (let seq = 1; seq <= 42; seq++) {
        if (applied.has(seq)) continue
        const last = gaps[gaps.length - 1]
        if (last !== undefined && last[1] === seq - 1) last[1] = seq
        else gaps.push([seq, seq])
      }
      assert.deepEqual(marks.gaps('o', 1, 42), gaps, at)
      assert.equal(marks.coversRange('o', 1, contiguous), true, at)
      assert.equal(marks.clone().contiguous('o'), contiguous)
    }
  }
})

test('marks of different origins are independent', () => {
  const marks = new AppliedMarks()
  marks.add('a', 1)
  marks.add('b', 2)
  assert.equal(marks.contiguous('a'), 1)
  assert.equal(marks.contiguous('b'), 0)
  assert.equal(marks.covers('b', 2), true)
  assert.deepEqual(marks.above('b'), [[2, 2]])
  assert.deepEqual(marks.toRecord(), { a: 1, b: 0 })
})
