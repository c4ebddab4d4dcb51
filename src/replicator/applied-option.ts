import type { Change } from '../core/index.js'

/**
 * The Replicator option that hands other hosts' changes, once durable here, to a function as
 * well as announcing them on the database: a QuorumLevel leader relays them to every process
 * of its host. A symbol key cannot clash with a user's option.
 */
export const ON_APPLIED: unique symbol = Symbol('quorum-level.onApplied')

export type AppliedListener = (changes: readonly Change[]) => void
