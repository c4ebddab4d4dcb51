/**
 * Goal: with `retry: false`, an operation whose local leader goes away fails with
 * `LEVEL_CONNECTION_LOST` instead of running again, and an operation reported done is done.
 * Method: two QuorumLevel instances in this process on one directory; the guest, without
 * retry, has writes in flight when the leader closes; then a fresh instance reads them.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { QuorumLevel } from '../../src/index.js'
import { tempDir } from '../helpers/hosts.js'

test('retry off: writes in flight when the leader closes fail with LEVEL_CONNECTION_LOST or land', { timeout: 30_000 }, async () => {
  const location = await tempDir()
  const leader = new QuorumLevel(location)
  // Opened in parallel, either could take the lock: the guest is made once the leader leads.
  await once(leader, 'leader')
  const guest = new QuorumLevel(location, { retry: false })
  try {
    await guest.open()
    assert.equal(guest.isLeader, false)
    const keys = Array.from({ length: 200 }, (_, i) => `k${String(i).padStart(3, '0')}`)
    const outcomes = keys.map((key) => guest.put(key, 'v').then(() => 'ok', (error: { code?: string }) => error.code ?? 'no code'))
    await leader.close()
    const settled = await Promise.all(outcomes)
    const codes = new Set(settled)
    for (const code of codes) assert.ok(code === 'ok' || code === 'LEVEL_CONNECTION_LOST', `unexpected outcome ${code}`)
    assert.ok(codes.has('LEVEL_CONNECTION_LOST'), 'some writes were in flight when the leader went away')
    // The guest finds the next leader: itself.
    await guest.put('after', 'v')
    assert.equal(guest.isLeader, true)
    const present = new Set(await guest.keys({ lt: 'l' }).all())
    keys.forEach((key, i) => { if (settled[i] === 'ok') assert.ok(present.has(key), `${key} was acknowledged but is absent`) })
  } finally {
    await guest.close()
    await leader.close()
    await rm(location, { recursive: true, force: true })
  }
})
