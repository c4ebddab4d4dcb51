import type { Key } from './types.js'

/**
 * Exclusive key locks, owned by transactions. No-wait: an attempt to take a key that another
 * transaction holds fails at once instead of queueing, so no cycle of waiters can form.
 */
export class LockTable {
  readonly #owners = new Map<Key, Set<string>>()

  /** Takes every key for `owner`, or none of them if any is held by another owner. */
  tryAcquire (owner: string, keys: Iterable<Key>): boolean {
    const wanted = [...new Set(keys)]
    for (const key of wanted) {
      const holders = this.#owners.get(key)
      if (holders !== undefined && (holders.size > 1 || !holders.has(owner))) return false
    }
    this.#add(owner, wanted)
    return true
  }

  /**
   * Takes the keys even if others hold them. Only for prepare records reloaded after a
   * crash: a decided transaction's record may still overlap a later one (SPEC §4.3).
   */
  restore (owner: string, keys: Iterable<Key>): void {
    this.#add(owner, keys)
  }

  release (owner: string, keys: Iterable<Key>): void {
    for (const key of keys) {
      const holders = this.#owners.get(key)
      if (holders === undefined) continue
      holders.delete(owner)
      if (holders.size === 0) this.#owners.delete(key)
    }
  }

  /** Who holds `key`, if anyone. */
  holders (key: Key): ReadonlySet<string> | undefined {
    return this.#owners.get(key)
  }

  /** Every key held by anyone. */
  keys (): IterableIterator<Key> {
    return this.#owners.keys()
  }

  /** How many keys are held. */
  get size (): number {
    return this.#owners.size
  }

  #add (owner: string, keys: Iterable<Key>): void {
    for (const key of keys) {
      const holders = this.#owners.get(key)
      if (holders === undefined) this.#owners.set(key, new Set([owner]))
      else holders.add(owner)
    }
  }
}
