import ModuleError from 'module-error'
import type { Key, KeyRange, Op, WriteId } from '../core/index.js'
import { FencedIterator, type PrivateIterator, abstractIteratorOf, fencedPromiseIterator } from './fenced-iterator.js'
import { CODES, createError } from '../errors.js'
import { isReservedKey } from '../storage/keys.js'
import type { RawBatch, RawOp } from '../storage/store.js'
import { bytesToKey } from '../core/index.js'
import { asBuffer, toBytes } from './bytes.js'
import { WRITE_ID } from './write-id-option.js'
import { STORE_READ } from '../storage/store-read-option.js'
import { isReservedText, storedKey, storedValue } from '../storage/string-store.js'

const textEncoder = new TextEncoder()

type Callback = (error?: Error | null) => void
type PrivateOp = { type: 'put' | 'del', key: unknown, value?: unknown }
type BatchOptions = { sync?: boolean, [WRITE_ID]?: WriteId }

/** The private write methods abstract-level 1 calls after encoding, with callbacks; untyped in its .d.ts. */
interface CallbackHooks {
  _put: (key: unknown, value: unknown, options: unknown, callback: Callback) => void
  _del: (key: unknown, options: unknown, callback: Callback) => void
  _batch: (operations: readonly PrivateOp[], options: BatchOptions, callback: Callback) => void
  _chainedBatch: () => unknown
  _clear: (options: Record<string, unknown>, callback: Callback) => void
  _get: (key: unknown, options: ReadOptions, callback: (error: Error | null, value?: unknown) => void) => void
  _getMany: (keys: unknown[], options: ReadOptions, callback: (error: Error | null, values?: unknown[]) => void) => void
  _iterator?: (options: ReadOptions) => unknown
  _keys?: (options: ReadOptions) => unknown
  _values?: (options: ReadOptions) => unknown
}

/** What abstract-level hands `_get` and `_getMany`: the value's format, and the user's other options. */
type ReadOptions = { valueEncoding?: unknown, consistency?: unknown, [STORE_READ]?: unknown } | undefined

/** The same methods in abstract-level 2 and 3, which return promises instead. */
interface PromiseHooks {
  _put: (key: unknown, value: unknown, options: unknown) => Promise<void>
  _del: (key: unknown, options: unknown) => Promise<void>
  _batch: (operations: readonly PrivateOp[], options: BatchOptions) => Promise<void>
  _chainedBatch: () => unknown
  _clear: (options: Record<string, unknown>) => Promise<void>
  _get: (key: unknown, options: ReadOptions) => Promise<unknown>
  _getMany: (keys: unknown[], options: ReadOptions) => Promise<unknown[]>
}

/** What the wrapper reads of a database besides its private methods. */
interface Wrappable {
  /** Present from abstract-level 2 on, whose private methods return promises. */
  readonly hooks?: unknown
  keyEncoding: (encoding: string) => { readonly format: string }
  valueEncoding: (encoding: string) => { readonly format: string }
  keys: (options: Record<string, unknown>) => AsyncIterable<unknown>
}

const textDecoder = new TextDecoder()

/** Keys per replicated delete batch when `clear()` runs: bounded, like any other write. */
const CLEAR_CHUNK_KEYS = 1_000

type Replicate = (ops: Op[], writeId: WriteId | null) => Promise<void>
/**
 * What the read methods need of the Replicator: strong reads (SPEC §14) of core keys, each
 * one's value or undefined; fences over ranges; and when local reads may go (SPEC §6.3).
 */
interface Reads {
  readonly read: (keys: Key[]) => Promise<Array<Uint8Array | undefined>>
  readonly fence: (range: KeyRange) => Promise<void>
  /** Null when local reads may go now; otherwise, settles when they may (SPEC §6.3). */
  readonly localReady: () => Promise<void> | null
}

/** How a database's private write methods take data: bytes as they are, Node Buffers, or strings. */
type StoreFormat = 'view' | 'buffer' | 'utf8'

/**
 * Refuses at once a database this wrapper cannot drive, before anything is written: one
 * without abstract-level's private write methods. Otherwise says how to hand it data: a store
 * of strings (memory-level's `storeEncoding: 'utf8'`) holds text only (string-store.ts).
 */
function storeFormat (db: Wrappable & Partial<CallbackHooks>): StoreFormat {
  if (typeof db._batch !== 'function' || typeof db._put !== 'function' || typeof db._del !== 'function' || typeof db._clear !== 'function' || typeof db.keyEncoding !== 'function') {
    throw createError('Replicator wraps abstract-level databases (classic-level, memory-level); this is not one', CODES.NOT_SUPPORTED, { expected: true })
  }
  // `supports.encodings` lists what the database can transcode to as well; the format of a
  // view transcoder is what its private methods take.
  const formats = new Set([viewFormat(() => db.keyEncoding('view')), viewFormat(() => db.valueEncoding('view'))])
  if (formats.size === 1 && formats.has('view')) return 'view'
  if (formats.size === 1 && formats.has('buffer') && typeof globalThis.Buffer === 'function') return 'buffer'
  if (viewFormat(() => db.keyEncoding('utf8')) === 'utf8' && viewFormat(() => db.valueEncoding('utf8')) === 'utf8') return 'utf8'
  throw createError('Replicator wraps databases that store bytes or strings; this one stores neither', CODES.NOT_SUPPORTED, { expected: true })
}

/** The format bytes take on their way into the store; null if they cannot go in as bytes. */
function viewFormat (transcoder: () => { format: string }): string | null {
  try {
    return transcoder().format
  } catch {
    // A store of strings has no transcoder from views (LEVEL_ENCODING_NOT_SUPPORTED).
    return null
  }
}

/**
 * abstract-level's own `_chainedBatch`, which collects operations and ends in `_batch`,
 * found on the database's base class, whichever major version it is.
 */
function defaultChainedBatch (db: object): () => unknown {
  for (let proto: unknown = Object.getPrototypeOf(db); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const candidate = proto as { constructor?: { name?: string }, _chainedBatch?: () => unknown }
    if (candidate.constructor?.name === 'AbstractLevel' && Object.hasOwn(candidate, '_chainedBatch')) return candidate._chainedBatch as () => unknown
  }
  throw createError('Replicator wraps abstract-level databases; this one has no AbstractLevel base', CODES.NOT_SUPPORTED, { expected: true })
}

export interface WrappedDatabase {
  /** How the database holds data: the store reads a store of strings through string-store.ts. */
  readonly format: StoreFormat
  /** Writes straight to storage, bypassing replication: for the replicator's own store only. */
  readonly rawBatch: RawBatch
  /** Puts the database's own write methods back. */
  readonly unwrap: () => void
}

/**
 * Routes every write path of an abstract-level 1, 2 or 3 database through `replicate`: put,
 * del, batch, the chained batch (classic-level's own would go straight to LevelDB) and clear
 * (whose native form would too). Sublevels write through their parent, so they are covered.
 * Throws `LEVEL_NOT_SUPPORTED` for a database it cannot drive, having changed nothing.
 */
export function wrapDatabase (database: object, replicate: Replicate, reads: Reads): WrappedDatabase {
  const db = database as Wrappable & CallbackHooks
  const format = storeFormat(db)
  const chainedBatch = defaultChainedBatch(db)
  // Below its encoding layer a database takes data in its own form; a Buffer-only store
  // given a plain view would hand it back undecodable (memory-level's 'buffer' store does).
  const stored = format === 'view' ? (bytes: Uint8Array) => bytes : asBuffer
  const storedOp = (op: RawOp): PrivateOp => {
    if (format === 'utf8') return op.type === 'put' ? { type: 'put', key: storedKey(op.key), value: storedValue(op.key, op.value) } : { type: 'del', key: storedKey(op.key) }
    return op.type === 'put' ? { type: 'put', key: stored(op.key), value: stored(op.value) } : { type: 'del', key: stored(op.key) }
  }
  const own = { _put: db._put, _del: db._del, _batch: db._batch, _chainedBatch: db._chainedBatch, _clear: db._clear, _get: db._get, _getMany: db._getMany, _iterator: db._iterator, _keys: db._keys, _values: db._values }
  const promises = db.hooks !== undefined

  // In a store of strings, text that reads as the reserved prefix would land among its records.
  const checkedKey = (key: unknown): string => {
    if (format === 'utf8' && isReservedText(key)) throw createError('Key is in quorum-level\'s reserved range', CODES.NOT_SUPPORTED, { expected: true })
    return userKey(key)
  }
  const putOp = (key: unknown, value: unknown): Op => ({ type: 'put', key: checkedKey(key), value: toBytes(value) })
  const delOp = (key: unknown): Op => ({ type: 'del', key: checkedKey(key) })
  const batchOps = (operations: readonly PrivateOp[]): Op[] => operations.map((op) => op.type === 'put' ? putOp(op.key, op.value) : delOp(op.key))
  const writeIdOf = (options: BatchOptions | undefined): WriteId | null => options?.[WRITE_ID] ?? null
  // Operations are converted in the promise, so that a refused key rejects the write.
  const replicated = async (build: () => Op[], writeId: WriteId | null = null): Promise<void> => { await replicate(build(), writeId) }
  const callback = (work: Promise<void>, done: Callback): void => { work.then(() => { done() }, done) }

  // The store's own reads never wait: they are what applies the copy.
  const localReady = (options: ReadOptions): Promise<void> | null => options?.[STORE_READ] === true ? null : reads.localReady()
  // A value as the read methods hand it over: in the format abstract-level asked for, which it then decodes.
  const readValue = (bytes: Uint8Array, options: ReadOptions): unknown => {
    const wanted = options?.valueEncoding
    if (wanted === 'utf8') return textDecoder.decode(bytes)
    return wanted === 'view' ? bytes : asBuffer(bytes)
  }
  const strongValues = async (keys: unknown[], options: ReadOptions): Promise<Array<unknown>> => {
    const values = await reads.read(keys.map(checkedKey))
    return values.map((value) => value === undefined ? undefined : readValue(value, options))
  }

  if (promises) {
    const hooks = db as unknown as PromiseHooks
    const { _get: get, _getMany: getMany } = hooks
    hooks._get = async function (this: unknown, key, options) {
      if (!isStrong(options)) {
        await localReady(options)
        return await get.call(this, key, options)
      }
      return (await strongValues([key], options))[0]
    }
    hooks._getMany = async function (this: unknown, keys, options) {
      if (!isStrong(options)) {
        await localReady(options)
        return await getMany.call(this, keys, options)
      }
      return await strongValues(keys, options)
    }
    hooks._put = async (key, value) => { await replicated(() => [putOp(key, value)]) }
    hooks._del = async (key) => { await replicated(() => [delOp(key)]) }
    hooks._batch = async (operations, options) => { await replicated(() => batchOps(operations), writeIdOf(options)) }
    hooks._clear = async (options) => { await clearReplicated(db, format, options, replicate) }
  } else {
    db._put = (key, value, _options, done) => { callback(replicated(() => [putOp(key, value)]), done) }
    db._del = (key, _options, done) => { callback(replicated(() => [delOp(key)]), done) }
    db._batch = (operations, options, done) => { callback(replicated(() => batchOps(operations), writeIdOf(options)), done) }
    db._clear = (options, done) => { callback(clearReplicated(db, format, options, replicate), done) }
    const { _get: get, _getMany: getMany } = own
    /** The strong read or the local one; a bad `consistency` reaches the callback, never the caller. */
    const either = (options: ReadOptions, done: (error: Error) => void, local: () => void, strong: () => void): void => {
      let wanted: boolean
      try {
        wanted = isStrong(options)
      } catch (error) {
        queueMicrotask(() => { done(error as Error) })
        return
      }
      if (wanted) {
        strong()
        return
      }
      const ready = localReady(options)
      if (ready === null) local()
      else ready.then(local, done)
    }
    db._get = function (this: unknown, key, options, done) {
      either(options, done, () => { get.call(this, key, options, done) }, () => {
        strongValues([key], options).then(([value]) => {
          // abstract-level 1 reports a missing key as an error from _get.
          if (value === undefined) done(new ModuleError('Entry not found', { code: 'LEVEL_NOT_FOUND' }))
          else done(null, value)
        }, (error: Error) => { done(error) })
      })
    }
    db._getMany = function (this: unknown, keys, options, done) {
      either(options, done, () => { getMany.call(this, keys, options, done) }, () => {
        strongValues(keys, options).then((values) => { done(null, values) }, (error: Error) => { done(error) })
      })
    }
  }
  db._chainedBatch = function (this: unknown) { return chainedBatch.call(this) }
  // A strong iterator waits for a fence, then reads the database's own (SPEC §14.1). Key and
  // value iterators are abstract-level's defaults over it, found on its base class.
  let iteratorClass: ReturnType<typeof abstractIteratorOf> | undefined
  for (const name of ['_iterator', '_keys', '_values'] as const) {
    const open = own[name]
    if (typeof open !== 'function') continue
    db[name] = function (this: unknown, options: ReadOptions) {
      const strong = isStrong(options)
      // A local iterator opened while a copy is applied waits for it as a strong one waits for its fence.
      const ready = strong ? null : localReady(options)
      if (!strong && ready === null) return open.call(this, options)
      if (name !== '_iterator') return baseMethods(db)[name].call(this, options)
      const fence = ready ?? reads.fence(rangeOf(options as Record<string, unknown>))
      const inner = (): object => open.call(this, options) as object
      if (!promises) return new FencedIterator(db as never, options as object, fence, inner as () => PrivateIterator)
      // abstract-level 2 and 3 have their own iterator classes: the one to extend is found on
      // an iterator of this database, opened and closed at once.
      iteratorClass ??= classOfIterators(inner())
      return fencedPromiseIterator(iteratorClass, db, options as object, fence, inner)
    }
  }

  const writeRaw = (ops: readonly PrivateOp[], options: { sync: boolean }): Promise<void> => {
    if (promises) return (own._batch as unknown as PromiseHooks['_batch']).call(db, ops, options)
    return new Promise<void>((resolve, reject) => {
      own._batch.call(db, ops, options, (error) => {
        if (error != null) reject(error)
        else resolve()
      })
    })
  }
  return {
    format,
    rawBatch: async (ops: RawOp[], { sync }) => {
      await writeRaw(ops.map(storedOp), { sync })
    },
    unwrap: () => { Object.assign(db, own) }
  }
}

/**
 * Whether a read asks for `consistency: 'strong'`; `'local'` or none is a plain local read.
 * @throws {ModuleError} `LEVEL_INVALID_OPTION` for any other value.
 */
export function isStrong (options: ReadOptions): boolean {
  const consistency = options?.consistency
  if (consistency === undefined || consistency === 'local') return false
  if (consistency === 'strong') return true
  throw createError("consistency must be 'local' or 'strong'", CODES.INVALID_OPTION, { expected: true })
}

/** The AbstractIterator class of `probe`, an iterator then closed (it was opened only to be looked at). */
function classOfIterators (probe: object): ReturnType<typeof abstractIteratorOf> {
  const found = abstractIteratorOf(probe)
  ;(probe as { close: () => Promise<void> }).close().catch(() => {})
  return found
}

/** An iterator's range, as abstract-level hands it over (encoded), as core keys. */
export function rangeOf (options: Record<string, unknown>): KeyRange {
  const range: { gt?: Key, gte?: Key, lt?: Key, lte?: Key } = {}
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (options[name] !== undefined) range[name] = bytesToKey(toBytes(options[name]))
  }
  return range
}

/** abstract-level 1's own `_keys` and `_values`, which read through `_iterator`. */
function baseMethods (db: object): Record<'_keys' | '_values', (options: unknown) => unknown> {
  for (let proto: unknown = Object.getPrototypeOf(db); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const candidate = proto as { constructor?: { name?: string }, _keys?: (options: unknown) => unknown, _values?: (options: unknown) => unknown }
    if (candidate.constructor?.name === 'AbstractLevel' && Object.hasOwn(candidate, '_keys') && candidate._keys !== undefined && candidate._values !== undefined) {
      return { _keys: candidate._keys, _values: candidate._values }
    }
  }
  throw createError('Replicator wraps abstract-level databases; this one has no AbstractLevel base', CODES.NOT_SUPPORTED, { expected: true })
}

function userKey (key: unknown): string {
  const bytes = toBytes(key)
  if (isReservedKey(bytes)) throw createError('Key is in quorum-level\'s reserved range', CODES.NOT_SUPPORTED, { expected: true })
  return bytesToKey(bytes)
}

/**
 * `clear()` as replicated deletes of the keys in range, in chunks: each chunk is atomic on
 * every host, the whole clear is not (neither is classic-level's own clear).
 */
async function clearReplicated (db: Wrappable, format: StoreFormat, options: Record<string, unknown>, replicate: Replicate): Promise<void> {
  const range: Record<string, unknown> = { keyEncoding: format === 'utf8' ? 'utf8' : 'view' }
  for (const name of ['gt', 'gte', 'lt', 'lte', 'limit', 'reverse'] as const) {
    if (options[name] !== undefined) range[name] = options[name]
  }
  const keys: Uint8Array[] = []
  for await (const key of db.keys(range)) {
    if (typeof key === 'string') {
      if (!isReservedText(key)) keys.push(textEncoder.encode(key))
      continue
    }
    if (!(key instanceof Uint8Array) || isReservedKey(key)) continue
    keys.push(key)
  }
  for (let i = 0; i < keys.length; i += CLEAR_CHUNK_KEYS) {
    await replicate(keys.slice(i, i + CLEAR_CHUNK_KEYS).map((key) => ({ type: 'del', key: bytesToKey(key) })), null)
  }
}
