/**
 * Goal: README's browser example runs as written: `npm run example:browser` starts two Node
 * hosts and serves a page; the page joins them as a replica, shows the hosts' writes as they
 * come, writes what its form says, and a second tab sees it. Method: the example's server as a
 * child process on free ports, its page in headless Chromium (Debian's chromium through
 * playwright-core); the process is stopped with SIGTERM and must exit.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { freePorts } from '../../src/cli/free-ports.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path))

test('the browser example: two Node hosts and a page that replicates, live, from two tabs', { timeout: 120_000 }, async () => {
  assert.ok(CHROMIUM !== undefined, 'Chromium is installed (.ci/run installs Debian\'s chromium)')
  const ports = await freePorts(3)
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'examples', 'browser', 'server.js')], { env: { ...process.env, PORTS: ports.join(',') }, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = ''
      const timer = setTimeout(() => { reject(new Error(`no page address within 30 s: ${output}`)) }, 30_000)
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /page: (http:\/\/\S+)/.exec(output)
        if (match?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
    })
    const first = await browser.newPage()
    await first.goto(url)
    await first.waitForFunction(() => (globalThis as unknown as { document: { getElementById: (id: string) => { textContent: string } } }).document.getElementById('status').textContent.endsWith('connected'), undefined, { timeout: 20_000 })
    // Host 1 writes the time every second: it shows up without a reload.
    await first.locator('#rows td', { hasText: 'clock' }).waitFor({ timeout: 20_000 })
    await first.fill('#key', 'from-the-page')
    await first.fill('#value', 'hello, cluster')
    await first.click('button')
    await first.locator('#outcome', { hasText: 'from-the-page committed' }).waitFor({ timeout: 20_000 })
    const second = await browser.newPage()
    await second.goto(`${url}?tab=2`)
    await second.locator('#rows td', { hasText: 'hello, cluster' }).waitFor({ timeout: 30_000 })
  } finally {
    await browser.close()
    child.kill('SIGTERM')
    assert.equal(await exited, 0, 'the example stops cleanly')
  }
})
