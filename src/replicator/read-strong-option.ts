/**
 * Where a Replicator hands QuorumLevel's leader its strong reads of raw keys and its fences
 * (SPEC §14): symbols, so no user code reaches them by accident.
 */
export const READ_STRONG = Symbol('quorum-level strong read')
export const FENCE = Symbol('quorum-level fence')
