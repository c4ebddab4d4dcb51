import { CODES, createError } from '../errors.js'
import { FRAME_BYTES_LIMIT, FRAME_BYTES_MAX_DEFAULT, FRAME_HEADER_BYTES } from './limits.js'

export { FRAME_BYTES_MAX_DEFAULT } from './limits.js'

/**
 * Frames one payload: a 4-byte unsigned big-endian length, then the payload. The sender
 * checks the size itself so that an oversize message fails here, with a clear error, rather
 * than making the peer close the connection.
 *
 * @param payload - the encoded message; never empty (the decoder refuses empty frames).
 * @param frameBytesMax - the largest payload the receiver accepts. @default FRAME_BYTES_MAX_DEFAULT
 * @throws `LEVEL_FRAME_TOO_LARGE` when the payload is longer than `frameBytesMax`,
 *   `LEVEL_PROTOCOL_ERROR` when it is empty.
 */
export function encodeFrame (payload: Uint8Array, frameBytesMax: number = FRAME_BYTES_MAX_DEFAULT): Uint8Array {
  if (payload.byteLength === 0) throw createError('Cannot send an empty frame', CODES.PROTOCOL_ERROR)
  if (payload.byteLength > Math.min(frameBytesMax, FRAME_BYTES_LIMIT)) {
    throw createError(`Frame of ${payload.byteLength} bytes exceeds the limit of ${frameBytesMax} bytes`, CODES.FRAME_TOO_LARGE)
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength)
  new DataView(frame.buffer).setUint32(0, payload.byteLength, false)
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

/**
 * Splits a byte stream back into frame payloads, however the stream was cut into chunks.
 *
 * A frame's body is buffered only as its bytes arrive (never allocated from the header
 * alone), so a peer that announces a large frame and stalls holds no more memory than it
 * sent. A header that announces more than `frameBytesMax` is refused when it is read, before
 * any of the body is buffered. After it has thrown, the decoder is broken for good and throws
 * the same error again: the connection it served must be closed.
 *
 * Bytes may be added (`append`) and frames taken one at a time (`next`), so that a caller can
 * stop between two frames, change the limit, and go on: a header is only judged when the
 * frames before it have been taken.
 *
 * @example
 * const decoder = new FrameDecoder(FRAME_BYTES_MAX_DEFAULT)
 * socket.on('data', (chunk) => { for (const payload of decoder.push(chunk)) handle(payload) })
 */
export class FrameDecoder {
  #frameBytesMax: number
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES)
  #headerFilled = 0
  /** Length of the frame whose body is being collected; -1 while reading a header. */
  #bodyLength = -1
  /** Body bytes received so far, as copies: the caller may reuse its chunks. */
  #bodyParts: Uint8Array[] = []
  #bodyFilled = 0
  /** Appended bytes not yet read into a header or a body, as copies; the first from `#unreadAt`. */
  readonly #unread: Uint8Array[] = []
  #unreadAt = 0
  #unreadBytes = 0
  #failure: Error | null = null

  /**
   * @param frameBytesMax - largest payload accepted, in bytes: a safe integer from 1 to
   *   2^32 - 1. Use {@link FRAME_BYTES_MAX_DEFAULT} unless configured otherwise.
   * @throws `LEVEL_INVALID_OPTION` for any other value.
   */
  constructor (frameBytesMax: number) {
    this.#frameBytesMax = checkFrameBytesMax(frameBytesMax)
  }

  /**
   * The largest payload accepted, in bytes. It may be changed between frames: a connection
   * starts with a small limit (`HANDSHAKE_FRAME_BYTES_MAX`) and raises it once the peer has
   * authenticated. A frame whose header has already been accepted is still completed.
   */
  get frameBytesMax (): number {
    return this.#frameBytesMax
  }

  set frameBytesMax (value: number) {
    this.#frameBytesMax = checkFrameBytesMax(value)
  }

  /** Bytes held that no taken frame accounts for: appended but not yet taken, and partial. */
  get bufferedBytes (): number {
    return this.#unreadBytes + this.#headerFilled + this.#bodyFilled
  }

  /**
   * Feeds the next chunk of the stream and takes every frame it completes.
   *
   * @returns the payloads of those frames, in order; each is a fresh copy that shares no
   *   memory with `chunk`.
   * @throws `LEVEL_FRAME_TOO_LARGE` for a header announcing more than `frameBytesMax`,
   *   `LEVEL_PROTOCOL_ERROR` for a header announcing zero bytes.
   */
  push (chunk: Uint8Array): Uint8Array[] {
    this.append(chunk)
    const frames: Uint8Array[] = []
    for (let frame = this.next(); frame !== null; frame = this.next()) frames.push(frame)
    return frames
  }

  /** Adds the next chunk of the stream (copied) without reading it. */
  append (chunk: Uint8Array): void {
    if (this.#failure !== null) throw this.#failure
    if (chunk.byteLength === 0) return
    // The Uint8Array constructor copies, and yields a plain Uint8Array even from a Node Buffer
    // (whose own slice would share memory, and whose species would make a Buffer).
    this.#unread.push(new Uint8Array(chunk))
    this.#unreadBytes += chunk.byteLength
  }

  /**
   * Takes the next complete frame, judging its header against the limit of this moment.
   *
   * @returns its payload, or null when the bytes appended so far do not complete one.
   * @throws as `push`.
   */
  next (): Uint8Array | null {
    if (this.#failure !== null) throw this.#failure
    while (this.#unread.length > 0) {
      const chunk = this.#unread[0] as Uint8Array
      const offset = this.#unreadAt
      let take: number
      if (this.#bodyLength === -1) {
        take = Math.min(FRAME_HEADER_BYTES - this.#headerFilled, chunk.byteLength - offset)
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFilled)
        this.#headerFilled += take
      } else {
        take = Math.min(this.#bodyLength - this.#bodyFilled, chunk.byteLength - offset)
        this.#bodyParts.push(chunk.subarray(offset, offset + take))
        this.#bodyFilled += take
      }
      this.#consume(take)
      if (this.#bodyLength === -1) {
        if (this.#headerFilled < FRAME_HEADER_BYTES) continue
        this.#headerFilled = 0
        this.#bodyLength = this.#readLength()
      } else if (this.#bodyFilled === this.#bodyLength) {
        return this.#takeBody()
      }
    }
    return null
  }

  #consume (bytes: number): void {
    this.#unreadAt += bytes
    this.#unreadBytes -= bytes
    if (this.#unreadAt === (this.#unread[0] as Uint8Array).byteLength) {
      this.#unread.shift()
      this.#unreadAt = 0
    }
  }

  #readLength (): number {
    const length = new DataView(this.#header.buffer).getUint32(0, false)
    if (length === 0) {
      this.#failure = createError('Peer sent a frame of zero bytes', CODES.PROTOCOL_ERROR)
      throw this.#failure
    }
    if (length > this.#frameBytesMax) {
      this.#failure = createError(`Peer announced a frame of ${length} bytes, over the limit of ${this.#frameBytesMax}`, CODES.FRAME_TOO_LARGE)
      throw this.#failure
    }
    return length
  }

  #takeBody (): Uint8Array {
    // A body that is all of one appended copy is returned as it is; a part of a larger copy is
    // copied out, so that a small frame does not keep a large chunk alive.
    const parts = this.#bodyParts
    const only = parts.length === 1 ? parts[0] as Uint8Array : null
    const body = only !== null && only.byteLength !== only.buffer.byteLength ? only.slice() : concatBytes(parts)
    this.#bodyParts = []
    this.#bodyFilled = 0
    this.#bodyLength = -1
    return body
  }
}

/** `parts` end to end, in one array: the one part itself when there is only one. */
export function concatBytes (parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0]
  let length = 0
  for (const part of parts) length += part.byteLength
  const bytes = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    bytes.set(part, at)
    at += part.byteLength
  }
  return bytes
}

function checkFrameBytesMax (value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > FRAME_BYTES_LIMIT) {
    throw createError(`frameBytesMax must be an integer from 1 to ${FRAME_BYTES_LIMIT}`, CODES.INVALID_OPTION)
  }
  return value
}
