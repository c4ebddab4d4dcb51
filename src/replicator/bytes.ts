import { assert } from '../core/index.js'

const encoder = new TextEncoder()

/**
 * What abstract-level hands a database's private write methods: already-encoded keys and
 * values, as strings (utf8 format) or bytes (buffer and view formats). abstract-level@1 has
 * no other format, so anything else is a bug here, not the user's argument.
 */
/** The same bytes as a Node Buffer, without a copy, for a store or an encoding that takes Buffers. */
export function asBuffer (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function toBytes (data: unknown): Uint8Array {
  if (typeof data === 'string') return encoder.encode(data)
  assert(data instanceof Uint8Array, 'abstract-level hands over keys and values encoded as strings or bytes')
  return data
}
