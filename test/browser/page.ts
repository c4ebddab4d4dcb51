/**
 * The page of the browser tests, bundled for Chromium by browser.test.ts: a browser-level
 * database in IndexedDB with a Replicator that dials the Node hosts over the page's own
 * WebSocket, driven through `globalThis.quorum`. It imports the shipped browser bundle.
 */
import { BrowserLevel } from 'browser-level'
import { Replicator, type ReplicatorOptions, webSocketTransport } from '../../src/browser.js'

interface Tab {
  readonly db: BrowserLevel<string, string>
  readonly replicator: Replicator
}

let tab: Tab | null = null
const errors: string[] = []

const quorum = {
  /** Opens the replica; resolves once ready, or with false after `readyMs`. */
  async start (name: string, options: ReplicatorOptions, readyMs: number): Promise<boolean> {
    const db = new BrowserLevel<string, string>(name)
    const replicator = Replicator(db, { ...webSocketTransport(), reconnectMsMin: 20, reconnectMsMax: 200, ...options })
    replicator.on('error', (error) => { errors.push((error as { code?: string }).code ?? error.message) })
    tab = { db, replicator }
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { resolve(false) }, readyMs)
      replicator.once('ready', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  },
  async put (key: string, value: string): Promise<void> {
    await current().db.put(key, value)
  },
  async get (key: string): Promise<string | null> {
    return (await current().db.get(key)) ?? null
  },
  async count (prefix: string): Promise<number> {
    return (await current().db.keys({ gte: prefix, lt: `${prefix}\uffff` }).all()).length
  },
  async close (): Promise<void> {
    if (tab === null) return
    await tab.replicator.close()
    await tab.db.close()
    tab = null
  },
  errors (): string[] {
    return errors
  },
  /** What a Replicator says in a page when told of peers but given no transport, and when asked to listen. */
  async withoutTransport (): Promise<string[]> {
    const codes: string[] = []
    const db = new BrowserLevel<string, string>('without-transport')
    try {
      Replicator(db, { peers: [{ host: '127.0.0.1', port: 1 }] })
    } catch (error) {
      codes.push((error as { code?: string }).code ?? String(error))
    }
    const replicator = Replicator(db, { port: 1 })
    await replicator.listen().catch((error: { code?: string }) => { codes.push(error.code ?? String(error)) })
    await replicator.close()
    await db.close()
    return codes
  },
  /** Sends bytes that are no frame at all to a host, and resolves once it closes the socket. */
  async garbage (url: string): Promise<boolean> {
    const socket = new WebSocket(url)
    socket.binaryType = 'arraybuffer'
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { resolve(false) }, 5_000)
      socket.addEventListener('open', () => { socket.send(new Uint8Array([0xff, 0xff, 0xff, 0x7f, 1, 2, 3])) })
      socket.addEventListener('close', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }
}

function current (): Tab {
  if (tab === null) throw new Error('start the replica first')
  return tab
}

(globalThis as { quorum?: typeof quorum }).quorum = quorum
