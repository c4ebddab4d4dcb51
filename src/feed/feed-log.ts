import type { HostId, Key, Op, Version } from '../core/index.js'
import { keyToBytes } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { STORE_READ } from '../storage/store-read-option.js'
import { TAG, feedKey, firstOfFeedKey, logKey, tagRange, versionKey } from '../storage/keys.js'
import { type FeedItem, decodeFeedRecord, decodeLogEntry, decodeVersion, plainBytes } from '../storage/records.js'
import { type FeedChange, type FeedSink, type StoreDatabase, firstEntry } from '../storage/store.js'

/** One change as the feed yields it, before any encoding: its number on this host, its key, its value (null: deleted). */
export interface FeedEntry {
  readonly number: number
  readonly key: Key
  readonly value: Uint8Array | null
}

/** What one read of the feed found: the changes, and the number it read through (filtered-out ones included). */
export interface FeedPage {
  readonly changes: FeedEntry[]
  readonly through: number
}

/** Which changes a read wants, after which number, and how many at most. */
export interface FeedQuery {
  readonly after: number
  readonly limit: number
  readonly bytesMax: number
  /** Keys outside it are read through but not returned. */
  readonly accepts: (key: Key) => boolean
}

/** Records kept in memory for readers that keep up: most reads then touch no storage. */
const RECENT_BYTES_MAX = 8 * 1024 * 1024
/** Changes a read steps over for one it returns, at most: bounds a read whose range matches little. */
const EXAMINED_PER_LIMIT = 64
const ENTRY_OVERHEAD_BYTES = 32
const BINARY = { keyEncoding: 'view', valueEncoding: 'view', [STORE_READ]: true } as const

interface RecentRecord {
  readonly first: number
  readonly changes: readonly FeedChange[]
}

/**
 * A host's change feed (SPEC §13): every change its apply batches wrote, numbered from 1 in
 * the order they became durable here. The store writes a record of each batch's changes
 * (keys and versions only: values are in the log, or in the data); this reads them back with
 * their values, from memory while readers keep up, from storage when they fall behind.
 * Reading never waits for the store's queue, so a reader never holds up a write.
 */
export class FeedLog implements FeedSink {
  readonly #db: StoreDatabase
  #oldest = 1
  #next = 1
  readonly #recent: RecentRecord[] = []
  #recentBytes = 0
  readonly #listeners = new Set<() => void>()

  constructor (db: StoreDatabase) {
    this.#db = db
  }

  /** The oldest change still kept and the last one recorded. */
  get bounds (): { oldest: number, last: number } {
    return { oldest: this.#oldest, last: this.last }
  }

  /** The number of the last change recorded (0: none yet). */
  get last (): number {
    return this.#next - 1
  }

  loaded (oldest: number, next: number): void {
    this.#oldest = oldest
    this.#next = next
    this.#recent.length = 0
    this.#recentBytes = 0
  }

  appended (first: number, changes: readonly FeedChange[]): void {
    this.#next = first + changes.length
    this.#recent.push({ first, changes })
    for (const [key, record] of changes) this.#recentBytes += weigh(key, record.value)
    while (this.#recentBytes > RECENT_BYTES_MAX && this.#recent.length > 1) {
      const dropped = this.#recent.shift() as RecentRecord
      for (const [key, record] of dropped.changes) this.#recentBytes -= weigh(key, record.value)
    }
    for (const listener of this.#listeners) listener()
  }

  truncated (oldest: number): void {
    this.#oldest = oldest
  }

  /** Tells every watcher to read again: the feed is closing, and reads will say so. */
  wake (): void {
    for (const listener of this.#listeners) listener()
  }

  /** Calls `listener` after each new record; returns what stops it. */
  watch (listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /**
   * The changes numbered after `query.after` that its range accepts, in order.
   * @throws {ModuleError} `LEVEL_FEED_COMPACTED` when the feed no longer reaches back to it,
   * `LEVEL_INVALID_OPTION` when it lies beyond the last change.
   */
  async read (query: FeedQuery): Promise<FeedPage> {
    const { after } = query
    if (!Number.isSafeInteger(after) || after < 0 || after > this.last) {
      throw createError(`Position ${after} is beyond this host's last change (${this.last}): it comes from another host, or from writes this host lost`, CODES.INVALID_OPTION, { expected: true })
    }
    if (after === this.last) return { changes: [], through: after }
    if (after + 1 < this.#oldest) throw compacted(after)
    const [first] = this.#recent
    if (first !== undefined && first.first <= after + 1) return this.#readRecent(query)
    return await this.#readStored(query)
  }

  #readRecent (query: FeedQuery): FeedPage {
    const page = new PageBuilder(query)
    for (const { first, changes } of this.#recent) {
      if (first + changes.length <= query.after + 1) continue
      for (let i = Math.max(0, query.after + 1 - first); i < changes.length; i++) {
        const [key, record] = changes[i] as FeedChange
        if (!page.offer(first + i, key)) {
          if (page.full) return page.done()
          continue
        }
        page.take({ number: first + i, key, value: record.value })
      }
    }
    return page.done()
  }

  async #readStored (query: FeedQuery): Promise<FeedPage> {
    const range = tagRange(TAG.feed)
    // The record that holds the first change wanted: the last one starting at or before it.
    const start = await firstEntry(this.#db.iterator({ gte: range.gte, lte: feedKey(query.after + 1), reverse: true, limit: 1, ...BINARY }))
    if (start === undefined) throw compacted(query.after)
    const page = new PageBuilder(query)
    const wanted: Array<{ number: number, item: FeedItem }> = []
    const iterator = this.#db.iterator({ gte: start[0], lt: range.lt, ...BINARY })
    try {
      let full = false
      for (let records = await iterator.nextv(16); records.length > 0 && !full; records = await iterator.nextv(16)) {
        for (const [key, value] of records) {
          const first = firstOfFeedKey(key)
          // A record deleted by retention between the two reads leaves a hole: what was asked for is gone.
          if (first > query.after + 1 && page.examined === 0) throw compacted(query.after)
          const items = decodeFeedRecord(value)
          for (let i = Math.max(0, query.after + 1 - first); i < items.length && !full; i++) {
            const item = items[i] as FeedItem
            if (!page.offer(first + i, item.key)) {
              full = page.full
              continue
            }
            wanted.push({ number: first + i, item })
            page.weigh(item.key.length + ENTRY_OVERHEAD_BYTES)
          }
          if (full) break
        }
      }
    } finally {
      await iterator.close()
    }
    const values = await this.#values(wanted.map(({ item }) => item), query.after)
    return { changes: wanted.map(({ number, item }, i) => ({ number, key: item.key, value: values[i] ?? null })), through: page.through }
  }

  /**
   * The value each change wrote: from its transaction's log entry, or, when the log no longer
   * holds it (or never did: a full copy), from the data if the key still has that version.
   */
  async #values (items: readonly FeedItem[], after: number): Promise<Array<Uint8Array | null>> {
    const transactions = new Map<string, Version>()
    for (const { version, deleted } of items) if (!deleted) transactions.set(entryName(version.origin, version.seq), version)
    const ids = [...transactions.values()]
    const stored = await this.#db.getMany(ids.map(({ origin, seq }) => logKey(origin, seq)), BINARY)
    // Per transaction, the last op on each key: what it left there. Built once per entry, so
    // a large batch costs one pass, not one per change it holds.
    const lastOps = new Map<string, Map<Key, Op>>()
    stored.forEach((bytes, i) => {
      const { origin, seq } = ids[i] as Version
      if (bytes === undefined) return
      const entry = decodeLogEntry(origin, seq, bytes)
      if (entry.kind !== 'commit') return
      const ops = new Map<Key, Op>()
      for (const op of entry.ops) ops.set(op.key, op)
      lastOps.set(entryName(origin, seq), ops)
    })
    const values: Array<Uint8Array | null | undefined> = items.map(({ key, version, deleted }) => {
      if (deleted) return null
      const op = lastOps.get(entryName(version.origin, version.seq))?.get(key)
      return op?.type === 'put' ? op.value : undefined
    })
    const missing = values.flatMap((value, i) => value === undefined ? [i] : [])
    if (missing.length === 0) return values as Array<Uint8Array | null>
    const keys = missing.map((i) => keyToBytes((items[i] as FeedItem).key))
    const data = await this.#db.getMany(keys.flatMap((key) => [key, versionKey(key)]), BINARY)
    missing.forEach((index, j) => {
      const value = data[2 * j]
      const meta = data[2 * j + 1]
      const item = items[index] as FeedItem
      const current = meta === undefined ? undefined : decodeVersion(meta)
      if (value === undefined || current === undefined || current.deleted || !sameVersion(current.version, item.version)) throw compacted(after)
      values[index] = plainBytes(value)
    })
    return values as Array<Uint8Array | null>
  }
}

/** Collects one page within its limits, and says how far it read. */
class PageBuilder {
  readonly #query: FeedQuery
  readonly #changes: FeedEntry[] = []
  #through: number
  #bytes = 0
  #count = 0
  examined = 0

  constructor (query: FeedQuery) {
    this.#query = query
    this.#through = query.after
  }

  get through (): number {
    return this.#through
  }

  /** Whether the page takes nothing more. */
  get full (): boolean {
    const { limit, bytesMax } = this.#query
    return this.#count >= limit || (this.#count > 0 && this.#bytes >= bytesMax) || this.examined >= Math.max(1, limit) * EXAMINED_PER_LIMIT
  }

  /** Whether change `number` is to be returned: false once the page is full, or when its key is outside the range (it is read through). */
  offer (number: number, key: Key): boolean {
    if (this.full) return false
    this.examined++
    this.#through = number
    if (!this.#query.accepts(key)) return false
    this.#count++
    return true
  }

  weigh (bytes: number): void {
    this.#bytes += bytes
  }

  take (entry: FeedEntry): void {
    this.#changes.push(entry)
    this.#bytes += weigh(entry.key, entry.value)
  }

  done (): FeedPage {
    return { changes: this.#changes, through: this.#through }
  }
}

function weigh (key: Key, value: Uint8Array | null): number {
  return ENTRY_OVERHEAD_BYTES + key.length + (value?.byteLength ?? 0)
}

function sameVersion (a: Version, b: Version): boolean {
  return a.ts === b.ts && a.origin === b.origin && a.seq === b.seq
}

function entryName (origin: HostId, seq: number): string {
  return `${seq}#${origin}`
}

function compacted (after: number): Error {
  return createError(`The change feed no longer reaches back to position ${after}: read the database again, then follow changes from lastPosition()`, CODES.FEED_COMPACTED, { expected: true })
}
