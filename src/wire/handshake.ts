import { CODES, createError } from '../errors.js'
import { isHostId } from './host-id.js'
import { ADDRESS_HOST_CHARS_MAX, NONCE_BYTES, PROOF_BYTES } from './limits.js'
import { describe, expectBytes, expectHostId, expectInteger, expectPlainObject, expectShape, invalid } from './validate.js'

/**
 * The handshake that opens every peer connection, whichever side dialed it.
 *
 * 1. As soon as the stream is up, each side calls `hello` on the other (an rpc call with a
 *    callback), passing its {@link Hello}: its host id and a fresh 32-byte nonce.
 * 2. The callee refuses a hello that claims the callee's own id (a reflection: otherwise a
 *    man in the middle could send a host its own hello and have it prove its own nonce),
 *    then answers with `prove(secret, callerNonce, calleeId, callerId)`.
 * 3. The caller checks that answer with `verify(secret, ownNonce, calleeId, ownId, proof)`.
 *    The connection is open once both sides have verified the other's proof; any failure
 *    closes it with `LEVEL_AUTH_FAILED`.
 *
 * The secret itself never goes on the wire. A proof binds the nonce (so it cannot be
 * replayed on another connection) and both ids in order (so a proof that A made for B says
 * nothing about B, and cannot be passed off by a third host). The proof does not protect the
 * traffic after the handshake: use a TLS transport where the network is not trusted.
 */

/** The version of the peer protocol this code speaks; a hello with another is refused. */
export const PROTOCOL_VERSION = 1

/** What a host announces when a connection opens. */
export interface Hello {
  /** {@link PROTOCOL_VERSION} of the sender. */
  readonly protocol: number
  /** The sender's host id (its cluster identity), following the host id rule. */
  readonly id: string
  /** A fresh random challenge of {@link NONCE_BYTES} bytes, used for this connection only. */
  readonly nonce: Uint8Array
  /**
   * Where the sender can be dialed, so that a host can tell which of its configured peers
   * dialed it; null when it accepts no connections. Never dialed unless configured.
   */
  readonly address: { readonly host: string, readonly port: number } | null
}

/** Domain separation: this HMAC input can never be mistaken for any other use of the secret. */
const PROOF_DOMAIN = 'quorum-level/1 proof'
const PORT_MIN = 1
const PORT_MAX = 65_535

const textEncoder = new TextEncoder()

/** WebCrypto's key type, derived rather than named: the tsconfig includes no DOM lib. */
type HmacKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>

/** The wire form of a hello: a map with the same fields, the nonce as msgpack `bin`. */
export function helloToWire (hello: Hello): unknown {
  const address = hello.address === null ? null : { host: hello.address.host, port: hello.address.port }
  return { protocol: hello.protocol, id: hello.id, nonce: hello.nonce, address }
}

/**
 * A hello from its untrusted wire form, validated like a message: exact fields, a host id
 * that follows the rule, a nonce of exactly 32 bytes, and an address that is null or a
 * printable host name with a port from 1 to 65535. The protocol version is checked first,
 * so that a peer of another version gets a clear error rather than a shape complaint.
 *
 * @throws `LEVEL_PROTOCOL_ERROR` naming the field found wrong.
 */
export function helloFromWire (value: unknown): Hello {
  const object = expectPlainObject(value, 'hello')
  if (!Object.hasOwn(object, 'protocol')) throw invalid('hello.protocol', 'is missing')
  const protocol = expectInteger(object['protocol'], 'hello.protocol', 1)
  if (protocol !== PROTOCOL_VERSION) throw invalid('hello.protocol', `is ${protocol}, but this host speaks protocol ${PROTOCOL_VERSION}`)
  const m = expectShape(value, 'hello', ['protocol', 'id', 'nonce', 'address'])
  const nonce = expectBytes(m['nonce'], 'hello.nonce')
  if (nonce.byteLength !== NONCE_BYTES) throw invalid('hello.nonce', `must be ${NONCE_BYTES} bytes, not ${nonce.byteLength}`)
  return { protocol, id: expectHostId(m['id'], 'hello.id'), nonce, address: addressFromWire(m['address']) }
}

function addressFromWire (value: unknown): Hello['address'] {
  if (value === null) return null
  const address = expectShape(value, 'hello.address', ['host', 'port'])
  const host = address['host']
  // Printable ASCII without spaces covers DNS names and IPv4/IPv6 literals (with a zone id).
  if (typeof host !== 'string' || host.length === 0 || host.length > ADDRESS_HOST_CHARS_MAX || !/^[\x21-\x7e]+$/.test(host)) {
    throw invalid('hello.address.host', `must be 1 to ${ADDRESS_HOST_CHARS_MAX} printable ASCII characters, not ${describe(host)}`)
  }
  const port = expectInteger(address['port'], 'hello.address.port', PORT_MIN)
  if (port > PORT_MAX) throw invalid('hello.address.port', `must be at most ${PORT_MAX}, not ${port}`)
  return { host, port }
}

/** A fresh random nonce of {@link NONCE_BYTES} bytes from the platform's CSPRNG. */
export function createNonce (): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
}

/**
 * The proof that the prover knows `secret`: HMAC-SHA-256 keyed by the secret's UTF-8 bytes
 * over the domain string, the verifier's nonce, the prover's id and the verifier's id, each
 * preceded by its length as 4 big-endian bytes, so that no two different inputs encode alike.
 *
 * @param nonce - the nonce the verifier sent in its hello.
 * @param proverId - the id of the host making the proof (the callee of `hello`).
 * @param verifierId - the id of the host that will check it (the caller).
 * @returns {@link PROOF_BYTES} bytes.
 * @throws `LEVEL_INVALID_OPTION` for an empty secret, `LEVEL_PROTOCOL_ERROR` for a nonce that
 *   is not 32 bytes or an id that does not follow the host id rule.
 */
export async function prove (secret: string, nonce: Uint8Array, proverId: string, verifierId: string): Promise<Uint8Array> {
  const key = await importSecret(secret)
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== NONCE_BYTES) throw createError(`Cannot prove: the nonce must be ${NONCE_BYTES} bytes`, CODES.PROTOCOL_ERROR)
  if (!isHostId(proverId) || !isHostId(verifierId)) throw createError('Cannot prove: both ids must be host ids', CODES.PROTOCOL_ERROR)
  const mac = await globalThis.crypto.subtle.sign('HMAC', key, proofInput(nonce, proverId, verifierId))
  return new Uint8Array(mac)
}

/**
 * Whether `proof` is what {@link prove} makes from the same arguments. Every argument a peer
 * could have chosen is type-checked, and anything unexpected (a proof that is not a
 * Uint8Array of 32 bytes, a malformed nonce or id) is a plain `false`, never an exception.
 * The comparison takes the same time wherever the bytes differ.
 *
 * @throws `LEVEL_INVALID_OPTION` for an empty secret: that is this host's configuration error.
 */
export async function verify (secret: string, nonce: Uint8Array, proverId: string, verifierId: string, proof: unknown): Promise<boolean> {
  const key = await importSecret(secret)
  if (!(proof instanceof Uint8Array) || proof.byteLength !== PROOF_BYTES) return false
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== NONCE_BYTES) return false
  if (!isHostId(proverId) || !isHostId(verifierId)) return false
  const expected = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, proofInput(nonce, proverId, verifierId)))
  return equalInConstantTime(expected, proof)
}

async function importSecret (secret: string): Promise<HmacKey> {
  // WebCrypto refuses an empty HMAC key, and an empty secret would be no secret at all.
  if (typeof secret !== 'string' || secret.length === 0) throw createError('secret must be a non-empty string', CODES.INVALID_OPTION)
  return await globalThis.crypto.subtle.importKey('raw', textEncoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

function proofInput (nonce: Uint8Array, proverId: string, verifierId: string): Uint8Array {
  const fields = [textEncoder.encode(PROOF_DOMAIN), nonce, textEncoder.encode(proverId), textEncoder.encode(verifierId)]
  const input = new Uint8Array(fields.reduce((sum, field) => sum + 4 + field.byteLength, 0))
  const view = new DataView(input.buffer)
  let at = 0
  for (const field of fields) {
    view.setUint32(at, field.byteLength, false)
    input.set(field, at + 4)
    at += 4 + field.byteLength
  }
  return input
}

/** Compares two arrays of equal length without an early exit, so timing reveals no prefix. */
function equalInConstantTime (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let difference = 0
  for (let i = 0; i < a.byteLength; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return difference === 0
}
