import type { Key } from './types.js'

/**
 * Exclusive key locks, owned by transactions. No-wait: an attempt to take a key that another
 * transaction holds fails at once instead of queueing, so no cycle of waiters can form.
 */
export class LockTable {
  readonly #owners = new Map<Key, string>()

  /** Takes every key for `owner`, or none of them if any is held by another owner. */
  tryAcquire (owner: string, keys: Iterable<Key>): boolean {
    const wanted = [...new Set(keys)]
    for (const key of wanted) {
      const holder = this.#owners.get(key)
      if (holder !== undefined && holder !== owner) return false
    }
    for (const key of wanted) this.#owners.set(key, owner)
    return true
  }

  release (owner: string, keys: Iterable<Key>): void {
    for (const key of keys) {
      if (this.#owners.get(key) === owner) this.#owners.delete(key)
    }
  }

  get size (): number {
    return this.#owners.size
  }
}
