/**
 * Goal: a browser tab is a replica of a Node cluster, as README's browser setup promises: it
 * catches up writes made before it came, its writes reach every Node host under
 * `minConsensus`, a reloaded tab (IndexedDB kept) catches up what it missed, two tabs see
 * each other's writes, a wrong secret is refused, and garbage over the WebSocket closes that
 * connection and nothing else. Method: real headless Chromium (Debian's chromium, driven by
 * playwright-core) loading a page that bundles the shipped browser bundle with browser-level;
 * two Node hosts on 127.0.0.1 (classic-level, Replicators accepting WebSocket peers), which
 * know each tab as a peer that only dials in.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { type Browser, type Page, chromium } from 'playwright-core'
import { Replicator, type ReplicatorOptions, webSocketTransport } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { eventually, once, tempDir } from '../helpers/hosts.js'
import { bundlePage } from '../../examples/browser/bundle-page.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path))
const SECRET = 'browser-cluster'
const TABS = [{ host: 'tab-1', port: 1 }, { host: 'tab-2', port: 2 }]

let browser: Browser
let server: Server
let origin: string

before(async () => {
  assert.ok(CHROMIUM !== undefined, 'Chromium is installed (.ci/run installs Debian\'s chromium)')
  const script = await bundlePage(join(ROOT, 'dist', 'test', 'browser', 'page.js'))
  server = createServer((request, response) => {
    if (request.url === '/page.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
      return
    }
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  // As root (CI), Chromium runs only without its sandbox; a container's small /dev/shm must not crash it.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
})

after(async () => {
  await browser?.close()
  await new Promise<void>((resolve) => server?.close(() => { resolve() }))
})

interface NodeHost {
  readonly db: ClassicLevel<string, string>
  readonly replicator: Replicator
  readonly port: number
  readonly errors: string[]
}

interface Cluster {
  readonly hosts: NodeHost[]
  close: () => Promise<void>
}

/** Two Node hosts accepting WebSocket peers; each knows the other and the tabs (which only dial in). */
async function nodeCluster (): Promise<Cluster> {
  const ports = await freePorts(2)
  const dirs = await Promise.all(ports.map(tempDir))
  const hosts = await Promise.all(ports.map(async (port, i): Promise<NodeHost> => {
    const db = new ClassicLevel<string, string>(dirs[i] as string)
    const replicator = Replicator(db, {
      ...webSocketTransport(),
      host: '127.0.0.1',
      port,
      peers: [{ host: '127.0.0.1', port: ports[1 - i] as number }, ...TABS.map((tab) => ({ ...tab, dial: false }))],
      minConsensus: 1,
      secret: SECRET,
      reconnectMsMin: 20,
      reconnectMsMax: 200
    })
    const errors: string[] = []
    replicator.on('error', (error) => { errors.push((error as { code?: string }).code ?? error.message) })
    await replicator.listen()
    return { db, replicator, port, errors }
  }))
  await Promise.all(hosts.map((host) => once(host.replicator, 'ready', 10_000)))
  return {
    hosts,
    close: async () => {
      for (const host of hosts) {
        await host.replicator.close()
        await host.db.close()
      }
      for (const dir of dirs) await rm(dir, { recursive: true, force: true })
    }
  }
}

/** What a tab is told: its identity, the Node hosts as peers, both needed for a write. */
function tabOptions (cluster: Cluster, tab: number, secret = SECRET): ReplicatorOptions {
  return { ...TABS[tab], peers: cluster.hosts.map((host) => ({ host: '127.0.0.1', port: host.port })), minConsensus: 2, secret }
}

async function openTab (): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (error) => { console.error('page error:', error) })
  await page.goto(origin)
  await page.waitForFunction(() => 'quorum' in globalThis)
  return page
}

async function start (page: Page, name: string, options: ReplicatorOptions, readyMs = 10_000): Promise<boolean> {
  return await page.evaluate(async ([name, options, readyMs]) => await (globalThis as unknown as PageGlobal).quorum.start(name, options, readyMs), [name, options, readyMs] as const)
}

async function count (page: Page, prefix: string): Promise<number> {
  return await page.evaluate(async (prefix) => await (globalThis as unknown as PageGlobal).quorum.count(prefix), prefix)
}

/** The page's driver, as page.ts defines it; evaluated code reaches it as `globalThis.quorum`. */
interface PageGlobal {
  quorum: {
    start: (name: string, options: ReplicatorOptions, readyMs: number) => Promise<boolean>
    put: (key: string, value: string) => Promise<void>
    get: (key: string) => Promise<string | null>
    count: (prefix: string) => Promise<number>
    close: () => Promise<void>
    errors: () => string[]
    garbage: (url: string) => Promise<boolean>
    withoutTransport: () => Promise<string[]>
  }
}

async function writeMany (host: NodeHost, prefix: string, total: number): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < total) {
      const i = next++
      await host.db.put(`${prefix}${String(i).padStart(5, '0')}`, `value ${i}`)
    }
  }))
}

/** Runs `body` with a fresh Node cluster and `tabs` pages; every replica, page and host is closed after. */
async function withTabs (tabs: number, body: (cluster: Cluster, pages: Page[]) => Promise<void>): Promise<void> {
  const cluster = await nodeCluster()
  const pages: Page[] = []
  try {
    for (let i = 0; i < tabs; i++) pages.push(await openTab())
    await body(cluster, pages)
  } finally {
    for (const page of pages) {
      await page.evaluate(async () => { await (globalThis as unknown as PageGlobal).quorum.close() }).catch(() => {})
      await page.close()
    }
    await cluster.close()
  }
}

test('a tab replica catches up 1,000 writes made before it came', { timeout: 120_000 }, async () => {
  await withTabs(1, async (cluster, [page]) => {
    if (page === undefined) throw new Error('no tab')
    await writeMany(cluster.hosts[0] as NodeHost, 'before-', 1_000)
    assert.equal(await start(page, 'catch-up', tabOptions(cluster, 0)), true, 'the tab is ready')
    await eventually(async () => await count(page, 'before-') === 1_000, 60_000, 'the tab holds all 1,000 writes')
    assert.equal(await page.evaluate(async () => await (globalThis as unknown as PageGlobal).quorum.get('before-00999')), 'value 999')
  })
})

test('writes from the tab reach every Node host once they resolve (minConsensus 2)', { timeout: 60_000 }, async () => {
  await withTabs(1, async (cluster, [page]) => {
    if (page === undefined) throw new Error('no tab')
    assert.equal(await start(page, 'tab-writes', tabOptions(cluster, 0)), true)
    await page.evaluate(async () => {
      for (let i = 0; i < 20; i++) await (globalThis as unknown as PageGlobal).quorum.put(`from-tab-${i}`, `written in the tab ${i}`)
    })
    for (const host of cluster.hosts) {
      for (let i = 0; i < 20; i++) assert.equal(await host.db.get(`from-tab-${i}`), `written in the tab ${i}`)
    }
  })
})

test('a reloaded tab keeps its IndexedDB and catches up what it missed', { timeout: 120_000 }, async () => {
  await withTabs(1, async (cluster, [page]) => {
    if (page === undefined) throw new Error('no tab')
    assert.equal(await start(page, 'reloaded', tabOptions(cluster, 0)), true)
    await writeMany(cluster.hosts[0] as NodeHost, 'first-', 100)
    await eventually(async () => await count(page, 'first-') === 100, 30_000, 'the tab holds the first writes')
    await page.reload()
    await page.waitForFunction(() => 'quorum' in globalThis)
    // While the tab is gone, the cluster goes on.
    await writeMany(cluster.hosts[1] as NodeHost, 'missed-', 200)
    assert.equal(await start(page, 'reloaded', tabOptions(cluster, 0)), true)
    assert.equal(await count(page, 'first-'), 100, 'what it held survived the reload')
    await eventually(async () => await count(page, 'missed-') === 200, 60_000, 'the tab caught up what it missed')
  })
})

test('two tabs see each other\'s writes', { timeout: 60_000 }, async () => {
  await withTabs(2, async (cluster, pages) => {
    for (const [i, page] of pages.entries()) assert.equal(await start(page, `two-tabs-${i}`, tabOptions(cluster, i)), true)
    await pages[0]?.evaluate(async () => { await (globalThis as unknown as PageGlobal).quorum.put('tab-1-says', 'hello') })
    await pages[1]?.evaluate(async () => { await (globalThis as unknown as PageGlobal).quorum.put('tab-2-says', 'hi') })
    await eventually(async () => await pages[1]?.evaluate(async () => await (globalThis as unknown as PageGlobal).quorum.get('tab-1-says')) === 'hello', 30_000, 'tab 2 sees tab 1\'s write')
    await eventually(async () => await pages[0]?.evaluate(async () => await (globalThis as unknown as PageGlobal).quorum.get('tab-2-says')) === 'hi', 30_000, 'tab 1 sees tab 2\'s write')
  })
})

test('a tab with a wrong secret is refused', { timeout: 60_000 }, async () => {
  await withTabs(1, async (cluster, [page]) => {
    if (page === undefined) throw new Error('no tab')
    assert.equal(await start(page, 'wrong-secret', tabOptions(cluster, 0, 'not the secret'), 3_000), false, 'never ready')
    await eventually(() => cluster.hosts.every((host) => host.errors.includes('LEVEL_AUTH_FAILED')), 10_000, 'every host refused it')
    assert.equal(await page.evaluate(async () => (globalThis as unknown as PageGlobal).quorum.errors().includes('LEVEL_AUTH_FAILED')), true, 'the tab was told')
  })
})

test('garbage over a WebSocket closes that connection, and nothing else', { timeout: 60_000 }, async () => {
  await withTabs(1, async (cluster, [page]) => {
    if (page === undefined) throw new Error('no tab')
    assert.equal(await start(page, 'garbage', tabOptions(cluster, 0)), true)
    const url = `ws://127.0.0.1:${cluster.hosts[0]?.port ?? 0}/quorum-level`
    assert.equal(await page.evaluate(async (url) => await (globalThis as unknown as PageGlobal).quorum.garbage(url), url), true, 'the host closed the garbage connection')
    await eventually(() => cluster.hosts[0]?.errors.some((code) => code === 'LEVEL_PROTOCOL_ERROR' || code === 'LEVEL_FRAME_TOO_LARGE') === true, 10_000, 'the host said why')
    // The tab's own connection, and the cluster, work on.
    await page.evaluate(async () => { await (globalThis as unknown as PageGlobal).quorum.put('after-garbage', 'fine') })
    for (const host of cluster.hosts) assert.equal(await host.db.get('after-garbage'), 'fine')
  })
})

test('in a page, peers need a transport and nothing can listen: both refused with a clear code', { timeout: 60_000 }, async () => {
  const page = await openTab()
  try {
    assert.deepEqual(await page.evaluate(async () => await (globalThis as unknown as PageGlobal).quorum.withoutTransport()), ['LEVEL_INVALID_OPTION', 'LEVEL_NOT_SUPPORTED'])
  } finally {
    await page.close()
  }
})
