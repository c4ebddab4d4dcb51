/**
 * Goal: a QuorumLevel whose Replicator options are refused fails to open and lets go of the
 * directory, so that it can be opened again with good ones. Method: an instance with a
 * `minConsensus` above its peers opens a temporary directory; classic-level must then be able
 * to take the lock.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { WAIT_MS, instances, within } from './instances.js'

test('Replicator options refused at open: open() fails with LEVEL_INVALID_OPTION as its cause, and the lock is let go', { timeout: 30_000 }, async (t) => {
  const dbs = await instances(t)
  const db = dbs.make({ minConsensus: 1 })
  const cause = await within(db.open().then(() => null, (error: { code?: string, cause?: { code?: string } }) => error), WAIT_MS, 'open()')
  assert.equal(cause?.code, 'LEVEL_DATABASE_NOT_OPEN')
  assert.equal(cause?.cause?.code, 'LEVEL_INVALID_OPTION')
  const plain = new ClassicLevel(dbs.location)
  try {
    await within(plain.open(), WAIT_MS, 'classic-level opening the directory')
  } finally {
    await plain.close()
  }
})
