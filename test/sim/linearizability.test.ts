/**
 * Goal: the register linearizability checker accepts exactly the linearizable histories and
 * decides realistic ones quickly. Method: hand-made histories for each rule (real time, register
 * semantics, pending and optional writes); thousands of seeded random small histories compared
 * with a brute-force oracle that tries every order of every allowed subset; larger histories
 * made linearizable by construction (a real register with a linearization point inside each op).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type RegisterOp, checkRegister, checkRegisters } from './linearizability.js'

/** mulberry32: a tiny seeded PRNG, so every generated history can be replayed from its seed. */
function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Random {
  int: (min: number, max: number) => number
  chance: (p: number) => boolean
  pick: <T>(items: readonly T[]) => T
}

function random (seed: number): Random {
  const next = mulberry32(seed)
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1))
  return {
    int,
    chance: (p) => next() < p,
    pick: (items) => {
      const item = items[int(0, items.length - 1)]
      if (item === undefined) throw new RangeError('pick from an empty list')
      return item
    }
  }
}

function w (value: string | null, invoke: number, response: number, extra: Partial<RegisterOp> = {}): RegisterOp {
  return { kind: 'write', value, invoke, response, ...extra }
}

function r (value: string | null, invoke: number, response: number, extra: Partial<RegisterOp> = {}): RegisterOp {
  return { kind: 'read', value, invoke, response, ...extra }
}

/**
 * The definition, checked exhaustively: every subset of the optional writes, every order of the
 * chosen ops, each prefix checked against real time and register semantics as it grows (a bad
 * prefix has no good extension, so cutting there changes no answer). No shortcut is shared
 * with the checker.
 */
function bruteForce (initial: string | null, ops: readonly RegisterOp[]): boolean {
  const required = ops.filter((op) => op.optional !== true)
  const optional = ops.filter((op) => op.optional === true)
  for (let mask = 0; mask < 2 ** optional.length; mask++) {
    const chosen = [...required, ...optional.filter((_, bit) => (mask & (1 << bit)) !== 0)]
    if (someOrder(chosen, new Array<boolean>(chosen.length).fill(false), [], initial)) return true
  }
  return false
}

function someOrder (ops: readonly RegisterOp[], used: boolean[], sequence: RegisterOp[], held: string | null): boolean {
  if (sequence.length === ops.length) return true
  return ops.some((op, index) => {
    if (used[index] === true) return false
    // Real time: nothing already placed may have begun after this op ended.
    if (sequence.some((earlier) => op.response < earlier.invoke)) return false
    if (op.kind === 'read' && op.value !== held) return false
    used[index] = true
    sequence.push(op)
    const found = someOrder(ops, used, sequence, op.kind === 'write' ? op.value : held)
    sequence.pop()
    used[index] = false
    return found
  })
}

function randomSmallHistory (rand: Random): { initial: string | null, ops: RegisterOp[] } {
  const initial = rand.pick([null, 'a'])
  const ops: RegisterOp[] = []
  const count = rand.int(0, 6)
  for (let index = 0; index < count; index++) {
    const invoke = rand.int(0, 10)
    const response = rand.chance(0.15) ? Infinity : invoke + rand.int(0, 5)
    if (rand.chance(0.5)) ops.push(w(rand.pick(['a', 'b', 'c', 'c', null]), invoke, response, { optional: rand.chance(0.25) }))
    else ops.push(r(rand.pick([null, 'a', 'b', 'c']), invoke, response))
  }
  return { initial, ops }
}

/**
 * Two values written over and over: every read has several possible sources, which defeats the
 * checks made before the search, so this is where the search itself most often has to say no.
 */
function twoValuedHistory (rand: Random): { initial: string | null, ops: RegisterOp[] } {
  const initial = rand.pick([null, 'a'])
  const ops: RegisterOp[] = []
  const count = rand.int(1, 8)
  for (let index = 0; index < count; index++) {
    const invoke = rand.int(0, 12)
    const response = rand.chance(0.1) ? Infinity : invoke + rand.int(0, 3)
    if (rand.chance(0.5)) ops.push(w(rand.pick(['a', null]), invoke, response, { optional: rand.chance(0.3) }))
    else ops.push(r(rand.pick(['a', null]), invoke, response))
  }
  return { initial, ops }
}

/** Like randomSmallHistory, but a real register run with one disturbance, so near the boundary. */
function disturbedHistory (rand: Random): { initial: string | null, ops: RegisterOp[] } {
  const { initial, ops } = linearizableHistory(rand, rand.int(1, 7), 8, 4, ['a', 'b', null])
  const index = rand.int(0, ops.length - 1)
  const op = ops[index]!
  if (op.kind === 'read') ops[index] = { ...op, value: rand.pick(['a', 'b', null]) }
  else {
    const shift = rand.int(1, 6)
    ops[index] = { ...op, invoke: op.invoke + shift, response: op.response + shift }
  }
  return { initial, ops }
}

/**
 * A real register run: each op takes effect at a point inside its interval (a pending op, some
 * time after its invoke; an optional write, maybe never), and reads return what it then held.
 */
function linearizableHistory (rand: Random, count: number, spread: number, lengthMax: number, values?: ReadonlyArray<string | null>): { initial: string | null, ops: RegisterOp[] } {
  const initial = rand.pick([null, 'v-init'])
  const drafts = []
  for (let index = 0; index < count; index++) {
    const invoke = rand.int(0, spread)
    const pending = rand.chance(0.08)
    const response = pending ? Infinity : invoke + rand.int(0, lengthMax)
    // Points are fractional so that they never tie and sit strictly inside [invoke, response].
    const point = invoke + (pending ? rand.int(0, 2 * lengthMax) : rand.int(0, 1000) / 1000 * (response - invoke))
    const isWrite = rand.chance(0.5)
    const optional = isWrite && rand.chance(0.15)
    const takesEffect = !optional || rand.chance(0.5)
    // A few repeated values, so that the checker cannot lean on unique writes.
    const value = values !== undefined ? rand.pick(values) : rand.chance(0.1) ? rand.pick([null, 'v-dup']) : `v${index}`
    drafts.push({ index, invoke, response, point, isWrite, optional, takesEffect, value })
  }
  const byPoint = [...drafts].sort((a, b) => a.point - b.point || a.index - b.index)
  const seen = new Map<number, string | null>()
  let held = initial
  for (const draft of byPoint) {
    if (!draft.isWrite) seen.set(draft.index, held)
    else if (draft.takesEffect) held = draft.value
  }
  const ops = drafts.map((draft): RegisterOp => draft.isWrite
    ? w(draft.value, draft.invoke, draft.response, { optional: draft.optional, label: `op${draft.index}` })
    : r(seen.get(draft.index) ?? null, draft.invoke, draft.response, { label: `op${draft.index}` }))
  return { initial, ops }
}

test('a sequential history is linearizable, and an empty one too', () => {
  assert.deepEqual(checkRegister(null, [w('a', 0, 1), r('a', 2, 3), w('b', 4, 5), r('b', 6, 7)]), { ok: true })
  assert.deepEqual(checkRegister('x', []), { ok: true })
})

test('a read concurrent with a write may see either value, but no third one', () => {
  assert.deepEqual(checkRegister('a', [w('b', 0, 10), r('a', 1, 2)]), { ok: true })
  assert.deepEqual(checkRegister('a', [w('b', 0, 10), r('b', 1, 2)]), { ok: true })
  assert.equal(checkRegister('a', [w('b', 0, 10), r('c', 1, 2)]).ok, false)
})

test('a stale read after a completed write is not linearizable', () => {
  assert.equal(checkRegister(null, [w('a', 0, 1), r(null, 2, 3)]).ok, false)
  // Touching intervals are concurrent: only a strictly earlier response orders two ops.
  assert.deepEqual(checkRegister(null, [w('a', 0, 2), r(null, 2, 3)]), { ok: true })
})

test('two reads that disagree with their real-time order are not linearizable', () => {
  assert.equal(checkRegister(null, [w('1', 0, 10), r('1', 1, 2), r(null, 3, 4)]).ok, false)
  assert.deepEqual(checkRegister(null, [w('1', 0, 10), r(null, 1, 2), r('1', 3, 4)]), { ok: true })
})

test('a pending write may take effect at any time after its invoke, but only once', () => {
  assert.deepEqual(checkRegister(null, [w('a', 0, Infinity), r('a', 5, 6)]), { ok: true })
  assert.deepEqual(checkRegister(null, [w('a', 0, Infinity), r(null, 5, 6), r('a', 7, 8)]), { ok: true })
  assert.equal(checkRegister(null, [w('a', 0, Infinity), r('a', 5, 6), r(null, 7, 8)]).ok, false)
  assert.equal(checkRegister(null, [r('a', 0, 1), w('a', 2, Infinity)]).ok, false)
  // A pending write that nobody saw still took effect, and may do so after everything else.
  assert.deepEqual(checkRegister(null, [w('a', 0, Infinity), w('b', 1, 2), r('b', 3, 4)]), { ok: true })
})

test('a pending read must still be ordered after its invoke', () => {
  assert.deepEqual(checkRegister(null, [r('a', 0, Infinity), w('a', 5, 6)]), { ok: true })
  assert.equal(checkRegister(null, [w('a', 0, 1), r(null, 2, Infinity)]).ok, false)
})

test('an optional write may be left out, or seen', () => {
  assert.deepEqual(checkRegister(null, [w('a', 0, 1, { optional: true }), r(null, 2, 3)]), { ok: true })
  assert.deepEqual(checkRegister(null, [w('a', 0, 1, { optional: true }), r('a', 2, 3)]), { ok: true })
  assert.deepEqual(checkRegister(null, [w('a', 0, 1, { optional: true })]), { ok: true })
  // Seen means it took effect inside its interval: never after a read that began after it ended.
  assert.equal(checkRegister(null, [w('a', 0, 1, { optional: true }), r(null, 2, 3), r('a', 4, 5)]).ok, false)
  // Left out, it holds nothing back that its real-time order would otherwise force.
  assert.deepEqual(checkRegister(null, [w('a', 0, 1, { optional: true }), w('b', 2, 3), r('b', 4, 5), w('c', 6, 7, { optional: true }), r('b', 8, 9)]), { ok: true })
})

test('a required write that nobody saw is fine once overwritten', () => {
  assert.deepEqual(checkRegister(null, [w('a', 0, 1), w('b', 2, 3), r('b', 4, 5)]), { ok: true })
})

test('reads of null from the initial state', () => {
  assert.deepEqual(checkRegister(null, [r(null, 0, 1), r(null, 0, 2), r(null, 5, 6)]), { ok: true })
  assert.equal(checkRegister('x', [r(null, 0, 1)]).ok, false)
  // A write of null is a delete.
  assert.deepEqual(checkRegister('x', [w(null, 0, 1), r(null, 2, 3)]), { ok: true })
})

test('a read of the first of two writes ordered in real time, after both, is not linearizable', () => {
  assert.equal(checkRegister(null, [w('a', 0, 1), w('b', 2, 3), r('a', 4, 5)]).ok, false)
})

test('repeated values are told apart by their position, not their value', () => {
  assert.deepEqual(checkRegister(null, [w('a', 0, 1), w('b', 2, 3), w('a', 4, 5), r('a', 6, 7)]), { ok: true })
  assert.deepEqual(checkRegister('a', [r('a', 0, 1), w('a', 2, 3), r('a', 4, 5)]), { ok: true })
})

test('a failure found by search names the longest prefix, what it left and the ops left, with labels', () => {
  const result = checkRegister('a', [
    w('c', 4, Infinity, { label: 'req-1' }), r('c', 6, 9, { label: 'req-2' }), w('c', 9, 10, { optional: true, label: 'req-3' }), r('a', 10, 14, { label: 'req-4' })
  ])
  assert.ok(result.ok === false)
  assert.match(result.message, /orders 1 of 4 ops \(write\("c"\) \[4, ∞\) req-1\) and leaves the register at "c"/)
  assert.match(result.message, /after it, read\("a"\) \[10, 14\] req-4 can no longer read its value/)
  assert.match(result.message, /the 3 ops left .*write\("c"\) \[9, 10\] optional req-3/)
})

test('two runs that real time forbids in both orders are named before any search', () => {
  const result = checkRegister(null, [w('1', 0, 10, { label: 'req-1' }), r('1', 1, 2, { label: 'req-2' }), r(null, 3, 4, { label: 'req-3' })])
  assert.ok(result.ok === false)
  assert.match(result.message, /the initial value null with the read that can only have read it and write\("1"\) \[0, 10\] req-1 with the read that can only have read it cannot be ordered/)
  assert.match(result.message, /read\("1"\) \[1, 2\] req-2 ended before read\(null\) \[3, 4\] req-3 began/)
})

test('a read no write could have produced is named before any search', () => {
  const result = checkRegister(null, [w('a', 0, 1), w('b', 2, 3), r('a', 4, 5, { label: 'req-3' })])
  assert.ok(result.ok === false)
  assert.match(result.message, /read\("a"\) \[4, 5\] req-3 cannot have read any write/)
})

test('the step budget turns a long search into unknown', () => {
  const result = checkRegister(null, [w('a', 0, 1), r('a', 2, 3)], { stepsMax: 1 })
  assert.equal(result.ok, 'unknown')
})

test('ops with a response before their invoke are refused', () => {
  assert.throws(() => checkRegister(null, [r(null, 3, 2)]), RangeError)
  assert.throws(() => checkRegister(null, [r(null, Infinity, Infinity)]), RangeError)
})

const families = [
  { name: 'random', generate: randomSmallHistory, seeds: 3000, rejectedBySearchMin: 1 },
  { name: 'two-valued', generate: twoValuedHistory, seeds: 6000, rejectedBySearchMin: 20 },
  { name: 'disturbed', generate: disturbedHistory, seeds: 3000, rejectedBySearchMin: 0 }
] as const

for (const { name, generate, seeds, rejectedBySearchMin } of families) {
  test(`${seeds} ${name} small histories: the checker agrees with a brute-force oracle`, (t) => {
    const counts = { linearizable: 0, rejectedUpFront: 0, rejectedBySearch: 0 }
    for (let seed = 1; seed <= seeds; seed++) {
      const { initial, ops } = generate(random(seed))
      const expected = bruteForce(initial, ops)
      const result = checkRegister(initial, ops)
      assert.equal(result.ok, expected, `seed ${seed}: ${JSON.stringify({ initial, ops })} ${result.ok === true ? '' : result.message}`)
      // The op order given to the checker must not matter.
      assert.equal(checkRegister(initial, [...ops].reverse()).ok, expected, `seed ${seed}, reversed`)
      if (result.ok === true) counts.linearizable++
      else if (/longest linearizable prefix/.test(result.message)) counts.rejectedBySearch++
      else counts.rejectedUpFront++
    }
    t.diagnostic(JSON.stringify(counts))
    // Marks: each way to answer was exercised often enough to mean something.
    assert.ok(counts.linearizable > seeds / 5, JSON.stringify(counts))
    assert.ok(counts.rejectedUpFront > seeds / 5, JSON.stringify(counts))
    assert.ok(counts.rejectedBySearch >= rejectedBySearchMin, JSON.stringify(counts))
  })
}

test('histories linearizable by construction, up to 40 ops, are accepted', () => {
  for (let seed = 1; seed <= 500; seed++) {
    const rand = random(seed)
    const { initial, ops } = linearizableHistory(rand, rand.int(1, 40), rand.int(5, 60), rand.int(0, 15))
    const result = checkRegister(initial, ops)
    assert.equal(result.ok, true, `seed ${seed}: ${result.ok === true ? '' : result.message}`)
  }
})

test('300 heavily overlapping ops on one key are decided well within the budget', () => {
  // About 40 ops in flight at any instant; a tenth of the default budget must do.
  for (let seed = 1; seed <= 20; seed++) {
    const { initial, ops } = linearizableHistory(random(seed), 300, 150, 40)
    const result = checkRegister(initial, ops, { stepsMax: 100_000 })
    assert.notEqual(result.ok, 'unknown', `seed ${seed}`)
    assert.equal(result.ok, true, `seed ${seed}`)
  }
})

test('checkRegisters names the failing key, and prefers a failure to an unknown', () => {
  const good = { initial: null, ops: [w('a', 0, 1), r('a', 2, 3)] }
  const bad = { initial: null, ops: [w('a', 0, 1), r(null, 2, 3)] }
  const long = { initial: null, ops: [w('a', 0, 1), r('a', 2, 3), r('a', 4, 5)] }
  assert.deepEqual(checkRegisters(new Map([['x', good], ['y', good]])), { ok: true })
  const result = checkRegisters(new Map([['x', good], ['y', bad], ['z', bad]]))
  assert.ok(result.ok === false)
  assert.match(result.message, /^key "y": not linearizable/)
  const mixed = checkRegisters(new Map([['x', long], ['y', bad]]), { stepsMax: 2 })
  assert.ok(mixed.ok === false)
  assert.match(mixed.message, /^key "y"/)
  const unknown = checkRegisters(new Map([['x', good], ['y', long]]), { stepsMax: 2 })
  assert.ok(unknown.ok === 'unknown')
  assert.match(unknown.message, /^key "y"/)
})
