/**
 * Goal: bad arguments fail where the caller can catch them and leave nothing behind: a
 * QuorumLevel whose Replicator options are refused fails to open and lets go of the
 * directory; a bad location throws from the constructor and nothing runs after. Method: an
 * instance with a `minConsensus` above its peers opens a temporary directory, and
 * classic-level must then be able to take the lock; a constructor given no location, with the
 * process watched for an uncaught exception until its deferred open would have run.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { QuorumLevel } from '../../src/index.js'
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

test('a bad location throws from the constructor, and no open runs after it', { timeout: 30_000 }, async (t) => {
  const uncaught: Error[] = []
  const onUncaught = (error: Error): void => { uncaught.push(error) }
  process.on('uncaughtException', onUncaught)
  t.after(() => { process.off('uncaughtException', onUncaught) })
  for (const location of ['', undefined]) {
    assert.throws(() => new QuorumLevel(location as unknown as string), { code: 'LEVEL_INVALID_OPTION' })
  }
  // abstract-level schedules the open on the next tick: let that pass, and more.
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.deepEqual(uncaught.map((error) => error.message), [])
})
