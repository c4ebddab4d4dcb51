/**
 * The example's page: a browser-level replica (IndexedDB) of the two Node hosts, joined over
 * the page's WebSocket. It lists every key live (a `write` event for each change, local or
 * replicated) and writes what the form says. `?tab=2` takes the second identity.
 */
import { BrowserLevel } from 'browser-level'
import { Replicator, webSocketTransport } from '../../src/browser.js'

interface Config {
  hosts: Array<{ host: string, port: number }>
  secret: string
}

/** The bits of the DOM used here: the examples compile without the DOM's types. */
interface Element {
  textContent: string | null
  value: string
  innerHTML: string
  addEventListener: (event: string, listener: (event: { preventDefault: () => void }) => void) => void
}
const page = globalThis as unknown as { document: { getElementById: (id: string) => Element }, location: { search: string } }
const element = (id: string): Element => page.document.getElementById(id)

const tab = Number(new URLSearchParams(page.location.search).get('tab') ?? '1')
const config = await (await fetch('/config')).json() as Config
const db = new BrowserLevel<string, string>(`quorum-level-example-${tab}`)
const replicator = Replicator(db, {
  ...webSocketTransport(),
  // Who this tab is: the Node hosts know it by this name, as a peer that only dials in.
  host: `tab-${tab}`,
  port: tab,
  peers: config.hosts,
  minConsensus: 1,
  secret: config.secret
})

const escape = (text: string): string => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

async function render (): Promise<void> {
  const rows: string[] = []
  for await (const [key, value] of db.iterator({ lt: '\uffff' })) rows.push(`<tr><td>${escape(key)}</td><td>${escape(value)}</td></tr>`)
  element('rows').innerHTML = rows.join('')
}

replicator.on('ready', () => { element('status').textContent = `tab-${tab}: connected` })
replicator.on('notready', () => { element('status').textContent = `tab-${tab}: waiting for the hosts` })
db.on('write', () => { render().catch(console.error) })
element('form').addEventListener('submit', (event) => {
  event.preventDefault()
  const key = element('key').value
  const value = element('value').value
  element('outcome').textContent = 'writing...'
  db.put(key, value).then(
    () => { element('outcome').textContent = `${key} committed` },
    (error: Error) => { element('outcome').textContent = `${key} failed: ${error.message}` }
  )
})
await render()
