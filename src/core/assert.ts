/**
 * Invariants fail loudly: a broken invariant is a bug in quorum-level, never bad input and
 * never a condition to recover from. In the core, the simulator reports the seed that
 * reached it; the adapters assert their own invariants with the same function.
 */
export function assert (condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`quorum-level invariant violated: ${message}`)
}
