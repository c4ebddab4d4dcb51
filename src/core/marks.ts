import type { AppliedBefore } from './membership.js'
import type { HostId } from './types.js'

/**
 * Which log entries of each origin a host has applied: everything up to `contiguous`, plus
 * entries applied out of order above it (`start -> last`). Marks only ever grow.
 */
export class AppliedMarks {
  readonly #contiguous = new Map<HostId, number>()
  readonly #above = new Map<HostId, Map<number, number>>()

  contiguous (origin: HostId): number {
    return this.#contiguous.get(origin) ?? 0
  }

  /** The highest sequence number applied from `origin`, in order or not. */
  highest (origin: HostId): number {
    let max = this.contiguous(origin)
    for (const last of this.#above.get(origin)?.values() ?? []) if (last > max) max = last
    return max
  }

  covers (origin: HostId, seq: number): boolean {
    if (seq <= this.contiguous(origin)) return true
    for (const [start, last] of this.#above.get(origin) ?? []) {
      if (start <= seq && seq <= last) return true
    }
    return false
  }

  /** Whether every number of `start..last` of `origin` is applied. */
  coversRange (origin: HostId, start: number, last: number): boolean {
    return this.gaps(origin, start, last).length === 0
  }

  /** The runs of `start..last` of `origin` that are not applied, in order. */
  gaps (origin: HostId, start: number, last: number): Array<[number, number]> {
    return uncovered(this.above(origin), Math.max(start, this.contiguous(origin) + 1), last)
  }

  /** The spans applied above the contiguous mark of `origin`, in order. */
  above (origin: HostId): Array<[number, number]> {
    return [...this.#above.get(origin) ?? []].sort(([a], [b]) => a - b)
  }

  /** Records that the entry `seq` of `origin` is applied. */
  add (origin: HostId, seq: number): void {
    if (this.covers(origin, seq)) return
    let above = this.#above.get(origin)
    if (above === undefined) this.#above.set(origin, above = new Map())
    // Neighbouring entries merge into one span, so out-of-order runs stay compact.
    let start = seq
    let last = seq
    const after = above.get(seq + 1)
    if (after !== undefined) {
      above.delete(seq + 1)
      last = after
    }
    for (const [from, to] of above) {
      if (to !== seq - 1) continue
      above.delete(from)
      start = from
      break
    }
    above.set(start, last)
    this.#advance(origin, above)
  }

  /** Raises the contiguous mark after a full copy that reflects everything up to `to`. */
  jump (origin: HostId, to: number): void {
    if (to <= this.contiguous(origin)) return
    this.#contiguous.set(origin, to)
    const above = this.#above.get(origin)
    if (above === undefined) return
    for (const [start, last] of above) if (last <= to) above.delete(start)
    this.#advance(origin, above)
  }

  origins (): HostId[] {
    return [...new Set([...this.#contiguous.keys(), ...this.#above.keys()])]
  }

  toRecord (): Record<HostId, number> {
    const out: Record<HostId, number> = {}
    for (const [origin, seq] of this.#contiguous) out[origin] = seq
    return out
  }

  clone (): AppliedMarks {
    const copy = new AppliedMarks()
    for (const [origin, seq] of this.#contiguous) copy.#contiguous.set(origin, seq)
    for (const [origin, above] of this.#above) copy.#above.set(origin, new Map(above))
    return copy
  }

  #advance (origin: HostId, above: Map<number, number>): void {
    let contiguous = this.contiguous(origin)
    // Each pass removes at least one span, so this ends; spans that a jump passed are
    // absorbed whole, even when the jump landed inside one.
    for (let moved = true; moved;) {
      moved = false
      for (const [start, last] of above) {
        if (start > contiguous + 1) continue
        above.delete(start)
        if (last > contiguous) contiguous = last
        moved = true
      }
    }
    this.#contiguous.set(origin, contiguous)
  }
}

/**
 * `origin`'s mark in marks as messages carry them, 0 if it has none. Own properties only: an
 * origin may be named like an Object.prototype member.
 */
export function markOf (marks: Readonly<Record<HostId, number>>, origin: HostId): number {
  return Object.hasOwn(marks, origin) ? marks[origin] ?? 0 : 0
}

/** The runs of `start..last` that none of `spans` (sorted by start) covers, in order. */
export function uncovered (spans: ReadonlyArray<readonly [number, number]>, start: number, last: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let next = start
  for (const [from, to] of spans) {
    if (next > last) break
    if (to < next) continue
    if (from > next) out.push([next, Math.min(from - 1, last)])
    next = Math.max(next, to + 1)
  }
  if (next <= last) out.push([next, last])
  return out
}

/** What `marks` have applied, as a fence answer or a vote names it; null beyond `spansMax` spans of an origin. */
export function describeApplied (marks: AppliedMarks, spansMax: number): AppliedBefore | null {
  const above: Record<HostId, ReadonlyArray<readonly [number, number]>> = {}
  for (const origin of marks.origins()) {
    const spans = marks.above(origin)
    // An answer that cannot name every span cannot be trusted to cover what it holds.
    if (spans.length > spansMax) return null
    if (spans.length > 0) Object.defineProperty(above, origin, { value: spans, enumerable: true })
  }
  return { marks: marks.toRecord(), above }
}

/** Whether `marks` cover every decision `applied` names. */
export function coversApplied (marks: AppliedMarks, applied: AppliedBefore): boolean {
  for (const [origin, contiguous] of Object.entries(applied.marks)) {
    if (contiguous > 0 && !marks.coversRange(origin, 1, contiguous)) return false
  }
  for (const [origin, spans] of Object.entries(applied.above)) {
    for (const [start, last] of spans) if (!marks.coversRange(origin, start, last)) return false
  }
  return true
}
