/**
 * Where a Replicator hands QuorumLevel's leader its host's feed, unencoded, to serve to the
 * host's other processes: a symbol, so no user code reaches it by accident.
 */
export const FEED_SOURCE = Symbol('quorum-level feed source')
