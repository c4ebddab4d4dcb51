import type { DataRecord, DurableState, FailedRun, HostId, Key, KeyRange as UserKeyRange, LogEntry, LogRange, Membership, Op, Query, QueryResult, StorageWrite, Version, WriterRecord } from '../core/index.js'
import { bytesToKey, entryBytes, inRange, keyToBytes, recordBytes, takeWithinBytes } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { STORE_READ } from './store-read-option.js'
import {
  SEQ_MAX, TAG, assertUserKey, clockKey, copyKey, feedKey, horizonKey, membershipKey, firstOfFeedKey, floorKey, hostIdKey, isReservedKey, logKey, markKey, originOfKey, originRange,
  parseSequencedKey, prepareKey, reservedSeqKey, stagedKey, tagRange, userKeyOf, versionKey, writerFailedKey, writerKey
} from './keys.js'
import type { KeyRange } from './keys.js'
import {
  decodeCopyProgress, decodeFeedRecord, decodeStaged, encodeCopyProgress, encodeFeedRecord, encodeStaged, decodeLogEntry, decodeMembership, decodeNumber, encodeMembership, decodePrepare, decodeString, decodeVersion, decodeWriterCommitted, decodeWriterFailed,
  encodeLogEntry, encodeNumber, encodePrepare, encodeString, encodeVersion, encodeWriterCommitted, encodeWriterFailed, plainBytes
} from './records.js'

/** One operation of a raw batch: bytes in, bytes out, no encodings. */
export type RawOp =
  | { type: 'put', key: Uint8Array, value: Uint8Array }
  | { type: 'del', key: Uint8Array }

/**
 * Writes one atomic batch to the database underneath the user's encodings. Injected
 * because the Replicator wraps the db's own `put/del/batch` to replicate user writes;
 * the store's writes are already agreed and must bypass that wrapper.
 */
export type RawBatch = (ops: RawOp[], options: { sync: boolean }) => Promise<void>

/** Options of {@link LevelStore}. */
interface LevelStoreOptions {
  /** Where every write goes, as one atomic batch per `persist`. */
  readonly batch: RawBatch
  /** Whether every batch is synced to disk before it resolves; the core asks for some anyway. */
  readonly sync: boolean
  /**
   * Told each time an operation fails (it is retried in place, so later ones wait behind it),
   * and with null when one succeeds after a failure. Without it, a failure rejects at once.
   */
  readonly onHealth?: ((error: Error | null) => void) | undefined
  /** Keep a change feed: a record of the changes of every batch that writes data (SPEC §13). */
  readonly feed?: FeedOptions | undefined
}

/** A change as the feed reports it when written: the key and the record the batch wrote. */
export type FeedChange = readonly [Key, DataRecord]

/** Where the store tells what it did to the change feed. */
export interface FeedSink {
  /** The bounds found in storage: the number of the oldest change kept, and the next to give. */
  loaded (oldest: number, next: number): void
  /** A durable batch wrote a feed record, whose changes are numbered from `first`. */
  appended (first: number, changes: readonly FeedChange[]): void
  /** Changes numbered below `oldest` were deleted. */
  truncated (oldest: number): void
}

interface FeedOptions {
  readonly sink: FeedSink
  /** How many of the newest changes are kept, at least. */
  readonly retention: number
}

/** Changes per feed record: a full copy writes many, and a record is read whole. */
const FEED_RECORD_CHANGES_MAX = 1024

/** Waits between retries of a failed operation: doubling from the first to the last. */
const RETRY_MS_MIN = 50
const RETRY_MS_MAX = 2_000

/** A data record a full copy drops, as stored before the drop. */
interface DroppedRecord {
  readonly key: Key
  readonly version: Version
  readonly deleted: boolean
}

/** The encodings the store passes on every call: bytes in, bytes out. */
interface BinaryEncodings {
  readonly keyEncoding: 'view'
  readonly valueEncoding: 'view'
  readonly [STORE_READ]: true
}

/** Per call, so that the user's default encodings never apply to the store's reads. */
const BINARY: BinaryEncodings = { keyEncoding: 'view', valueEncoding: 'view', [STORE_READ]: true }

/** Iterator options the store passes: a range, an optional limit, binary encodings. */
interface StoreIteratorOptions extends BinaryEncodings {
  readonly gt?: Uint8Array
  readonly gte?: Uint8Array
  readonly lt?: Uint8Array
  readonly lte?: Uint8Array
  readonly limit?: number
  readonly reverse?: boolean
}

/** The iterator methods the store calls, shared by abstract-level 1 and 3. */
interface StoreIterator {
  next (): Promise<[Uint8Array, Uint8Array] | undefined>
  nextv (size: number): Promise<Array<[Uint8Array, Uint8Array]>>
  seek (target: Uint8Array): void
  close (): Promise<void>
}

/** The key iterator methods the store calls, shared by abstract-level 1 and 3. */
interface StoreKeyIterator {
  nextv (size: number): Promise<Uint8Array[]>
  close (): Promise<void>
}

/**
 * The read half of the promise API that abstract-level 1 and 3 share: all the store needs
 * of a database. A structural type, so classic-level, memory-level and browser-level all fit;
 * writes are deliberately absent (they go through {@link RawBatch}).
 */
export interface StoreDatabase {
  getMany (keys: Uint8Array[], options: BinaryEncodings): Promise<Array<Uint8Array | undefined>>
  iterator (options: StoreIteratorOptions): StoreIterator
  keys (options: { readonly gte?: Uint8Array, readonly lt?: Uint8Array, readonly limit?: number, readonly keyEncoding: 'view', readonly [STORE_READ]: true }): StoreKeyIterator
}

/** How many entries one `nextv` asks for while scanning a range: bounds memory per step. */
const SCAN_ENTRIES_MAX = 1000

/** An open snapshot session: two iterators created back to back, so they share one state. */
interface SnapshotSession {
  /** Over the version records, in user key order. */
  readonly versions: StoreIterator
  /**
   * Over the whole database, walked beside `versions` (both in user key order): a seek per
   * record would cost a native call each, a walk one per cached run of entries.
   */
  readonly values: StoreIterator
  /** The next version entry, read ahead so that the read returning the last record says done. */
  lookahead: [Uint8Array, Uint8Array] | undefined
  /** A record read but left for the next read, which the byte budget did not let in. */
  recordAhead: readonly [Key, DataRecord] | undefined
  /** The values entry read past the last record asked for: the next record's, or later. */
  valueAhead: [Uint8Array, Uint8Array] | undefined
  /** Whether `values` has been positioned at the first live record yet. */
  valuesPlaced: boolean
}

/**
 * The core's durable storage on an abstract-level database. User data lives at the user's
 * own keys, so plain reads of the db see it; versions, prepare records, logs, marks and the
 * rest live under a reserved prefix (see `keys.ts`).
 *
 * Operations run strictly one after another in call order, whether or not the caller
 * awaits in between, so a read sees every write issued before it (the core's storage
 * contract). A failed operation rejects its own promise only.
 *
 * @example
 * const store = new LevelStore(db, { batch: rawBatch, sync: false })
 * const durable = await store.load()
 */
export class LevelStore {
  readonly #db: StoreDatabase
  readonly #batch: RawBatch
  readonly #sync: boolean
  readonly #sessions = new Map<number, SnapshotSession>()
  readonly #onHealth: ((error: Error | null) => void) | undefined
  readonly #feed: FeedOptions | undefined
  /** The feed's bounds, once read: the first number of the oldest record kept, and the next number to give. */
  #feedBounds: { oldest: number, next: number } | undefined
  #failing = false
  #retryTimer: ReturnType<typeof setTimeout> | null = null
  #wakeRetry: (() => void) | null = null
  /** Settles when every operation issued so far has; never rejects, so one failure cannot stall the rest. */
  #tail: Promise<void> = Promise.resolve()
  #closing: Promise<void> | null = null
  #hostId: string | undefined
  /** Persists queued behind the running operation, to be written as one batch; null once anything else is queued. */
  #group: Array<{ readonly writes: readonly StorageWrite[], readonly sync: boolean, readonly resolve: () => void, readonly reject: (error: unknown) => void }> | null = null

  constructor (db: StoreDatabase, options: LevelStoreOptions) {
    this.#db = db
    this.#batch = options.batch
    this.#sync = options.sync
    this.#onHealth = options.onHealth
    this.#feed = options.feed
  }

  /**
   * The host's cluster identity: read from the reserved range, or created (32 lowercase
   * hex chars of random bytes) and written on first use, so it survives restarts.
   */
  hostId (): Promise<string> {
    return this.#enqueue(async () => {
      if (this.#hostId !== undefined) return this.#hostId
      const [stored] = await this.#db.getMany([hostIdKey()], BINARY)
      if (stored !== undefined) {
        this.#hostId = decodeString(stored, 'host id')
        return this.#hostId
      }
      const id = randomHex(16)
      // Always synced: an identity lost to a power cut would make this host a stranger to its peers.
      await this.#batch([{ type: 'put', key: hostIdKey(), value: encodeString(id) }], { sync: true })
      this.#hostId = id
      return id
    })
  }

  /**
   * What the core needs at start: clock, reserved seq, marks, floors, log entries above the
   * marks, prepared transactions. Whether storage is intact is for the caller to tell.
   */
  load (): Promise<Omit<DurableState, 'intact'>> {
    return this.#enqueue(async () => {
      const [clock, reserved, membership, horizon, copy] = await this.#db.getMany([clockKey(), reservedSeqKey(), membershipKey(), horizonKey(), copyKey()], BINARY)
      // Staged records with no header are a copy whose deletion was cut short: gone now.
      if (copy === undefined) await this.#clearStaging()
      const marks = new Map<HostId, number>()
      await this.#scan(tagRange(TAG.mark), (key, value) => {
        marks.set(originOfKey(key, TAG.mark), decodeNumber(value, 'mark'))
      })
      const floors = new Map<HostId, number>()
      await this.#scan(tagRange(TAG.floor), (key, value) => {
        floors.set(originOfKey(key, TAG.floor), decodeNumber(value, 'floor'))
      })
      const above: Array<{ origin: HostId, seq: number }> = []
      const logWeights: Array<{ origin: HostId, seq: number, bytes: number }> = []
      // Every entry is read once, for its weight: the log is cut by bytes as well (SPEC §6.4),
      // which bounds this read.
      await this.#scan(tagRange(TAG.log), (key, value) => {
        const { origin, seq } = parseSequencedKey(key, TAG.log)
        if (seq > (marks.get(origin) ?? 0)) above.push({ origin, seq })
        logWeights.push({ origin, seq, bytes: entryBytes(decodeLogEntry(origin, seq, value)) })
      })
      if (this.#feed !== undefined) {
        this.#feedBounds = undefined
        const { oldest, next } = await this.#loadFeedBounds()
        this.#feed.sink.loaded(oldest, next)
      }
      const prepared: Array<{ origin: HostId, seq: number, ops: Op[], clock: number }> = []
      await this.#scan(tagRange(TAG.prepare), (key, value) => {
        const { origin, seq } = parseSequencedKey(key, TAG.prepare)
        prepared.push({ origin, seq, ...decodePrepare(value) })
      })
      return {
        clock: clock === undefined ? 0 : decodeNumber(clock, 'clock'),
        reserved: reserved === undefined ? 0 : decodeNumber(reserved, 'reserved'),
        // fromEntries defines own properties, so an origin named "__proto__" stays a key.
        marks: Object.fromEntries(marks),
        floors: Object.fromEntries(floors),
        above,
        logWeights,
        prepared,
        membership: membership === undefined ? null : decodeMembership(membership),
        horizon: horizon === undefined ? 0 : decodeNumber(horizon, 'horizon'),
        copy: copy === undefined ? null : decodeCopyProgress(copy)
      }
    })
  }

  /**
   * Applies `writes` in order as ONE atomic raw batch: all of them reach disk, or none. With
   * `sync`, the batch (and so every one before it) survives a power loss once this resolves.
   *
   * Persists issued back to back, while the operation before them runs, are written together
   * in one batch (synced if any of them asks): group commit, so that many small batches cost
   * one LevelDB write and one sync. Nothing else is issued between them, so no read can tell.
   */
  persist (writes: readonly StorageWrite[], sync = false): Promise<void> {
    // A closing store takes nothing more: joining a group whose write was refused would wait for ever.
    if (this.#closing !== null) return Promise.reject(createError('Store is closed', CODES.DATABASE_NOT_OPEN))
    return new Promise((resolve, reject) => {
      const pending = { writes, sync, resolve, reject }
      if (this.#group !== null) {
        this.#group.push(pending)
        return
      }
      const group = [pending]
      this.#enqueue(async () => {
        // Running: later persists start a group of their own.
        if (this.#group === group) this.#group = null
        await this.#persistNow(group.flatMap((member) => member.writes), group.some((member) => member.sync))
      }).then(() => {
        for (const member of group) member.resolve()
      }, (error: unknown) => {
        for (const member of group) member.reject(error)
      })
      // After #enqueue, which closes any group before this one.
      this.#group = group
    })
  }

  async #persistNow (writes: readonly StorageWrite[], sync: boolean): Promise<void> {
    // Reads first, inside this same queued operation: no store write can land between
    // finding the log entries to truncate and deleting them.
    const existing = new Map<string, number[]>()
    const stored = new Map<StorageWrite, DroppedRecord[]>()
    for (const write of writes) {
      if (write.type === 'drop-absent') stored.set(write, await this.#absent(write))
      if (write.type !== 'truncate-log') continue
      const below = seqBelow(write.before)
      const seqs = below === null
        ? []
        : await this.#scanKeys(originRange(TAG.log, write.origin, 0, below), (key) => parseSequencedKey(key, TAG.log).seq)
      existing.set(truncation(write.origin, write.before), seqs)
    }
    const dropped = resolveDrops(writes, stored)
    const ops = buildBatch(writes, existing, dropped)
    const feed = this.#feed === undefined ? null : await this.#feedOps(writes, dropped, ops)
    if (ops.length > 0) await this.#batch(ops, { sync: sync || this.#sync })
    // The header is gone with the batch; its staged records follow, in bounded steps (a crash
    // in between leaves records no header names, which load() deletes).
    if (writes.some((write) => write.type === 'copy' && write.progress === null)) await this.#clearStaging()
    if (feed === null || this.#feed === undefined) return
    // Only now: a batch that failed and runs again must number its changes the same way.
    this.#feedBounds = feed.bounds
    for (const { first, changes } of feed.records) this.#feed.sink.appended(first, changes)
    if (feed.truncated) this.#feed.sink.truncated(feed.bounds.oldest)
  }

  /**
   * Adds to `ops` the feed records of the batch's data writes, numbered on from the last, and
   * the deletion of records that fell out of retention: amortized, once the feed holds an
   * eighth more than it keeps, so that most batches read nothing for it.
   */
  async #feedOps (writes: readonly StorageWrite[], dropped: ReadonlyMap<StorageWrite, readonly DroppedRecord[]>, ops: RawOp[]): Promise<{ records: Array<{ first: number, changes: FeedChange[] }>, bounds: { oldest: number, next: number }, truncated: boolean } | null> {
    const changes: FeedChange[] = []
    for (const write of writes) {
      if (write.type === 'data') changes.push([write.key, write.record])
      // A live key a full copy drops was deleted where the copy came from (SPEC §6.3).
      for (const record of dropped.get(write) ?? []) if (!record.deleted) changes.push([record.key, { value: null, version: record.version }])
    }
    if (changes.length === 0 || this.#feed === undefined) return null
    const { oldest, next: first } = await this.#loadFeedBounds()
    const records: Array<{ first: number, changes: FeedChange[] }> = []
    let next = first
    for (let start = 0; start < changes.length; start += FEED_RECORD_CHANGES_MAX) {
      const part = changes.slice(start, start + FEED_RECORD_CHANGES_MAX)
      ops.push({ type: 'put', key: feedKey(next), value: encodeFeedRecord(part.map(([key, record]) => ({ key, version: record.version, deleted: record.value === null }))) })
      records.push({ first: next, changes: part })
      next += part.length
    }
    const { retention } = this.#feed
    const cut = next - retention
    if (cut - oldest <= Math.ceil(retention / 8)) return { records, bounds: { oldest, next }, truncated: false }
    // Every record that starts at or below the cut, but the last of them: it may hold changes from the cut on.
    const starts = await this.#scanKeys({ gte: feedKey(oldest), lt: feedKey(cut + 1) }, firstOfFeedKey)
    const kept = starts.pop() ?? oldest
    for (const start of starts) ops.push({ type: 'del', key: feedKey(start) })
    return { records, bounds: { oldest: kept, next }, truncated: kept !== oldest }
  }

  /** The feed's bounds, read once from its first and last records. */
  async #loadFeedBounds (): Promise<{ oldest: number, next: number }> {
    if (this.#feedBounds !== undefined) return this.#feedBounds
    const range = tagRange(TAG.feed)
    const first = await firstEntry(this.#db.iterator({ ...range, ...BINARY, limit: 1 }))
    const last = await firstEntry(this.#db.iterator({ ...range, ...BINARY, limit: 1, reverse: true }))
    this.#feedBounds = first === undefined || last === undefined
      ? { oldest: 1, next: 1 }
      : { oldest: firstOfFeedKey(first[0]), next: firstOfFeedKey(last[0]) + decodeFeedRecord(last[1]).length }
    return this.#feedBounds
  }

  /** The membership last applied here (SPEC §15), or null if none ever was. */
  async membership (): Promise<Membership | null> {
    const [bytes] = await this.#db.getMany([membershipKey()], BINARY)
    return bytes === undefined ? null : decodeMembership(bytes)
  }

  /**
   * How many keys hold a tombstone: a scan of the version records, read directly (not through
   * the queue) so that it never holds up a write. Status shows it; it costs a read of every
   * key's version, so the Replicator runs it rarely.
   */
  async countTombstones (): Promise<number> {
    let count = 0
    await this.#scan(tagRange(TAG.version), (_key, value) => { if (decodeVersion(value).deleted) count++ })
    return count
  }

  /**
   * The data records of a page's range whose version is at or below `through`, but those of
   * `keep`: what a page of a full copy drops (SPEC §6.3). Read inside the persist that drops them.
   */
  async #absent ({ through, keep, range }: Extract<StorageWrite, { type: 'drop-absent' }>): Promise<DroppedRecord[]> {
    const dropped: DroppedRecord[] = []
    await this.#scan(versionRange(range), (metaKey, value) => {
      const { version, deleted } = decodeVersion(value)
      if (version.ts > through) return
      const key = bytesToKey(userKeyOf(metaKey, TAG.version))
      if (!keep.has(key) && inRange(key, range)) dropped.push({ key, version, deleted })
    })
    return dropped
  }

  /** The first staged records, in key order: at most `limit`, cut to `bytesMax`; with their keys' stored versions. */
  async #staged (limit: number, bytesMax: number): Promise<{ records: Array<readonly [Key, DataRecord]>, versions: Array<Version | undefined>, done: boolean }> {
    const records: Array<readonly [Key, DataRecord]> = []
    // One more than asked: whether any is left after the page.
    await this.#scan(tagRange(TAG.staged), (key, value) => {
      records.push([bytesToKey(userKeyOf(key, TAG.staged)), decodeStaged(value)])
    }, Math.max(1, Math.floor(limit)) + 1)
    const page = takeWithinBytes(records.slice(0, Math.max(1, Math.floor(limit))), ([key, record]) => recordBytes(key, record), bytesMax)
    return { records: page, versions: await this.#versions(page.map(([key]) => key)), done: page.length === records.length }
  }

  /** Deletes every staged record, a bounded number of keys per batch. */
  async #clearStaging (): Promise<void> {
    for (;;) {
      const keys = await this.#scanKeys(tagRange(TAG.staged), (key) => key, SCAN_ENTRIES_MAX)
      if (keys.length === 0) return
      await this.#batch(keys.map((key) => ({ type: 'del', key })), { sync: false })
    }
  }

  /** Of the next `limit` data records after `after`, the tombstones at or below `through` (SPEC §6.5). */
  async #tombstones (through: number, after: Key | null, limit: number): Promise<{ keys: Key[], next: Key | null }> {
    const range = tagRange(TAG.version)
    const keys: Key[] = []
    let last: Key | null = null
    let seen = 0
    await this.#scan(after === null ? range : { gt: versionKey(keyToBytes(after)), lt: range.lt }, (metaKey, value) => {
      seen++
      last = bytesToKey(userKeyOf(metaKey, TAG.version))
      const { version, deleted } = decodeVersion(value)
      if (deleted && version.ts <= through) keys.push(last)
    }, limit)
    return { keys, next: seen < limit ? null : last }
  }

  /** Answers `query` against everything persisted before it was issued. */
  read (query: Query): Promise<QueryResult> {
    return this.#enqueue(async (): Promise<QueryResult> => {
      switch (query.type) {
        case 'versions':
          return { type: 'versions', versions: await this.#versions(query.keys) }
        case 'log':
          return { type: 'log', entries: await this.#log(query.ranges, query.limit, query.bytesMax) }
        case 'snapshot-read':
          return { type: 'snapshot-read', ...await this.#snapshotRead(query.session, query.limit, query.bytesMax) }
        case 'snapshot-close':
          await this.#closeSession(query.session)
          return { type: 'snapshot-close' }
        case 'writer':
          return { type: 'writer', record: await this.#writer(query.writer) }
        case 'records':
          return { type: 'records', records: await this.#records(query.keys) }
        case 'tombstones':
          return { type: 'tombstones', ...await this.#tombstones(query.through, query.after, query.limit) }
        case 'staged':
          return { type: 'staged', ...await this.#staged(query.limit, query.bytesMax) }
      }
    })
  }

  /**
   * Closes open snapshot sessions once every operation issued before has settled. Later
   * calls reject with `LEVEL_DATABASE_NOT_OPEN`. The database itself stays open: it is the user's.
   */
  close (): Promise<void> {
    // A retry in progress gives up now: its operation rejects, and the queue drains.
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer)
    this.#wakeRetry?.()
    this.#closing ??= this.#tail.then(async () => {
      await Promise.all([...this.#sessions.keys()].map((session) => this.#closeSession(session)))
    })
    return this.#closing
  }

  #enqueue<T> (operation: () => Promise<T>): Promise<T> {
    // Whatever is queued after a group closes it: a later persist must not overtake it.
    this.#group = null
    if (this.#closing !== null) return Promise.reject(createError('Store is closed', CODES.DATABASE_NOT_OPEN))
    const result = this.#tail.then(() => this.#withRetry(operation))
    this.#tail = result.then(noop, noop)
    return result
  }

  /**
   * Runs `operation` until it succeeds. Every operation is atomic (a batch, or reads), so a
   * failed one changed nothing and may run again; the queue waits, so order is kept.
   */
  async #withRetry<T> (operation: () => Promise<T>): Promise<T> {
    for (let delay = RETRY_MS_MIN; ; delay = Math.min(delay * 2, RETRY_MS_MAX)) {
      try {
        const value = await operation()
        if (this.#failing) {
          this.#failing = false
          this.#onHealth?.(null)
        }
        return value
      } catch (error) {
        if (this.#onHealth === undefined || this.#closing !== null) throw error
        this.#failing = true
        this.#onHealth(error instanceof Error ? error : new Error(String(error)))
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve
          this.#retryTimer = setTimeout(resolve, delay)
        })
        this.#retryTimer = null
        this.#wakeRetry = null
        if (this.#closing !== null) throw error
      }
    }
  }

  async #versions (keys: readonly Key[]): Promise<Array<Version | undefined>> {
    if (keys.length === 0) return []
    const stored = await this.#db.getMany(keys.map((key) => versionKey(keyToBytes(key))), BINARY)
    return stored.map((bytes) => bytes === undefined ? undefined : decodeVersion(bytes).version)
  }

  /** Each key's value (or tombstone) and version, read together so the two match. */
  async #records (keys: readonly Key[]): Promise<Array<DataRecord | undefined>> {
    if (keys.length === 0) return []
    const stored = await this.#db.getMany(keys.flatMap((key) => {
      const bytes = keyToBytes(key)
      return [bytes, versionKey(bytes)]
    }), BINARY)
    return keys.map((_, i) => {
      const meta = stored[2 * i + 1]
      if (meta === undefined) return undefined
      const { version, deleted } = decodeVersion(meta)
      if (deleted) return { value: null, version }
      const value = stored[2 * i]
      if (value === undefined) throw createError('Store is inconsistent: a live version has no value', CODES.CORRUPTION)
      return { value: plainBytes(value), version }
    })
  }

  async #writer (writer: string): Promise<WriterRecord> {
    const [committed, failed] = await this.#db.getMany([writerKey(writer), writerFailedKey(writer)], BINARY)
    const { counter, seq } = committed === undefined ? { counter: 0, seq: 0 } : decodeWriterCommitted(committed)
    const runs: FailedRun[] = failed === undefined ? [] : decodeWriterFailed(failed)
    return { counter, seq, failed: runs }
  }

  async #log (ranges: readonly LogRange[], limit: number, bytesMax: number): Promise<LogEntry[]> {
    const entries: LogEntry[] = []
    // In the order of the ranges, then of seq within each: the order the core's contract names.
    for (const { origin, from, to } of ranges) {
      const remaining = limit - entries.length
      if (!(remaining > 0)) break
      const first = seqFrom(from)
      if (first === null || !(to >= first)) continue
      // An upper bound beyond what a key can hold means no upper bound.
      const end = to >= SEQ_MAX ? undefined : Math.floor(to) + 1
      await this.#scan(originRange(TAG.log, origin, first, end), (key, value) => {
        entries.push(decodeLogEntry(origin, parseSequencedKey(key, TAG.log).seq, value))
      }, remaining)
    }
    return takeWithinBytes(entries, entryBytes, bytesMax)
  }

  async #snapshotRead (id: number, limit: number, bytesMax: number): Promise<{ records: Array<readonly [Key, DataRecord]>, done: boolean }> {
    let session = this.#sessions.get(id)
    if (session === undefined) {
      // Back to back and synchronous: both iterators take their LevelDB snapshot before any
      // other store operation can run, so values always match the versions beside them.
      // The values iterator has no range: user keys lie on both sides of the reserved range.
      session = { versions: this.#db.iterator({ ...tagRange(TAG.version), ...BINARY }), values: this.#db.iterator(BINARY), lookahead: undefined, recordAhead: undefined, valueAhead: undefined, valuesPlaced: false }
      this.#sessions.set(id, session)
    }
    try {
      const records: Array<readonly [Key, DataRecord]> = []
      const count = Math.max(0, Math.floor(limit))
      let bytes = 0
      // The same cut as takeWithinBytes: within the budget, and always at least one record.
      while (records.length < count) {
        let record = session.recordAhead
        session.recordAhead = undefined
        if (record === undefined) {
          const entry = session.lookahead ?? await session.versions.next()
          session.lookahead = undefined
          if (entry === undefined) break
          record = await snapshotRecord(session, entry)
        }
        bytes += recordBytes(record[0], record[1])
        if (records.length > 0 && bytes > bytesMax) {
          session.recordAhead = record
          break
        }
        records.push(record)
      }
      // Peek one ahead: the read that returns the last record already says done.
      if (session.recordAhead === undefined) session.lookahead ??= await session.versions.next()
      const done = session.recordAhead === undefined && session.lookahead === undefined
      if (done) await this.#closeSession(id)
      return { records, done }
    } catch (err) {
      // A session that failed midway cannot be trusted to resume; a later read of the same id starts afresh.
      await this.#closeSession(id).catch(noop)
      throw err
    }
  }

  async #closeSession (id: number): Promise<void> {
    const session = this.#sessions.get(id)
    if (session === undefined) return
    this.#sessions.delete(id)
    await Promise.all([session.versions.close(), session.values.close()])
  }

  /** Visits the entries of `range` in key order, at most `limit`, reading in bounded steps. */
  async #scan (range: Pick<StoreIteratorOptions, 'gt' | 'gte' | 'lt' | 'lte'>, visit: (key: Uint8Array, value: Uint8Array) => void, limit?: number): Promise<void> {
    const iterator = this.#db.iterator({ ...range, ...BINARY, ...(limit === undefined ? {} : { limit }) })
    try {
      for (let entries = await iterator.nextv(SCAN_ENTRIES_MAX); entries.length > 0; entries = await iterator.nextv(SCAN_ENTRIES_MAX)) {
        for (const [key, value] of entries) visit(key, value)
      }
    } finally {
      await iterator.close()
    }
  }

  /** Maps the keys of `range` in key order, at most `limit`; values are not read (log entries may be large). */
  async #scanKeys<T> (range: KeyRange, map: (key: Uint8Array) => T, limit?: number): Promise<T[]> {
    const iterator = this.#db.keys({ ...range, keyEncoding: 'view', [STORE_READ]: true, ...(limit === undefined ? {} : { limit }) })
    const result: T[] = []
    try {
      for (let keys = await iterator.nextv(SCAN_ENTRIES_MAX); keys.length > 0; keys = await iterator.nextv(SCAN_ENTRIES_MAX)) {
        for (const key of keys) result.push(map(key))
      }
    } finally {
      await iterator.close()
    }
    return result
  }
}

/** The version records to scan for the user keys of `range`: a narrowing, not a filter (one bound a side). */
function versionRange (range: UserKeyRange): Pick<StoreIteratorOptions, 'gt' | 'gte' | 'lt' | 'lte'> {
  const all = tagRange(TAG.version)
  const bound = (key: Key): Uint8Array => versionKey(keyToBytes(key))
  return {
    ...(range.gt !== undefined ? { gt: bound(range.gt) } : range.gte !== undefined ? { gte: bound(range.gte) } : { gte: all.gte }),
    ...(range.lt !== undefined ? { lt: bound(range.lt) } : range.lte !== undefined ? { lte: bound(range.lte) } : { lt: all.lt })
  }
}

/**
 * What each `drop-absent` of `writes` deletes: of the records stored before the batch
 * (`stored`, read beforehand), those no earlier write of the batch replaced or deleted, and
 * the records earlier writes put, in its range, at or below its horizon and not kept. Persists
 * grouped into one batch put their data before a later one's drop.
 */
function resolveDrops (writes: readonly StorageWrite[], stored: ReadonlyMap<StorageWrite, readonly DroppedRecord[]>): Map<StorageWrite, DroppedRecord[]> {
  const drops = new Map<StorageWrite, DroppedRecord[]>()
  // Keys written earlier in the batch: their record then, or null once deleted.
  const written = new Map<Key, DroppedRecord | null>()
  for (const write of writes) {
    if (write.type === 'data') written.set(write.key, { key: write.key, version: write.record.version, deleted: write.record.value === null })
    if (write.type === 'delete') written.set(write.key, null)
    if (write.type !== 'drop-absent') continue
    const doomed = (stored.get(write) ?? []).filter((record) => !written.has(record.key))
    for (const record of written.values()) {
      if (record !== null && record.version.ts <= write.through && !write.keep.has(record.key) && inRange(record.key, write.range)) doomed.push(record)
    }
    for (const record of doomed) written.set(record.key, null)
    drops.set(write, doomed)
  }
  return drops
}

/**
 * The raw ops of `writes`, in order. Pure: the only database state it needs, the log seqs
 * each truncation finds on disk, is read beforehand into `existing`.
 */
function buildBatch (writes: readonly StorageWrite[], existing: ReadonlyMap<string, readonly number[]>, dropped: ReadonlyMap<StorageWrite, readonly DroppedRecord[]>): RawOp[] {
  const ops: RawOp[] = []
  // Log entries put earlier in this batch: a truncation later in it deletes them too, as
  // applying the writes one by one would.
  const logged = new Map<HostId, Set<number>>()
  // The staged records go after the batch: one staged behind the deletion would go with them.
  let discarded = false
  for (const write of writes) {
    switch (write.type) {
      case 'data': {
        // Checked here as well as where users write: a reserved key would overwrite our own records.
        assertUserKey(write.key)
        const key = keyToBytes(write.key)
        const { value, version } = write.record
        ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value })
        ops.push({ type: 'put', key: versionKey(key), value: encodeVersion(version, value === null) })
        break
      }
      case 'prepare':
        ops.push({ type: 'put', key: prepareKey(write.origin, write.seq), value: encodePrepare(write.ops, write.clock) })
        break
      case 'unprepare':
        ops.push({ type: 'del', key: prepareKey(write.origin, write.seq) })
        break
      case 'log': {
        const { origin, seq } = write.entry
        ops.push({ type: 'put', key: logKey(origin, seq), value: encodeLogEntry(write.entry) })
        let seqs = logged.get(origin)
        if (seqs === undefined) logged.set(origin, seqs = new Set())
        seqs.add(seq)
        break
      }
      case 'truncate-log': {
        const doomed = new Set(existing.get(truncation(write.origin, write.before)) ?? [])
        for (const seq of logged.get(write.origin) ?? []) {
          if (seq < write.before) doomed.add(seq)
        }
        for (const seq of doomed) {
          ops.push({ type: 'del', key: logKey(write.origin, seq) })
          logged.get(write.origin)?.delete(seq)
        }
        break
      }
      case 'mark':
        ops.push({ type: 'put', key: markKey(write.origin), value: encodeNumber(write.contiguous) })
        break
      case 'floor':
        ops.push({ type: 'put', key: floorKey(write.origin), value: encodeNumber(write.floor) })
        break
      case 'clock':
        ops.push({ type: 'put', key: clockKey(), value: encodeNumber(write.ts) })
        break
      case 'reserved':
        ops.push({ type: 'put', key: reservedSeqKey(), value: encodeNumber(write.seq) })
        break
      case 'membership':
        ops.push({ type: 'put', key: membershipKey(), value: encodeMembership(write.membership) })
        break
      case 'writer-committed':
        ops.push({ type: 'put', key: writerKey(write.writer), value: encodeWriterCommitted(write.counter, write.seq) })
        break
      case 'writer-failed':
        ops.push({ type: 'put', key: writerFailedKey(write.writer), value: encodeWriterFailed(write.failed) })
        break
      case 'delete': {
        const key = keyToBytes(write.key)
        ops.push({ type: 'del', key }, { type: 'del', key: versionKey(key) })
        break
      }
      case 'horizon':
        ops.push({ type: 'put', key: horizonKey(), value: encodeNumber(write.ts) })
        break
      case 'drop-absent':
        for (const { key } of dropped.get(write) ?? []) {
          const bytes = keyToBytes(key)
          ops.push({ type: 'del', key: bytes }, { type: 'del', key: versionKey(bytes) })
        }
        break
      case 'stage':
        // The core never does this: the records would be deleted with the staging area after the batch.
        if (discarded) throw createError('A batch cannot stage records after deleting the staging area', CODES.NOT_SUPPORTED)
        for (const [key, record] of write.records) {
          assertUserKey(key)
          ops.push({ type: 'put', key: stagedKey(keyToBytes(key)), value: encodeStaged(record) })
        }
        break
      case 'unstage':
        for (const key of write.keys) ops.push({ type: 'del', key: stagedKey(keyToBytes(key)) })
        break
      case 'copy':
        if (write.progress === null) {
          ops.push({ type: 'del', key: copyKey() })
          discarded = true
        } else {
          ops.push({ type: 'put', key: copyKey(), value: encodeCopyProgress(write.progress) })
        }
        break
    }
  }
  return ops
}

/** One snapshot record: the version entry, and for a live record its value from the same snapshot. */
async function snapshotRecord (session: SnapshotSession, [metaKey, metaValue]: [Uint8Array, Uint8Array]): Promise<readonly [Key, DataRecord]> {
  const userKey = userKeyOf(metaKey, TAG.version)
  const { version, deleted } = decodeVersion(metaValue)
  if (deleted) return [bytesToKey(userKey), { value: null, version }]
  const value = await valueAt(session, userKey)
  if (value === undefined) {
    // Every store write puts a live value and its version in one batch, so this is damage
    // or a write that bypassed the store: fail loudly rather than ship a wrong record.
    throw createError('Store is inconsistent: a live version has no value', CODES.CORRUPTION)
  }
  return [bytesToKey(userKey), { value: plainBytes(value), version }]
}

/**
 * The value stored at `userKey`, read by walking `session.values` forward. Keys are asked for
 * in ascending order; what lies between them (values without a version, written before the
 * Replicator came) is stepped over, and the reserved range is jumped with one seek.
 */
async function valueAt (session: SnapshotSession, userKey: Uint8Array): Promise<Uint8Array | undefined> {
  if (!session.valuesPlaced) {
    session.values.seek(userKey)
    session.valuesPlaced = true
  }
  while (true) {
    const entry = session.valueAhead ?? await session.values.next()
    session.valueAhead = undefined
    if (entry === undefined) return await soughtValue(session, userKey)
    const order = compareBytes(entry[0], userKey)
    if (order === 0) return entry[1]
    if (order > 0) {
      session.valueAhead = entry
      return await soughtValue(session, userKey)
    }
    if (isReservedKey(entry[0])) session.values.seek(userKey)
  }
}

/**
 * The value at `userKey` by a seek: where the walk went past it. A store whose order is not
 * the bytes' (a store of strings orders by UTF-16 units) can hold it behind; otherwise the
 * value is missing.
 */
async function soughtValue (session: SnapshotSession, userKey: Uint8Array): Promise<Uint8Array | undefined> {
  session.values.seek(userKey)
  const entry = await session.values.next()
  if (entry === undefined || compareBytes(entry[0], userKey) !== 0) {
    session.valueAhead = entry
    return undefined
  }
  return entry[1]
}

/** The first entry an iterator yields, if any; the iterator is closed. */
export async function firstEntry (iterator: StoreIterator): Promise<[Uint8Array, Uint8Array] | undefined> {
  try {
    return await iterator.next()
  } finally {
    await iterator.close()
  }
}

/** Identifies one truncation, so the seqs read for it are found again while building. */
function truncation (origin: HostId, before: number): string {
  return `${before}#${origin}`
}

/**
 * The exclusive upper seq of "seq < before": null when no stored seq can be below it,
 * undefined when every stored seq is (no upper bound).
 */
function seqBelow (before: number): number | undefined | null {
  if (!(before > 0)) return null
  // Seqs are integers: seq < 2.5 is seq < 3. Above SEQ_MAX every stored seq qualifies.
  return before > SEQ_MAX ? undefined : Math.ceil(before)
}

/** The first seq of "seq >= from", or null when no stored seq can be that high. */
function seqFrom (from: number): number | null {
  if (Number.isNaN(from) || from > SEQ_MAX) return null
  return from < 0 ? 0 : Math.ceil(from)
}

/** Bytewise order, as LevelDB sorts keys. */
function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const difference = (a[i] as number) - (b[i] as number)
    if (difference !== 0) return difference
  }
  return a.length - b.length
}

function randomHex (bytes: number): string {
  const random = globalThis.crypto.getRandomValues(new Uint8Array(bytes))
  let hex = ''
  for (const byte of random) hex += byte.toString(16).padStart(2, '0')
  return hex
}

function noop (): void {}
