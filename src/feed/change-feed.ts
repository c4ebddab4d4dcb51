import { Readable } from 'readable-stream'
import { type Key, type KeyRange, bytesToKey, keyToBytes } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { type Transcoder, codecOf } from '../replicator/peer-events.js'
import { toBytes } from '../replicator/bytes.js'
import type { FeedEntry } from './feed-log.js'
import type { FeedReply, FeedSource } from './feed-source.js'

/** Options of `db.changes(options)`. */
export interface ChangesOptions<K = unknown> {
  /**
   * Where to start: `'now'` (the default) for changes made from now on, or the `position` of a
   * change already seen, to go on exactly after it.
   */
  since?: 'now' | string
  gt?: K
  gte?: K
  lt?: K
  lte?: K
  /** Encodings of the keys and values yielded (and of the range's keys). @default the database's */
  keyEncoding?: string | object
  valueEncoding?: string | object
  /** Changes read ahead of the consumer, at most. @default 64 */
  highWaterMark?: number
}

/** A committed change, as `db.changes()` yields it. `position` names it on this host, for `since`. */
export type Change<K = unknown, V = unknown> =
  | { readonly type: 'put', readonly key: K, readonly value: V, readonly position: string }
  | { readonly type: 'del', readonly key: K, readonly position: string }

/**
 * What a feed decodes with: a database or a sublevel of one. abstract-level's transcoders,
 * and a sublevel's prefix (none for a database).
 */
export interface FeedTarget {
  readonly prefix?: string
  keyEncoding: (encoding?: string | object) => Transcoder & { encode: (data: unknown) => unknown }
  valueEncoding: (encoding?: string | object) => Transcoder
}

/**
 * The target a `sublevel` option names, checked: an abstract-level sublevel (of the database
 * the feed belongs to), or the database itself when there is none.
 */
export function feedTarget (sublevel: object | undefined, database: object): FeedTarget {
  if (sublevel === undefined) return database as FeedTarget
  const { prefix, keyEncoding, valueEncoding } = sublevel as Record<string, unknown>
  if (typeof prefix !== 'string' || typeof keyEncoding !== 'function' || typeof valueEncoding !== 'function') {
    throw createError('sublevel must be a sublevel of this database', CODES.INVALID_OPTION, { expected: true })
  }
  return sublevel as FeedTarget
}

/** Changes one read asks for; a page is also cut at PAGE_BYTES_MAX. */
const PAGE_CHANGES_MAX = 256
const PAGE_BYTES_MAX = 1024 * 1024
/**
 * How long a caught-up feed waits for news before it reads again anyway: a notice can be lost
 * with a local leader. Its timer also holds the process open while someone waits for changes.
 */
const POLL_MS = 1000

const utf8 = new TextEncoder()
const POSITION = /^(\d{1,16})@(.+)$/s

/**
 * The change feed (README, Change feed): a readable stream of objects, and so an async
 * iterable, of the committed changes of this host's database, in the order they became
 * durable here. It reads pages from its source as the consumer asks for them: a consumer that
 * stops reading stops the reading, holds at most `highWaterMark` changes and a page, and
 * slows no write; it reads on from storage when it resumes.
 */
export class ChangeFeed<K = unknown, V = unknown> extends Readable {
  readonly #source: FeedSource
  readonly #decode: (entry: FeedEntry, host: string) => Change<K, V>
  readonly #prefix: Key
  readonly #bounds: KeyRange
  #after: number | null
  #host: string | null
  #pulling = false
  /** Whether the source said it advanced since the last read began. */
  #advanced = false
  /** Where 'now' is, read as the feed is made; null once known, or for a position. */
  #now: Promise<Error | null> | null = null
  #wake: (() => void) | null = null
  #unwatch: (() => void) | null = null

  constructor (source: FeedSource, target: FeedTarget, options: ChangesOptions<K> = {}) {
    super({ objectMode: true, highWaterMark: options.highWaterMark ?? 64 })
    this.#source = source
    const { since = 'now' } = options
    if (since === 'now') {
      this.#after = null
      this.#host = null
    } else {
      const match = typeof since === 'string' ? POSITION.exec(since) : null
      if (match === null) throw createError("since must be 'now' or a change's position", CODES.INVALID_OPTION, { expected: true })
      this.#after = Number(match[1])
      this.#host = match[2] as string
    }
    const keys = target.keyEncoding(options.keyEncoding)
    const values = codecOf(target.valueEncoding(options.valueEncoding))
    const keyCodec = codecOf(keys)
    this.#prefix = bytesToKey(utf8.encode(target.prefix ?? ''))
    const bound = (key: unknown): Key => this.#prefix + bytesToKey(toBytes(keys.encode(key)))
    const bounds: Record<string, Key> = {}
    for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
      if (options[name] !== undefined) bounds[name] = bound(options[name])
    }
    this.#bounds = bounds
    if (this.#after === null) {
      // Read now, not when first consumed: a write made after changes() returns is one to yield.
      this.#now = source.read({ after: null, host: null, prefix: this.#prefix, bounds, limit: 0, bytesMax: 0 }).then((reply) => {
        this.#after = reply.through
        this.#host = reply.host
        return null
      }, (error: unknown) => error instanceof Error ? error : new Error(String(error)))
    }
    const prefixLength = this.#prefix.length
    this.#decode = (entry, host) => {
      const bytes = keyToBytes(entry.key.slice(prefixLength))
      const key = keyCodec.decode(keyCodec.encoded(bytes), bytes) as K
      const position = `${entry.number}@${host}`
      if (entry.value === null) return { type: 'del', key, position }
      return { type: 'put', key, value: values.decode(values.encoded(entry.value), entry.value) as V, position }
    }
  }

  override _read (): void {
    if (this.#pulling) return
    this.#pulling = true
    this.#unwatch ??= this.#source.watch(() => {
      this.#advanced = true
      this.#wake?.()
    })
    this.#pull().catch((error: unknown) => {
      // A feed ends with its database, as a for-await loop over it would want.
      if ((error as { code?: unknown }).code === CODES.DATABASE_NOT_OPEN) this.push(null)
      else this.destroy(error instanceof Error ? error : new Error(String(error)))
    })
  }

  /** Reads pages until the consumer has enough; a `_read` while it runs changes nothing. */
  async #pull (): Promise<void> {
    try {
      await this.#pullPages()
    } finally {
      // Synchronously where the loop stops, so a `_read` right after starts a new one.
      this.#pulling = false
    }
  }

  async #pullPages (): Promise<void> {
    if (this.#now !== null) {
      const failure = await this.#now
      this.#now = null
      if (failure !== null) throw failure
    }
    while (!this.destroyed) {
      this.#advanced = false
      const reply: FeedReply = await this.#source.read({
        after: this.#after,
        host: this.#host,
        prefix: this.#prefix,
        bounds: this.#bounds,
        limit: PAGE_CHANGES_MAX,
        bytesMax: PAGE_BYTES_MAX
      })
      if (this.destroyed) return
      const read = this.#after !== null && reply.through > this.#after
      this.#after = reply.through
      this.#host = reply.host
      for (const entry of reply.changes) {
        this.push(this.#decode(entry, reply.host))
      }
      // A page may overfill the buffer; the next read waits until the consumer drained it.
      if (this.readableLength >= this.readableHighWaterMark) return
      if (reply.changes.length > 0 || read) continue
      if (!this.#advanced) await this.#waitForNews()
    }
  }

  #waitForNews (): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, POLL_MS)
      function wake (): void {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = () => {
        this.#wake = null
        wake()
      }
    })
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.#unwatch?.()
    this.#unwatch = null
    this.#wake?.()
    callback(error)
  }
}
