import type { Op } from '../core/index.js'
import { keyToBytes } from '../core/index.js'
import { asBuffer } from './bytes.js'

/** The part of abstract-level@1's transcoders used here. */
export interface Transcoder {
  readonly format: string
  decode: (data: unknown) => unknown
}

/** What a database needs to announce changes: its default encodings, and its events. */
export interface AnnouncingDatabase {
  keyEncoding: () => Transcoder
  valueEncoding: () => Transcoder
  emit: (event: string, ...args: unknown[]) => boolean
  listenerCount: (event: string) => number
  /** Present from abstract-level 2 on, which announces writes with one `write` event. */
  readonly hooks?: unknown
}

type Decoded = { type: 'put', key: unknown, value: unknown, encodedKey: unknown, encodedValue: unknown } | { type: 'del', key: unknown, encodedKey: unknown }

const utf8 = new TextDecoder()

/** Stored bytes in a transcoder's format, and decoded by it; bytes it cannot decode are handed over as they are. */
export function codecOf (transcoder: Transcoder): { encoded: (bytes: Uint8Array) => unknown, decode: (encoded: unknown, bytes: Uint8Array) => unknown } {
  const encoded = transcoder.format === 'buffer'
    ? asBuffer
    : transcoder.format === 'view' ? (bytes: Uint8Array) => bytes : (bytes: Uint8Array) => utf8.decode(bytes)
  const decode = (data: unknown, bytes: Uint8Array): unknown => {
    try {
      return transcoder.decode(data)
    } catch {
      // Written with another encoding than this database's default (a buffer read as json).
      return bytes
    }
  }
  return { encoded, decode }
}

/**
 * Emits on `db` what a local write emits, for each transaction another host committed (its
 * operations that took effect, one list per transaction), with
 * keys and values in the database's default encodings: on abstract-level 1, `put` or `del`
 * for one operation and `batch` for several; from abstract-level 2 on, one `write`. Writes a
 * group committed together arrive as one batch. Emitted after the current turn, so that a
 * throwing listener cannot break the caller.
 */
export function announce (db: AnnouncingDatabase, transactions: ReadonlyArray<readonly Op[]>): void {
  const modern = db.hooks !== undefined
  const listeners = modern ? db.listenerCount('write') : db.listenerCount('put') + db.listenerCount('del') + db.listenerCount('batch')
  if (listeners === 0) return
  const keyEncoding = db.keyEncoding()
  const valueEncoding = db.valueEncoding()
  const keys = codecOf(keyEncoding)
  const values = codecOf(valueEncoding)
  const events = transactions.map((ops) => ops.map((op): Decoded => {
    const keyBytes = keyToBytes(op.key)
    const encodedKey = keys.encoded(keyBytes)
    const key = keys.decode(encodedKey, keyBytes)
    if (op.type === 'del') return { type: 'del', key, encodedKey }
    const encodedValue = values.encoded(op.value)
    return { type: 'put', key, value: values.decode(encodedValue, op.value), encodedKey, encodedValue }
  }))
  queueMicrotask(() => {
    for (const ops of events) {
      if (modern) {
        db.emit('write', ops.map((op) => op.type === 'put' ? { ...op, keyEncoding, valueEncoding } : { ...op, keyEncoding }))
        continue
      }
      const [only] = ops
      if (ops.length > 1 || only === undefined) db.emit('batch', ops.map((op) => op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : { type: 'del', key: op.key }))
      else if (only.type === 'put') db.emit('put', only.key, only.value)
      else db.emit('del', only.key)
    }
  })
}
