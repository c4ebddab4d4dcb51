/**
 * Goal: the `logger` option hears what a host does, as structured records, errors included
 * when nobody listens for `error`; a logger that throws breaks nothing; without one nothing is
 * logged. Method: two Replicators over classic-level on 127.0.0.1, a peer stopped, garbage
 * sent to a host's port, and a QuorumLevel that becomes its host's leader.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { QuorumLevel, type LogRecord } from '../../src/index.js'
import { closeHosts, eventually, once, startHosts, stopHost, tempDir } from '../helpers/hosts.js'

test('the logger hears start, connections, readiness, errors nobody listens for, and close', { timeout: 30_000 }, async () => {
  const records: LogRecord[] = []
  const set = await startHosts(2, (i) => i === 0 ? { minConsensus: 1, logger: (record) => { records.push(record) } } : { minConsensus: 1, logger: () => { throw new Error('a broken logger') } })
  try {
    const [a, b] = set.hosts
    if (a === undefined || b === undefined) throw new Error('two hosts')
    await Promise.all(set.hosts.map(async (host) => await once(host.replicator, 'ready', 10_000)))
    // b's logger throws at every record: replication goes on.
    await b.db.put('k', 'v')
    await eventually(async () => await a.db.get('k').catch(() => undefined) === 'v', 5_000, 'a has b\'s write')
    const events = (): string[] => records.map((record) => record.event)
    assert.equal(events()[0], 'start')
    assert.ok(events().includes('connect') && events().includes('ready'), events().join())
    const connected = records.find((record) => record.event === 'connect')
    assert.deepEqual(connected?.peer, { host: '127.0.0.1', port: b.port })
    assert.equal(connected?.host, a.replicator.id)
    assert.equal(connected?.level, 'info')
    assert.ok(typeof connected?.time === 'number' && Math.abs(Date.now() - connected.time) < 10_000)
    // Garbage to a's port: the error reaches the log although nobody listens for 'error'.
    assert.equal(a.replicator.listenerCount('error'), 0)
    const socket = connect(a.port, '127.0.0.1')
    socket.on('error', () => {})
    socket.end(Buffer.from([0, 0, 0, 3, 1, 2, 3]))
    await eventually(() => records.some((record) => record.event === 'error'), 5_000, 'the error logged')
    const error = records.find((record) => record.event === 'error')
    assert.equal(error?.level, 'error')
    assert.match(error?.code ?? '', /^LEVEL_/)
    await stopHost(b)
    await eventually(() => events().includes('disconnect') && events().includes('notready'), 5_000, 'b gone')
    assert.equal(records.find((record) => record.event === 'notready')?.level, 'warn')
    await a.replicator.close()
    assert.equal(events().at(-1), 'close')
  } finally {
    await closeHosts(set)
  }
})

test('a QuorumLevel process logs when it becomes its host\'s leader', { timeout: 30_000 }, async () => {
  const dir = await tempDir()
  const records: LogRecord[] = []
  const db = new QuorumLevel(dir, { logger: (record) => { records.push(record) } })
  try {
    await db.open()
    assert.ok(records.some((record) => record.event === 'leader' && record.level === 'info'), records.map((record) => record.event).join())
    // The Replicator starts behind the open: its record follows.
    await eventually(() => records.some((record) => record.event === 'start'), 5_000, 'the Replicator started')
  } finally {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
})
