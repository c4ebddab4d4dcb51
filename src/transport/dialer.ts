import { EventEmitter } from 'events'
import type { Duplex } from 'stream'
import { fibonacci } from 'backoff'
import reconnect from 'reconnect-core'
import type { PeerAddress } from './peer-connection.js'

/** Opens a byte stream to a peer: TCP by default, or anything the user injects (TLS, WebSocket). */
export type Transport = (port: number, host: string) => Duplex

export interface DialerOptions {
  readonly transport: Transport
  readonly backoffMsMin: number
  readonly backoffMsMax: number
  /** Consecutive failed attempts after which `fail` is emitted, once per streak. Dialing goes on. */
  readonly failAfter: number
}

interface DialerEvents {
  /** A stream to the peer is open; the owner runs the handshake on it. */
  stream: [stream: Duplex]
  /** A new attempt starts after a failure. */
  reconnect: []
  /** `failAfter` consecutive attempts failed. */
  fail: []
}

/**
 * Keeps one outbound stream to one configured peer, reconnecting with Fibonacci backoff
 * (reconnect-core). Unlike level-2pc it never gives up: after `failAfter` failures it says so
 * and keeps trying at the longest backoff, so a peer that comes back is rejoined.
 */
export class Dialer extends EventEmitter<DialerEvents> {
  readonly address: PeerAddress
  readonly #backoff: ReturnType<typeof fibonacci>
  readonly #reconnector: ReturnType<ReturnType<typeof reconnect>>
  #failures = 0
  #attempts = 0
  #healthy = false
  #stopped = false

  constructor (address: PeerAddress, options: DialerOptions) {
    super()
    this.address = address
    this.#backoff = fibonacci({ initialDelay: options.backoffMsMin, maxDelay: options.backoffMsMax })
    // `immediate`: any duplex counts as connected at once; the handshake decides if it works.
    this.#reconnector = reconnect((port: number, host: string) => options.transport(port, host))({ immediate: true, strategy: this.#backoff }, (stream) => {
      this.#healthy = false
      this.emit('stream', stream)
    })
    // reconnect-core re-emits stream errors; the stream's end is what counts, not its error.
    this.#reconnector.on('error', () => {})
    // reconnect-core numbers attempts by backoff count, which starts at 0 twice; count here.
    this.#reconnector.on('reconnect', () => {
      if (this.#attempts++ > 0) this.emit('reconnect')
    })
    this.#reconnector.on('disconnect', () => {
      if (this.#stopped || this.#healthy) return
      this.#failures++
      if (this.#failures === options.failAfter) this.emit('fail')
    })
  }

  start (): void {
    this.#reconnector.connect(this.address.port, this.address.host)
  }

  /** The owner's handshake succeeded on the current stream: the failure streak ends. */
  markHealthy (): void {
    this.#healthy = true
    this.#failures = 0
  }

  stop (): void {
    this.#stopped = true
    this.#reconnector.disconnect()
    // reconnect-core leaves the backoff timer running; reset clears it so the process can exit.
    this.#backoff.reset()
  }
}
