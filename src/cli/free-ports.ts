import { type AddressInfo, createServer } from 'node:net'

/**
 * Ports that were free on 127.0.0.1 a moment ago: each is bound with port 0, read, and
 * released. Another process could take one in between; on a test or demo machine that is rare.
 */
export async function freePorts (count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }))
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  return ports
}
