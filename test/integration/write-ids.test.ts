/**
 * Goal: a write retried across a local failover is applied once (DESIGN "Known traps"). Method:
 * a Replicator on a real classic-level database receives batches carrying QuorumLevel's write
 * id; a retry of an applied write, after another writer changed the key, must not undo that
 * change, and a retry that arrives while the original is still in flight must not double it.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { writerKey } from '../../src/storage/keys.js'
import { once, tempDir } from '../helpers/hosts.js'

function marked (writer: string, counter: number, key: string, value: string): Array<{ type: 'put', key: Buffer, value: Buffer }> {
  return [
    { type: 'put', key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) },
    { type: 'put', key: Buffer.from(writerKey(writer)), value: Buffer.from(String(counter)) }
  ]
}

test('a write retried with the same write id is applied once', { timeout: 30_000 }, async () => {
  const location = await tempDir()
  const db = new ClassicLevel<string, unknown>(location, { valueEncoding: 'json' })
  const replicator = Replicator(db, { minConsensus: 0 })
  try {
    await once(replicator, 'ready')
    const raw = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const
    await db.batch(marked('w1', 1, 'k', 'first'), raw)
    await db.put('k', 'second')
    // The retry of write 1, as many-level resends it after a failover: acknowledged, not applied.
    await db.batch(marked('w1', 1, 'k', 'first'), raw)
    assert.equal(await db.get('k'), 'second')
    // Write 2 and its retry in flight together: one commit.
    await Promise.all([db.batch(marked('w1', 2, 'j', 'once'), raw), db.batch(marked('w1', 2, 'j', 'once'), raw)])
    await db.put('j', 'later')
    await db.batch(marked('w1', 2, 'j', 'once'), raw)
    assert.equal(await db.get('j'), 'later')
    // Another writer's counters are its own.
    await db.batch(marked('w2', 1, 'k', 'third'), raw)
    assert.equal(await db.get('k'), 'third')
  } finally {
    await replicator.close()
    await db.close()
    await rm(location, { recursive: true, force: true })
  }
})
