/**
 * The read option that marks the store's own reads of the database it shares with the user:
 * they go through the wrapped read methods, which hold the user's local reads while a full
 * copy is applied (SPEC §6.3), and must not wait for the very copy they apply. A string, not
 * a symbol: abstract-level 1 rebuilds an iterator's options from their string keys alone.
 */
export const STORE_READ = 'quorum-level.storeRead'
