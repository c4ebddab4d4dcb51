/**
 * Goal: the leader's event relay cannot be made to grow without bound by a guest that stops
 * reading: change lines beyond 16 MiB unread are not sent to it, while a guest that reads
 * gets every one. Method: a real EventRelayServer on a unix socket in a temporary directory,
 * one client paused and one reading, and 48 MiB of changes published.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { EventRelayServer } from '../../src/local/event-relay.js'
import { eventually, tempDir } from '../helpers/hosts.js'

test('a guest that stops reading misses changes past 16 MiB; one that reads gets them all', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir()
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const relay = new EventRelayServer(join(dir, 'events.sock'))
  await new Promise<void>((resolve) => relay.server.once('listening', resolve))
  const stalled = connect(join(dir, 'events.sock'))
  const reading = connect(join(dir, 'events.sock'))
  let readingLines = 0
  let tail = ''
  reading.setEncoding('utf8')
  reading.on('data', (chunk: string) => {
    const text = tail + chunk
    const lines = text.split('\n')
    tail = lines.pop() ?? ''
    readingLines += lines.filter((line) => line.startsWith('{"change":')).length
  })
  stalled.pause()
  t.after(async () => {
    stalled.destroy()
    reading.destroy()
    await relay.close()
  })
  // The reading one hears the readiness the relay sends each guest first; both have connected.
  if (stalled.connecting) await new Promise((resolve) => stalled.once('connect', resolve))
  await eventually(() => reading.bytesRead > 0, 5_000, 'the reading guest connected')
  // 48 changes of 1 MiB of value each (about 1.4 MiB per line in base64), each published
  // once the reading guest has the one before: it keeps up, the paused one does not.
  const value = new Uint8Array(1024 * 1024).fill(7)
  for (let i = 0; i < 48; i++) {
    relay.publishChange([{ type: 'put', key: `k${i}`, value }])
    await eventually(() => readingLines === i + 1, 10_000, `the reading guest got change ${i}`)
  }
  // The paused one: what was queued for it stayed bounded; reading now shows how much.
  let stalledBytes = 0
  stalled.on('data', (chunk: Buffer) => { stalledBytes += chunk.length })
  stalled.resume()
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.ok(stalledBytes > 0, 'it got what fitted')
  assert.ok(stalledBytes < 32 * 1024 * 1024, `at most about 16 MiB plus the kernel's buffers, not ${stalledBytes} bytes`)
})
