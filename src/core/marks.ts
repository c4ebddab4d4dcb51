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

  /** Records that the entry `start..last` of `origin` is applied. */
  add (origin: HostId, start: number, last: number): void {
    if (last <= this.contiguous(origin)) return
    let above = this.#above.get(origin)
    if (above === undefined) this.#above.set(origin, above = new Map())
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
    for (let last = above.get(contiguous + 1); last !== undefined; last = above.get(contiguous + 1)) {
      above.delete(contiguous + 1)
      contiguous = last
    }
    // An entry wholly below the mark (after a jump) is already reflected.
    for (const [start, last] of above) if (last <= contiguous) above.delete(start)
    this.#contiguous.set(origin, contiguous)
  }
}
