/**
 * Goal: a write retried across a local failover is applied once (DESIGN "Known traps"). Method:
 * a Replicator on a real classic-level database receives batches carrying a write id in
 * the batch option QuorumLevel sets; a retry of an applied write, after another writer changed the key, must not undo that
 * change, and a retry that arrives while the original is still in flight must not double it.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { WRITE_ID } from '../../src/replicator/write-id-option.js'
import { once, tempDir } from '../helpers/hosts.js'

function marked (db: ClassicLevel<string, unknown>, writer: string, counter: number, key: string, value: string): Promise<void> {
  return db.batch([{ type: 'put', key, value }], { [WRITE_ID]: { writer, counter } } as object)
}

test('a write retried with the same write id is applied once', { timeout: 30_000 }, async () => {
  const location = await tempDir()
  const db = new ClassicLevel<string, unknown>(location, { valueEncoding: 'json' })
  const replicator = Replicator(db, { minConsensus: 0 })
  try {
    await once(replicator, 'ready')
    await marked(db, 'w1', 1, 'k', 'first')
    await db.put('k', 'second')
    // The retry of write 1, as many-level resends it after a failover: acknowledged, not applied.
    await marked(db, 'w1', 1, 'k', 'first')
    assert.equal(await db.get('k'), 'second')
    // Write 2 and its retry in flight together: one commit.
    await Promise.all([marked(db, 'w1', 2, 'j', 'once'), marked(db, 'w1', 2, 'j', 'once')])
    await db.put('j', 'later')
    await marked(db, 'w1', 2, 'j', 'once')
    assert.equal(await db.get('j'), 'later')
    // Another writer's counters are its own.
    await marked(db, 'w2', 1, 'k', 'third')
    assert.equal(await db.get('k'), 'third')
  } finally {
    await replicator.close()
    await db.close()
    await rm(location, { recursive: true, force: true })
  }
})
