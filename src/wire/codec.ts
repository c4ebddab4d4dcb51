import { Packr } from 'msgpackr'
import { CODES, createError } from '../errors.js'

/**
 * The one msgpack codec of the peer protocol. Each option is chosen so that what crosses the
 * wire is plain, standard msgpack that another implementation can read and write:
 *
 * - `useRecords: false`: no msgpackr "records" (a private extension that interns object
 *   shapes); objects travel as standard msgpack maps.
 * - `mapsAsObjects: true`: maps decode to plain objects, the shapes the validators check.
 *   msgpackr renames a `__proto__` map key to `__proto_`, so no map can set a prototype;
 *   user keys never travel as map keys anyway (they are bytes, see messages.ts), so that
 *   renaming can never alter user data.
 * - `moreTypes: false`: a Uint8Array travels as standard msgpack `bin`, never as msgpackr's
 *   typed-array extension, and `bin` decodes to a Uint8Array.
 * - `copyBuffers: true`: each decoded `bin` is a copy, so a small stored value does not keep
 *   its whole (up to 16 MiB) frame alive.
 * - `structuredClone: false`: refuses the reference extensions, which can build cyclic and
 *   shared object graphs out of a few bytes.
 * - `int64AsType: 'number'`: a 64-bit integer from another encoder decodes to a number (not a
 *   bigint), which validation then accepts only as a safe integer.
 * - `useFloat32` stays off: every number round-trips exactly.
 *
 * Other msgpackr extensions (Date, Set, Error, RegExp, bigint) still decode, as their
 * registration is global to msgpackr; validation refuses every such value.
 */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  copyBuffers: true,
  structuredClone: false,
  int64AsType: 'number'
})

/**
 * Encodes one value as msgpack.
 *
 * @returns a plain Uint8Array (msgpackr returns a Node Buffer where one exists; no caller may
 *   rely on Buffer methods, since browsers have none).
 * @throws `LEVEL_PROTOCOL_ERROR` when the value cannot be encoded (e.g. a bigint).
 */
export function encodePayload (value: unknown): Uint8Array {
  let packed: Uint8Array
  try {
    packed = packr.pack(value)
  } catch (error) {
    throw createError('Cannot encode a peer message', CODES.PROTOCOL_ERROR, error instanceof Error ? { cause: error } : {})
  }
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

/**
 * Decodes exactly one msgpack value that fills `bytes`, with nothing after it. The result
 * is untrusted: pass it through a validator (messageFromWire, helloFromWire,
 * parseRpcFrame) before anything else reads it.
 *
 * @throws `LEVEL_PROTOCOL_ERROR` for empty input, bytes that are not msgpack, a value cut
 *   short, or trailing bytes after the value.
 */
export function decodePayload (bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
    throw createError('Peer sent an empty payload', CODES.PROTOCOL_ERROR)
  }
  // A plain view, so that decoded `bin` copies are plain Uint8Arrays even when the input is
  // a Node Buffer (a copying slice keeps the source's class).
  const source = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let value: unknown
  let end = -1
  try {
    // unpackMultiple stops after the first value and reports where it ended. unpack() would
    // also refuse trailing bytes, but first JSON-stringifies the whole value for its error
    // message: a 16 MiB value with one trailing byte would cost far more than it was sent.
    packr.unpackMultiple(source, (item: unknown, _start?: number, stop?: number): boolean => {
      value = item
      end = stop ?? -1
      return false
    })
  } catch (error) {
    throw createError('Peer sent a payload that is not valid msgpack', CODES.PROTOCOL_ERROR, error instanceof Error ? { cause: error } : {})
  }
  if (end !== source.byteLength) {
    throw createError(`Peer sent ${source.byteLength - end} bytes after the payload's value`, CODES.PROTOCOL_ERROR)
  }
  return value
}
