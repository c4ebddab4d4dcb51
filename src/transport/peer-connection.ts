import { EventEmitter } from 'events'
import rpc from 'rpc-stream'
import type ModuleError from 'module-error'
import type { Message } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import { decodePayload, encodePayload } from '../wire/codec.js'
import { FrameDecoder, concatBytes, encodeFrame } from '../wire/frames.js'
import { type Hello, PROTOCOL_VERSION, createNonce, helloFromWire, helloToWire, prove, verify } from '../wire/handshake.js'
import { messageFromWire, messageToWire } from '../wire/messages.js'
import { parseRpcFrame } from '../wire/rpc-frames.js'
import { HANDSHAKE_FRAME_BYTES_MAX } from '../wire/limits.js'

/** Where a host can be dialed. */
export interface PeerAddress {
  readonly host: string
  readonly port: number
  /**
   * `false` for a peer that only dials in (a browser tab): this host never dials it, and knows
   * it by the `host` and `port` it announces. @default true
   */
  readonly dial?: boolean
}

export interface PeerConnectionOptions {
  readonly localId: string
  /** This host's own endpoint, announced in the handshake so a peer can tell which of its configured peers dialed it. */
  readonly address: PeerAddress | null
  readonly secret: string | null
  readonly frameBytesMax: number
  /** Every call (handshake, ping) fails, and the connection closes, when no answer comes in this time. */
  readonly callTimeoutMs: number
  readonly pingIntervalMs: number
}

/** The two ends of a byte stream, as the connection needs them. */
export interface ByteChannel {
  write: (bytes: Uint8Array) => void
  end: () => void
}

const HANDSHAKE_METHODS: ReadonlySet<string> = new Set(['hello'])
/**
 * Bytes held while the peer's proof is checked, in frame limits: a peer that opened first may
 * already send what it had queued, and the check takes a moment. More than this is a flood.
 */
const HELD_FRAME_LIMITS_MAX = 2
const OPEN_METHODS: ReadonlySet<string> = new Set(['hello', 'deliver', 'ping'])

interface PeerConnectionEvents {
  /** The peer proved its identity; `hello` is what it announced. */
  open: [hello: Hello]
  message: [message: Message]
  /** The connection is over; `error` says why when it was not a clean end. */
  close: [error: ModuleError | null]
}

/**
 * One authenticated peer connection over any byte stream: frames (length-prefixed msgpack),
 * validated before rpc-stream sees them; a handshake in which both sides prove knowledge of
 * the secret; then protocol messages both ways. Whatever goes wrong closes this connection
 * and nothing else, and is reported through `close`, never as an `error` event.
 */
export class PeerConnection extends EventEmitter<PeerConnectionEvents> {
  readonly #options: PeerConnectionOptions
  readonly #channel: ByteChannel
  readonly #decoder: FrameDecoder
  readonly #rpc: ReturnType<typeof rpc>
  readonly #nonce = createNonce()
  readonly #pendingCalls = new Set<(error: ModuleError) => void>()
  /** Callback ids of our calls still unanswered: a response with any other id is a protocol error. */
  readonly #unanswered = new Set<number>()
  readonly #inbox: Message[] = []
  #remote: Hello | null = null
  #remoteProof: unknown = undefined
  /** Our proof is on its way to the peer: only then may our messages follow it. */
  #answered = false
  #state: 'handshake' | 'verifying' | 'open' | 'closed' = 'handshake'
  #opened = false
  #pingTimer: ReturnType<typeof setInterval> | null = null
  /** Frames written in this turn of the event loop, sent together at its end. */
  #outgoing: Uint8Array[] = []
  /** When a frame last came from the peer (wall clock, ms), and how long the last ping took. */
  #lastContactAt: number | null = null
  #roundTripMs: number | null = null

  constructor (channel: ByteChannel, options: PeerConnectionOptions) {
    super()
    this.#channel = channel
    this.#options = options
    // Until the peer has proved itself, only small frames: a handshake needs no more.
    this.#decoder = new FrameDecoder(Math.min(HANDSHAKE_FRAME_BYTES_MAX, options.frameBytesMax))
    // Handlers receive arguments already validated by `receive`: rpc-stream swallows what a
    // handler throws, so nothing may be left to throw there.
    this.#rpc = rpc({
      hello: (hello: Hello, callback: (error: null, proof: Uint8Array | null) => void) => { this.#answerHello(hello, callback) },
      deliver: (message: Message) => { this.#inbox.push(message) },
      ping: (callback: (error: null) => void) => { callback(null) }
    }, true)
    this.#rpc.on('data', (tuple: unknown[]) => { this.#output(tuple) })
    const hello: Hello = { protocol: PROTOCOL_VERSION, id: options.localId, nonce: this.#nonce, address: options.address }
    // The answer is taken synchronously, so frames behind it wait for the check of the proof.
    this.#call('hello', [helloToWire(hello)], ([error, proof]) => {
      if (error != null) {
        this.close(createError('Peer refused the handshake', CODES.AUTH_FAILED))
        return
      }
      this.#remoteProof = proof
      this.#maybeOpen().catch((failure: unknown) => { this.close(asModuleError(failure)) })
    }).catch((error: unknown) => { this.close(asModuleError(error)) })
  }

  /** The peer's handshake, once it has proved itself; still known after the connection closed. */
  /** When a frame last came from the peer (ms since the epoch), if one has. */
  get lastContactAt (): number | null {
    return this.#lastContactAt
  }

  /** How long the last answered ping took, in ms, if one has been. */
  get roundTripMs (): number | null {
    return this.#roundTripMs
  }

  get remote (): Hello | null {
    return this.#opened ? this.#remote : null
  }

  /** Feeds bytes received from the peer. */
  receive (chunk: Uint8Array): void {
    if (this.#state === 'closed') return
    try {
      this.#decoder.append(chunk)
      if (this.#state !== 'open' && this.#decoder.bufferedBytes > HELD_FRAME_LIMITS_MAX * this.#options.frameBytesMax) {
        throw createError('Peer sent too much before the handshake completed', CODES.PROTOCOL_ERROR)
      }
    } catch (error) {
      this.close(asModuleError(error))
      return
    }
    this.#processFrames()
  }

  /**
   * Takes frames one at a time, and none while the peer's proof is checked: the peer may open
   * first and send large frames right behind its proof, even in the same chunk, and only the
   * opened connection's limit may judge their headers.
   */
  #processFrames (): void {
    try {
      while (this.#state === 'handshake' || this.#state === 'open') {
        const frame = this.#decoder.next()
        if (frame === null) break
        this.#lastContactAt = Date.now()
        const methods = this.#state === 'open' ? OPEN_METHODS : HANDSHAKE_METHODS
        const parsed = parseRpcFrame(decodePayload(frame), methods)
        if (parsed.kind === 'response') {
          if (!this.#unanswered.delete(parsed.id)) throw createError(`Peer answered unknown call ${parsed.id}`, CODES.PROTOCOL_ERROR)
          this.#rpc.write([parsed.args, parsed.id])
        } else {
          this.#rpc.write([parsed.method, this.#validateArgs(parsed.method, parsed.args, parsed.id), parsed.id])
        }
      }
    } catch (error) {
      this.close(asModuleError(error))
      return
    }
    // Delivered outside the try: a failure in the receiver is not the peer's fault.
    for (let message = this.#inbox.shift(); message !== undefined; message = this.#inbox.shift()) {
      if (this.#state !== 'open') return
      this.emit('message', message)
    }
  }

  send (message: Message): void {
    if (this.#state !== 'open') return
    this.#rpc.rpc('deliver', [messageToWire(message)])
  }

  /** Ends the connection; `error` is the reason when it was not a clean end. Idempotent. */
  close (error: ModuleError | null = null): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer)
    const lost = createError('Peer connection closed', CODES.CONNECTION_LOST, error === null ? {} : { cause: error })
    for (const fail of [...this.#pendingCalls]) fail(lost)
    this.#flush()
    this.#channel.end()
    this.emit('close', error)
  }

  #output (tuple: unknown[]): void {
    if (this.#state === 'closed') return
    // A request with a callback carries its id last; remember it to validate the answer.
    const id = tuple[tuple.length - 1]
    if (tuple.length === 3 && typeof id === 'number' && id !== -1) this.#unanswered.add(id)
    let frame: Uint8Array
    try {
      frame = encodeFrame(encodePayload(tuple), this.#options.frameBytesMax)
    } catch (error) {
      this.close(asModuleError(error))
      return
    }
    if (this.#outgoing.push(frame) === 1) queueMicrotask(() => { this.#flush() })
  }

  /**
   * One write per turn of the event loop: a step of the core that sends a peer several
   * messages costs the transport one write (one syscall on TCP), not one per frame.
   */
  #flush (): void {
    const frames = this.#outgoing
    if (frames.length === 0) return
    this.#outgoing = []
    this.#channel.write(concatBytes(frames))
  }

  /** Calls the peer; `onAnswer` runs synchronously with the answer, before the promise settles. */
  #call (method: string, args: unknown[], onAnswer?: (answer: unknown[]) => void): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      let settled = false
      // Whichever comes first, the answer, the timeout or the close, settles the call once.
      const settle = (): boolean => {
        if (settled) return false
        settled = true
        clearTimeout(timer)
        this.#pendingCalls.delete(fail)
        return true
      }
      const fail = (error: ModuleError): void => { if (settle()) reject(error) }
      const timer = setTimeout(() => { fail(createError(`Peer did not answer ${method} in time`, CODES.TIMEOUT)) }, this.#options.callTimeoutMs)
      this.#pendingCalls.add(fail)
      this.#rpc.rpc(method, args, (...answer: unknown[]) => {
        if (!settle()) return
        onAnswer?.(answer)
        resolve(answer)
      })
    })
  }

  #validateArgs (method: string, args: unknown[], id: number): unknown[] {
    const expected = method === 'ping' ? 0 : 1
    if (args.length !== expected) throw createError(`Peer called ${method} with ${args.length} arguments`, CODES.PROTOCOL_ERROR)
    if ((method === 'deliver') !== (id === -1)) throw createError(`Peer called ${method} with a wrong kind of id`, CODES.PROTOCOL_ERROR)
    if (method === 'deliver') return [messageFromWire(args[0])]
    if (method === 'ping') return []
    if (this.#remote !== null) throw createError('Peer sent a second hello', CODES.PROTOCOL_ERROR)
    const hello = helloFromWire(args[0])
    if (hello.protocol !== PROTOCOL_VERSION) throw createError(`Peer speaks protocol ${hello.protocol}, not ${PROTOCOL_VERSION}`, CODES.PROTOCOL_ERROR)
    // A hello with our own identity is a reflection of our own hello, or a host talking to itself.
    if (hello.id === this.#options.localId) throw createError('Peer claims this host\'s identity', CODES.AUTH_FAILED)
    this.#remote = hello
    return [hello]
  }

  #answerHello (hello: Hello, callback: (error: null, proof: Uint8Array | null) => void): void {
    const { secret } = this.#options
    const answer = secret === null ? Promise.resolve(null) : prove(secret, hello.nonce, this.#options.localId, hello.id)
    answer.then((proof) => {
      if (this.#state === 'closed') return
      // Marked before sending: on a synchronous stream the peer may answer inside this call.
      this.#answered = true
      callback(null, proof)
      return this.#maybeOpen()
    }).catch((error: unknown) => { this.close(asModuleError(error)) })
  }

  async #maybeOpen (): Promise<void> {
    const remote = this.#remote
    if (this.#state !== 'handshake' || remote === null || this.#remoteProof === undefined || !this.#answered) return
    this.#state = 'verifying'
    const { secret, localId } = this.#options
    // Always yields, secret or not: opening inside a synchronous peer's own send would let our
    // first messages overtake what it is still sending us. Frames meanwhile wait in the decoder.
    const valid = secret === null ? await Promise.resolve(true) : await verify(secret, this.#nonce, remote.id, localId, this.#remoteProof)
    if (!valid) throw createError('Peer could not prove it knows the cluster secret', CODES.AUTH_FAILED)
    if (this.#state !== 'verifying') return
    this.#state = 'open'
    this.#opened = true
    this.#decoder.frameBytesMax = this.#options.frameBytesMax
    this.#pingTimer = setInterval(() => {
      const sent = performance.now()
      this.#call('ping', []).then(() => { this.#roundTripMs = performance.now() - sent }, (error: unknown) => { this.close(asModuleError(error)) })
    }, this.#options.pingIntervalMs)
    this.#pingTimer.unref?.()
    this.emit('open', remote)
    this.#processFrames()
  }
}

function asModuleError (error: unknown): ModuleError {
  if (error instanceof Error && typeof (error as ModuleError).code === 'string' && (error as ModuleError).code?.startsWith('LEVEL_') === true) {
    return error as ModuleError
  }
  return createError('Peer connection failed', CODES.PROTOCOL_ERROR, error instanceof Error ? { cause: error } : {})
}
