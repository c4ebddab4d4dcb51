import { bytesToKey, keyToBytes } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { RESERVED_PREFIX, isReservedKey } from './keys.js'
import { STORE_READ } from './store-read-option.js'
import type { StoreDatabase } from './store.js'

/**
 * A store of strings (memory-level's `storeEncoding: 'utf8'`) seen as a store of bytes, for
 * the LevelStore and the raw writes below it. User data is kept as the text it is, and must
 * be valid UTF-8: what is not cannot be held, and is refused (the write fails, or this host
 * stops applying and says why) rather than mangled. quorum-level's own records, whose bytes
 * are not text, are kept under the text prefix U+FFFF U+FFFF "ql", the rest of their key and
 * their value as latin1 (one char per byte, so their order is the bytes'): U+FFFF is the
 * highest UTF-16 unit, so they sort after every other text, as FF FF sorts after UTF-8.
 */

const STRINGS = { keyEncoding: 'utf8', valueEncoding: 'utf8', [STORE_READ]: true } as const
/** Where a store of strings keeps quorum-level's records: the reserved prefix's place in text. */
const RESERVED_TEXT = '\uffff\uffffql'
const PREFIX_BYTES = keyToBytes(RESERVED_PREFIX)
const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

function cannotHold (what: string): Error {
  return createError(`A store of strings cannot hold ${what}: use storeEncoding 'view' or 'buffer' on every host that may receive it`, CODES.NOT_SUPPORTED, { expected: true })
}

/** A key as the store of strings holds it. */
export function storedKey (bytes: Uint8Array): string {
  if (isReservedKey(bytes)) return RESERVED_TEXT + bytesToKey(bytes.subarray(PREFIX_BYTES.length))
  const text = decodeText(bytes, 'a key that is not UTF-8 text')
  if (text.startsWith(RESERVED_TEXT)) throw cannotHold(`the key ${JSON.stringify(text.slice(0, 16))}, which reads as quorum-level's reserved prefix there`)
  return text
}

/** A value as the store of strings holds it: a record's as latin1, user data as text. */
export function storedValue (key: Uint8Array, value: Uint8Array): string {
  return isReservedKey(key) ? bytesToKey(value) : decodeText(value, 'a value that is not UTF-8 text')
}

function decodeText (bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    throw cannotHold(what)
  }
}

function keyBytes (stored: string): Uint8Array {
  if (!stored.startsWith(RESERVED_TEXT)) return utf8Encoder.encode(stored)
  const rest = keyToBytes(stored.slice(RESERVED_TEXT.length))
  const bytes = new Uint8Array(PREFIX_BYTES.length + rest.length)
  bytes.set(PREFIX_BYTES)
  bytes.set(rest, PREFIX_BYTES.length)
  return bytes
}

function valueBytes (storedKeyText: string, stored: string): Uint8Array {
  return storedKeyText.startsWith(RESERVED_TEXT) ? keyToBytes(stored) : utf8Encoder.encode(stored)
}

/** Whether a user key, as a local write hands it to a store of strings, lies in the reserved range there. */
export function isReservedText (key: unknown): boolean {
  return typeof key === 'string' && key.startsWith(RESERVED_TEXT)
}

interface StringIterator {
  next (): Promise<[string, string] | undefined>
  nextv (size: number): Promise<Array<[string, string]>>
  seek (target: string): void
  close (): Promise<void>
}

interface StringDatabase {
  getMany (keys: string[], options: typeof STRINGS): Promise<Array<string | undefined>>
  iterator (options: Record<string | symbol, unknown>): StringIterator
  keys (options: Record<string | symbol, unknown>): { nextv (size: number): Promise<string[]>, close (): Promise<void> }
}

function range (options: { readonly gt?: Uint8Array, readonly gte?: Uint8Array, readonly lt?: Uint8Array, readonly lte?: Uint8Array, readonly limit?: number, readonly reverse?: boolean }): Record<string | symbol, unknown> {
  const out: Record<string | symbol, unknown> = { ...STRINGS }
  // Ranges are the store's own, inside the reserved range, whose order the mapping keeps.
  if (options.gt !== undefined) out['gt'] = storedKey(options.gt)
  if (options.gte !== undefined) out['gte'] = storedKey(options.gte)
  if (options.lt !== undefined) out['lt'] = storedKey(options.lt)
  if (options.lte !== undefined) out['lte'] = storedKey(options.lte)
  if (options.limit !== undefined) out['limit'] = options.limit
  if (options.reverse !== undefined) out['reverse'] = options.reverse
  return out
}

function entry ([key, value]: [string, string]): [Uint8Array, Uint8Array] {
  return [keyBytes(key), valueBytes(key, value)]
}

/** The LevelStore's view of a store of strings: bytes in, bytes out. */
export function bytesOverStrings (database: object): StoreDatabase {
  const db = database as StringDatabase
  return {
    getMany: async (keys) => {
      const stored = keys.map(storedKey)
      const values = await db.getMany(stored, STRINGS)
      return values.map((value, i) => value === undefined ? undefined : valueBytes(stored[i] as string, value))
    },
    iterator: (options) => {
      const iterator = db.iterator(range(options))
      return {
        next: async () => {
          const found = await iterator.next()
          return found === undefined ? undefined : entry(found)
        },
        nextv: async (size) => (await iterator.nextv(size)).map(entry),
        // Seeks go to user keys (a full copy's values) or to the store's own.
        seek: (target) => { iterator.seek(storedKey(target)) },
        close: async () => { await iterator.close() }
      }
    },
    keys: (options) => {
      const iterator = db.keys(range(options))
      return {
        nextv: async (size) => (await iterator.nextv(size)).map(keyBytes),
        close: async () => { await iterator.close() }
      }
    }
  }
}
