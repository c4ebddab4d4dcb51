const encoder = new TextEncoder()

/**
 * What abstract-level hands a database's private write methods: already-encoded keys and
 * values, as strings (utf8 format) or bytes (buffer and view formats).
 */
export function toBytes (data: unknown): Uint8Array {
  if (typeof data === 'string') return encoder.encode(data)
  if (data instanceof Uint8Array) return data
  throw new TypeError('Expected an encoded key or value (string or bytes)')
}
