import { AbstractLevel } from 'abstract-level'
import type { Op, WriteId } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { isReservedKey } from '../storage/keys.js'
import type { RawBatch, RawOp } from '../storage/store.js'
import { bytesToKey } from '../core/index.js'
import { toBytes } from './bytes.js'
import { WRITE_ID } from './write-id-option.js'

type Callback = (error?: Error | null) => void

/** The private write methods abstract-level@1 calls after encoding; untyped in its .d.ts. */
interface WriteHooks {
  _put: (key: unknown, value: unknown, options: unknown, callback: Callback) => void
  _del: (key: unknown, options: unknown, callback: Callback) => void
  _batch: (operations: ReadonlyArray<{ type: 'put' | 'del', key: unknown, value?: unknown }>, options: { sync?: boolean, [WRITE_ID]?: WriteId }, callback: Callback) => void
  _chainedBatch: () => unknown
  _clear: (options: Record<string, unknown>, callback: Callback) => void
}

/** Keys per replicated delete batch when `clear()` runs: bounded, like any other write. */
const CLEAR_CHUNK_KEYS = 1_000

type Replicate = (ops: Op[], writeId: WriteId | null) => Promise<void>

/** How a database's private write methods take bytes: as they are, or as Node Buffers. */
type StoreFormat = 'view' | 'buffer'

/**
 * Refuses at once a database this wrapper cannot drive, before anything is written: one of
 * abstract-level 2 or later (its private methods return promises and take no callback), or
 * one that stores only strings (memory-level's `storeEncoding: 'utf8'`), which cannot hold
 * quorum-level's binary records byte for byte. Otherwise says how to hand it bytes.
 */
function storeFormat (db: AbstractLevel<unknown, unknown, unknown>): StoreFormat {
  const candidate = db as unknown as Partial<WriteHooks> & { hooks?: unknown }
  if (candidate.hooks !== undefined) {
    throw createError('Replicator wraps abstract-level 1 databases (classic-level 1, memory-level 1); this one is abstract-level 2 or later', CODES.NOT_SUPPORTED, { expected: true })
  }
  if (typeof candidate._batch !== 'function' || typeof candidate._put !== 'function' || typeof candidate._del !== 'function' || typeof db.keyEncoding !== 'function') {
    throw createError('Replicator wraps abstract-level 1 databases; this is not one', CODES.NOT_SUPPORTED, { expected: true })
  }
  // `supports.encodings` lists what the database can transcode to as well; the format of a
  // view transcoder is what its private methods take.
  const formats = new Set([viewFormat(() => db.keyEncoding('view')), viewFormat(() => db.valueEncoding('view'))])
  if (formats.size === 1 && formats.has('view')) return 'view'
  if (formats.size === 1 && formats.has('buffer') && typeof globalThis.Buffer === 'function') return 'buffer'
  throw createError('Replicator needs a database that stores bytes (storeEncoding \'view\' or \'buffer\'); this one stores strings', CODES.NOT_SUPPORTED, { expected: true })
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

export interface WrappedDatabase {
  /** Writes straight to storage, bypassing replication: for the replicator's own store only. */
  readonly rawBatch: RawBatch
  /** Puts the database's own write methods back. */
  readonly unwrap: () => void
}

/**
 * Routes every write path of an abstract-level@1 database through `replicate`: put, del,
 * batch, the chained batch (classic-level's own would go straight to LevelDB) and clear
 * (whose native form would too). Sublevels write through their parent, so they are covered.
 */
export function wrapDatabase (db: AbstractLevel<unknown, unknown, unknown>, replicate: Replicate): WrappedDatabase {
  const format = storeFormat(db)
  // Below its encoding layer a database takes data in its own form; a Buffer-only store
  // given a plain view would hand it back undecodable (memory-level's 'buffer' store does).
  const stored = format === 'view' ? (bytes: Uint8Array) => bytes : (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const hooks = db as unknown as WriteHooks
  const own = { _put: hooks._put, _del: hooks._del, _batch: hooks._batch, _chainedBatch: hooks._chainedBatch, _clear: hooks._clear }
  const originalBatch = own._batch.bind(db)

  const run = (ops: Op[], callback: Callback, writeId: WriteId | null = null): void => {
    replicate(ops, writeId).then(() => { callback() }, callback)
  }
  hooks._put = (key, value, _options, callback) => {
    withOps(() => [{ type: 'put', key: userKey(key), value: toBytes(value) }], run, callback)
  }
  hooks._del = (key, _options, callback) => {
    withOps(() => [{ type: 'del', key: userKey(key) }], run, callback)
  }
  hooks._batch = (operations, options, callback) => {
    const writeId = (options as { [WRITE_ID]?: WriteId })[WRITE_ID] ?? null
    withOps(() => operations.map((op): Op => op.type === 'put'
      ? { type: 'put', key: userKey(op.key), value: toBytes(op.value) }
      : { type: 'del', key: userKey(op.key) }), (ops, cb) => { run(ops, cb, writeId) }, callback)
  }
  // abstract-level's default chained batch collects operations and ends in `_batch`.
  hooks._chainedBatch = function (this: unknown) {
    return (AbstractLevel.prototype as unknown as WriteHooks)._chainedBatch.call(this)
  }
  hooks._clear = (options, callback) => {
    clearReplicated(db, options, replicate).then(() => { callback() }, callback)
  }

  return {
    rawBatch: (ops: RawOp[], { sync }) => new Promise<void>((resolve, reject) => {
      originalBatch(ops.map((op) => op.type === 'put' ? { type: 'put', key: stored(op.key), value: stored(op.value) } : { type: 'del', key: stored(op.key) }), { sync }, (error) => {
        if (error != null) reject(error)
        else resolve()
      })
    }),
    unwrap: () => { Object.assign(hooks, own) }
  }
}

function withOps (build: () => Op[], run: (ops: Op[], callback: Callback) => void, callback: Callback): void {
  let ops: Op[]
  try {
    ops = build()
  } catch (error) {
    callback(error instanceof Error ? error : new Error(String(error)))
    return
  }
  run(ops, callback)
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
async function clearReplicated (db: AbstractLevel<unknown, unknown, unknown>, options: Record<string, unknown>, replicate: Replicate): Promise<void> {
  const range: Record<string, unknown> = { keyEncoding: 'buffer' }
  for (const name of ['gt', 'gte', 'lt', 'lte', 'limit', 'reverse'] as const) {
    if (options[name] !== undefined) range[name] = options[name]
  }
  const keys: Uint8Array[] = []
  for await (const key of db.keys(range)) {
    if (!(key instanceof Uint8Array) || isReservedKey(key)) continue
    keys.push(key)
  }
  for (let i = 0; i < keys.length; i += CLEAR_CHUNK_KEYS) {
    await replicate(keys.slice(i, i + CLEAR_CHUNK_KEYS).map((key) => ({ type: 'del', key: bytesToKey(key) })), null)
  }
}
