import type { Change } from '../core/index.js'
import { keyToBytes } from '../core/index.js'

/** The part of abstract-level@1's transcoders used here. */
interface Transcoder {
  readonly format: string
  decode: (data: unknown) => unknown
}

/** What a database needs to announce changes: its default encodings, and its events. */
export interface AnnouncingDatabase {
  keyEncoding: () => Transcoder
  valueEncoding: () => Transcoder
  emit: (event: string, ...args: unknown[]) => boolean
  listenerCount: (event: string) => number
}

type Decoded = { type: 'put', key: unknown, value: unknown } | { type: 'del', key: unknown }

const utf8 = new TextDecoder()

/** Decodes stored bytes with `transcoder`; bytes it cannot decode are handed over as they are. */
function decoderOf (transcoder: Transcoder): (bytes: Uint8Array) => unknown {
  const input = transcoder.format === 'buffer'
    ? (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : transcoder.format === 'view' ? (bytes: Uint8Array) => bytes : (bytes: Uint8Array) => utf8.decode(bytes)
  return (bytes) => {
    try {
      return transcoder.decode(input(bytes))
    } catch {
      // Written with another encoding than this database's default (a buffer read as json).
      return bytes
    }
  }
}

/**
 * Emits on `db` what a local write emits, for each transaction another host committed:
 * `put` or `del` for one operation, `batch` for several, with keys and values in the
 * database's default encodings. Writes a group committed together arrive as one batch.
 * Emitted after the current turn, so that a throwing listener cannot break the caller.
 */
export function announce (db: AnnouncingDatabase, changes: readonly Change[]): void {
  if (db.listenerCount('put') + db.listenerCount('del') + db.listenerCount('batch') === 0) return
  const key = decoderOf(db.keyEncoding())
  const value = decoderOf(db.valueEncoding())
  const events = changes.map((change) => change.ops.map((op): Decoded => op.type === 'put'
    ? { type: 'put', key: key(keyToBytes(op.key)), value: value(op.value) }
    : { type: 'del', key: key(keyToBytes(op.key)) }))
  queueMicrotask(() => {
    for (const ops of events) {
      const [only] = ops
      if (ops.length > 1 || only === undefined) db.emit('batch', ops)
      else if (only.type === 'put') db.emit('put', only.key, only.value)
      else db.emit('del', only.key)
    }
  })
}
