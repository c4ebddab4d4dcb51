/**
 * Where a Replicator hands QuorumLevel's leader its strong reads of raw keys (SPEC §14): a
 * symbol, so no user code reaches it by accident.
 */
export const READ_STRONG = Symbol('quorum-level strong read')
