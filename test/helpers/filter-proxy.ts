import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net'
import { decodePayload } from '../../src/wire/codec.js'
import { FRAME_BYTES_MAX_DEFAULT, FrameDecoder, encodeFrame } from '../../src/wire/frames.js'

/**
 * A TCP proxy in front of a peer's replication port that can drop chosen protocol messages
 * flowing from the dialing host to that peer, as a network that loses exactly those would.
 * It reads quorum-level's frames (rpc-stream calls `deliver(message)`), so a test can cut a
 * transaction between its votes and its commit. Everything else passes unchanged.
 */
export class FilterProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  /** Message types dropped on their way to the target. */
  blocked = new Set<string>()

  private constructor (server: Server) {
    this.#server = server
  }

  static async start (targetPort: number): Promise<FilterProxy> {
    let proxy: FilterProxy | null = null
    const server = createServer((client) => { if (proxy !== null) proxy.#pipe(client, targetPort) })
    proxy = new FilterProxy(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get port (): number {
    return (this.#server.address() as AddressInfo).port
  }

  async close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => { resolve() }))
  }

  #pipe (client: Socket, targetPort: number): void {
    const target = connect(targetPort, '127.0.0.1')
    for (const socket of [client, target]) {
      this.#sockets.add(socket)
      socket.on('error', () => {})
      socket.once('close', () => {
        this.#sockets.delete(socket)
        client.destroy()
        target.destroy()
      })
    }
    target.pipe(client)
    const frames = new FrameDecoder(FRAME_BYTES_MAX_DEFAULT)
    client.on('data', (chunk: Buffer) => {
      for (const payload of frames.push(chunk)) {
        if (!this.#drops(payload)) target.write(encodeFrame(payload))
      }
    })
  }

  #drops (payload: Uint8Array): boolean {
    if (this.blocked.size === 0) return false
    const call = decodePayload(payload)
    if (!Array.isArray(call) || call[0] !== 'deliver' || !Array.isArray(call[1])) return false
    const message = call[1][0] as { type?: unknown } | undefined
    return typeof message?.type === 'string' && this.blocked.has(message.type)
  }
}
