/**
 * The batch option that names a write (SPEC §4.7): a `WriteId` under this symbol. QuorumLevel
 * sets it; the wrapped database reads it. abstract-level and its sublevels pass a batch's
 * options through to the root, and a symbol key cannot clash with a user's option.
 */
export const WRITE_ID: unique symbol = Symbol('quorum-level.writeId')
