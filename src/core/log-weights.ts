import type { HostId } from './types.js'

/** One origin's entries held in the log: those from the floor on, by seq, and those above a gap. */
interface OriginWeights {
  /** The seq of `bytes[0]`. */
  base: number
  /** Weights of the entries from `base` on, contiguous; those before `head` are cut. */
  bytes: number[]
  head: number
  /** The weight of `bytes` from `head` on. */
  kept: number
  /** Weights of entries above the contiguous run, until it reaches them. */
  readonly above: Map<number, number>
}

/**
 * The weight (`entryBytes`) of every log entry a host holds, per origin, so that the log can
 * be cut by bytes as well as by count (SPEC §6.4). Amortized O(1) per entry: the entries at or
 * below an origin's contiguous mark form a run that only grows at its end and is cut at its
 * start.
 */
export class LogWeights {
  readonly #origins = new Map<HostId, OriginWeights>()

  /** An entry written to the log. */
  add (origin: HostId, seq: number, bytes: number): void {
    const weights = this.#of(origin)
    const index = seq - weights.base
    if (index < weights.head) return
    if (index < weights.bytes.length) {
      weights.kept += bytes - (weights.bytes[index] ?? 0)
      weights.bytes[index] = bytes
      return
    }
    weights.above.set(seq, bytes)
  }

  /**
   * The first seq to keep, from `floor` on, so that the entries from it through `contiguous`
   * weigh at most `max` in all; the newest entry is always kept.
   */
  cut (origin: HostId, floor: number, contiguous: number, max: number): number {
    const weights = this.#of(origin)
    this.#dropBelow(weights, floor)
    for (let seq = weights.base + weights.bytes.length; seq <= contiguous; seq++) {
      const bytes = weights.above.get(seq) ?? 0
      weights.above.delete(seq)
      weights.bytes.push(bytes)
      weights.kept += bytes
    }
    while (weights.kept > max && weights.bytes.length - weights.head > 1) {
      weights.kept -= weights.bytes[weights.head] ?? 0
      weights.head++
    }
    return weights.base + weights.head
  }

  /** The entries below `before` were deleted. */
  truncate (origin: HostId, before: number): void {
    this.#dropBelow(this.#of(origin), before)
  }

  #dropBelow (weights: OriginWeights, before: number): void {
    if (before > weights.base + weights.bytes.length) {
      // Past the whole run (a full copy jumped the marks): it starts again there.
      weights.base = before
      weights.bytes = []
      weights.head = 0
      weights.kept = 0
    }
    while (weights.base + weights.head < before) {
      weights.kept -= weights.bytes[weights.head] ?? 0
      weights.head++
    }
    for (const seq of weights.above.keys()) if (seq < before) weights.above.delete(seq)
    // Cut entries are let go of in bulk, once they are most of the array.
    if (weights.head > 1024 && weights.head * 2 > weights.bytes.length) {
      weights.bytes = weights.bytes.slice(weights.head)
      weights.base += weights.head
      weights.head = 0
    }
  }

  #of (origin: HostId): OriginWeights {
    let weights = this.#origins.get(origin)
    if (weights === undefined) {
      weights = { base: 1, bytes: [], head: 0, kept: 0, above: new Map() }
      this.#origins.set(origin, weights)
    }
    return weights
  }
}
