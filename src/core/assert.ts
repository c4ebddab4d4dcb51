/**
 * Core invariants fail loudly: a broken invariant is a bug in quorum-level, never a
 * condition to recover from, and the simulator reports the seed that reached it.
 */
export function assert (condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`quorum-level core invariant violated: ${message}`)
}
