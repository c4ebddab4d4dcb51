/**
 * Goal: a connection runs over any byte stream, dialed or served, not only TCP sockets.
 * Method: a whole cluster over a custom transport of in-process duplex pairs, each piped
 * through the dialed host's createServer() (no sockets at all).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { rm } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../../src/index.js'
import { duplexPair, once, tempDir } from '../helpers/hosts.js'

test('a custom transport (in-process duplex pairs) carries a whole cluster', { timeout: 30_000 }, async () => {
  const dirs = await Promise.all([tempDir(), tempDir(), tempDir()])
  const dbs = dirs.map((dir) => new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' }))
  // Ports only name the hosts here: the transport connects to the replicator behind the name.
  const replicators: Array<ReturnType<typeof Replicator>> = []
  const transport = (port: number): ReturnType<typeof duplexPair>[0] => {
    const [mine, theirs] = duplexPair()
    const server = replicators[port - 1]?.createServer()
    if (server === undefined) throw new Error(`no host ${port}`)
    theirs.pipe(server).pipe(theirs)
    return mine
  }
  dbs.forEach((db, i) => {
    const peers = [1, 2, 3].filter((port) => port !== i + 1).map((port) => ({ host: 'memory', port }))
    replicators.push(Replicator(db, { peers, transport, reconnectMsMin: 10 }))
  })
  try {
    await Promise.all(replicators.map((replicator) => once(replicator, 'ready')))
    await dbs[2]!.put('over-memory', true)
    for (const db of dbs) assert.equal(await db.get('over-memory'), true)
  } finally {
    for (const replicator of replicators) await replicator.close()
    for (const db of dbs) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})
