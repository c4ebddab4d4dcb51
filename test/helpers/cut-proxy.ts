import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net'

/**
 * A TCP proxy in front of one port that can be cut, as a network partition cuts a link: every
 * connection through it is destroyed, and new ones are refused, until it is healed.
 */
export class CutProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #cut = false

  private constructor (server: Server) {
    this.#server = server
  }

  static async start (targetPort: number): Promise<CutProxy> {
    let proxy: CutProxy | null = null
    const server = createServer((client) => { if (proxy !== null) proxy.#pipe(client, targetPort) })
    proxy = new CutProxy(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get port (): number {
    return (this.#server.address() as AddressInfo).port
  }

  cut (): void {
    this.#cut = true
    for (const socket of this.#sockets) socket.destroy()
  }

  heal (): void {
    this.#cut = false
  }

  async close (): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => { resolve() }))
  }

  #pipe (client: Socket, targetPort: number): void {
    if (this.#cut) {
      client.destroy()
      return
    }
    const target = connect(targetPort, '127.0.0.1')
    for (const [from, to] of [[client, target], [target, client]] as const) {
      this.#sockets.add(from)
      from.on('error', () => {})
      from.once('close', () => {
        this.#sockets.delete(from)
        to.destroy()
      })
      from.pipe(to)
    }
  }
}
