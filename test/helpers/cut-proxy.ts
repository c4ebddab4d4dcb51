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

/**
 * A proxy for every ordered pair of hosts listening on `ports` (host i reaches host j through
 * its own proxy), so that a test can cut the link between any two hosts, or all of a host's.
 */
export class ProxyMesh {
  readonly #proxies: Map<string, CutProxy>

  private constructor (proxies: Map<string, CutProxy>) {
    this.#proxies = proxies
  }

  static async start (ports: readonly number[]): Promise<ProxyMesh> {
    const proxies = new Map<string, CutProxy>()
    for (let from = 0; from < ports.length; from++) {
      for (let to = 0; to < ports.length; to++) if (from !== to) proxies.set(`${from}>${to}`, await CutProxy.start(ports[to] as number))
    }
    return new ProxyMesh(proxies)
  }

  /** Host `from`'s peers: every other host, as it reaches them, through its proxies. */
  peersOf (from: number): Array<{ host: string, port: number }> {
    return [...this.#proxies].filter(([link]) => link.startsWith(`${from}>`)).map(([, proxy]) => ({ host: '127.0.0.1', port: proxy.port }))
  }

  /** Cuts (or heals) the link between hosts `a` and `b`, both ways. */
  cut (a: number, b: number, cut: boolean): void {
    for (const link of [`${a}>${b}`, `${b}>${a}`]) {
      const proxy = this.#proxies.get(link) as CutProxy
      if (cut) proxy.cut()
      else proxy.heal()
    }
  }

  /** Cuts (or heals) every link of `host`. */
  isolate (host: number, cut: boolean): void {
    for (const link of this.#proxies.keys()) {
      const [from, to] = link.split('>').map(Number) as [number, number]
      if (from === host) this.cut(from, to, cut)
    }
  }

  async close (): Promise<void> {
    for (const proxy of this.#proxies.values()) await proxy.close()
  }
}
