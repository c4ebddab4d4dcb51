/**
 * Goal: a core that breaks an invariant is rebuilt from storage, and no write is lost, doubled
 * or left unanswered (SPEC §2.6): the Replicator never turns replicated writes into local
 * ones. Method: 3 in-process hosts on 127.0.0.1 over real classic-level databases; while 40
 * writes are in flight on one host, the next storage completion its core is handed throws, as
 * a bug would. Every write must settle ok, be on every host, and be in one commit only.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Node } from '../../src/core/index.js'
import { TAG, parseSequencedKey, tagRange } from '../../src/storage/keys.js'
import { decodeLogEntry } from '../../src/storage/records.js'
import { type HostSet, allReady, closeHosts, contents, eventually, startHosts } from '../helpers/hosts.js'

test('a core that breaks is rebuilt from storage; writes in flight settle once each', { timeout: 60_000 }, async () => {
  const set = await startHosts(3)
  const step = Node.prototype.step
  try {
    await allReady(set)
    const [a] = set.hosts as [HostSet['hosts'][0]]
    const errors: Error[] = []
    a.replicator.on('error', (error) => { errors.push(error) })
    let armed = true
    Node.prototype.step = function (input) {
      if (armed && input.type === 'persisted') {
        armed = false
        throw new Error('quorum-level invariant violated: injected by the test')
      }
      return step.call(this, input)
    }
    const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`)
    await Promise.all(keys.map((key) => a.db.put(key, key)))
    assert.equal(armed, false, 'the fault was injected')
    assert.ok(errors.some((error) => error.message.includes('injected by the test')), 'the Replicator said why')
    await eventually(async () => (await Promise.all(set.hosts.map(async (host) => (await contents(host.db)).length))).every((length) => length === 40), 20_000, 'every write on every host')
    // Once each: the own log of the origin holds one commit per key.
    const seen = new Map<string, number>()
    for await (const [key, value] of a.db.iterator<Uint8Array, Uint8Array>({ ...tagRange(TAG.log), keyEncoding: 'view', valueEncoding: 'view' })) {
      const { origin, seq } = parseSequencedKey(key, TAG.log)
      const entry = decodeLogEntry(origin, seq, value)
      if (entry.kind !== 'commit') continue
      for (const op of entry.ops) seen.set(op.key, (seen.get(op.key) ?? 0) + 1)
    }
    for (const key of keys) assert.equal(seen.get(key), 1, `${key} committed once`)
    await a.db.put('after', 'works')
    assert.equal(await set.hosts[2]?.db.get('after'), 'works')
  } finally {
    Node.prototype.step = step
    await closeHosts(set)
  }
})
