import type { Key } from './types.js'

/** `String.fromCharCode` takes its codes as arguments: chunk so long keys stay under the engine's limit. */
const CHAR_CODES_PER_CALL = 0x2000

/** The core key of `bytes`: one char per byte, so any key survives exactly. */
export function bytesToKey (bytes: Uint8Array): Key {
  let key = ''
  for (let i = 0; i < bytes.length; i += CHAR_CODES_PER_CALL) {
    key += String.fromCharCode(...bytes.subarray(i, i + CHAR_CODES_PER_CALL))
  }
  return key
}

/**
 * The bytes of a core key. Every core key comes from `bytesToKey`, so a char above 0xff is a
 * bug in quorum-level, not bad input: it throws a RangeError.
 */
export function keyToBytes (key: Key): Uint8Array {
  const bytes = new Uint8Array(key.length)
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i)
    if (code > 0xff) throw new RangeError(`Key char ${i} is U+${code.toString(16).toUpperCase()}, not a byte`)
    bytes[i] = code
  }
  return bytes
}
