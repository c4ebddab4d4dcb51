/**
 * `npm run example:browser`: two Node hosts (classic-level in a temporary directory, a
 * Replicator each, accepting peers over WebSocket) and a page, served at
 * http://127.0.0.1:8080, that joins them as a browser-level replica. Host 1 writes the time
 * every second, so the page shows data arriving live; the page's form writes to the cluster.
 * Open it in two tabs (`?tab=2`) to see them write to each other. PORTS=a,b,c picks the
 * hosts' ports and the page's (the test passes free ones). Ctrl-C stops it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { Replicator, webSocketTransport } from '../../src/index.js'
import { bundlePage } from './bundle-page.js'

const here = dirname(fileURLToPath(import.meta.url))
const [hostA, hostB, web] = (process.env['PORTS'] ?? '3001,3002,8080').split(',').map(Number) as [number, number, number]
const secret = 'example-secret'
/** The tabs the hosts accept: `?tab=1` to `?tab=4`. */
const TABS = [1, 2, 3, 4].map((tab) => ({ host: `tab-${tab}`, port: tab, dial: false }))

const dir = await mkdtemp(join(tmpdir(), 'quorum-level-browser-example-'))
const hosts = await Promise.all([hostA, hostB].map(async (port, i) => {
  const db = new ClassicLevel<string, string>(join(dir, `host-${i + 1}`))
  const replicator = Replicator(db, {
    ...webSocketTransport(),
    host: '127.0.0.1',
    port,
    peers: [{ host: '127.0.0.1', port: i === 0 ? hostB : hostA }, ...TABS],
    minConsensus: 1,
    secret
  })
  await replicator.listen()
  return { db, replicator }
}))

// The page script, with browser-level and the shipped browser bundle, bundled once at start.
const script = await bundlePage(join(here, 'page.js'))
const html = await readFile(join(here, '..', '..', '..', 'examples', 'browser', 'index.html'), 'utf8')

const server = createServer((request, response) => {
  if (request.url === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
  else if (request.url === '/config') response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hosts: [hostA, hostB].map((port) => ({ host: '127.0.0.1', port })), secret }))
  else response.writeHead(200, { 'content-type': 'text/html' }).end(html)
})
await new Promise<void>((resolve) => server.listen(web, '127.0.0.1', resolve))

const first = hosts[0]
const clock = setInterval(() => {
  first?.db.put('clock', new Date().toISOString()).catch(() => {})
}, 1_000)
console.log(`page: http://127.0.0.1:${web}/ (a second tab: http://127.0.0.1:${web}/?tab=2)`)

async function stop (): Promise<void> {
  clearInterval(clock)
  server.close()
  for (const { db, replicator } of hosts) {
    await replicator.close()
    await db.close()
  }
  await rm(dir, { recursive: true, force: true })
  process.exit(0)
}
process.once('SIGINT', () => { stop().catch(() => process.exit(1)) })
process.once('SIGTERM', () => { stop().catch(() => process.exit(1)) })
