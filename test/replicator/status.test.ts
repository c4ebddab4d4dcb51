/**
 * Goal: `status()` tells what a host's operator needs to see: who it is, whether it is ready,
 * each peer (address, identity, connection, last contact, round trip, lag), the writes in
 * flight, the log per origin and the change feed; in every QuorumLevel process too. Method:
 * real Replicators and QuorumLevel instances on 127.0.0.1; one host stopped to make another
 * see it gone and lagging.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { QuorumLevel, metricsRegistry } from '../../src/index.js'
import { freePorts } from '../../src/cli/free-ports.js'
import { PeerMarks } from '../../src/replicator/status.js'
import { closeHosts, eventually, memberOptions, once, startHosts, stopHost, tempDir } from '../helpers/hosts.js'

test('status: identity, readiness, peers with contact, round trip and lag, the log and the feed', { timeout: 30_000 }, async () => {
  const set = await startHosts(3, () => ({ minConsensus: 1, callTimeout: 200 }))
  try {
    const [a, b, c] = set.hosts
    if (a === undefined || b === undefined || c === undefined) throw new Error('three hosts')
    await Promise.all(set.hosts.map(async (host) => await once(host.replicator, 'ready', 10_000)))
    for (let i = 0; i < 5; i++) await a.db.put(`k${i}`, i)
    // A ping every callTimeout: round trips are known after one.
    await eventually(() => a.replicator.status().peers.every((peer) => peer.roundTripMs !== null), 5_000, 'round trips measured')
    const status = a.replicator.status()
    assert.equal(status.id, a.replicator.id)
    assert.equal(status.state, 'open')
    assert.equal(status.ready, true)
    assert.equal(status.recovery, null)
    assert.deepEqual(status.address, { host: '127.0.0.1', port: a.port })
    assert.equal(status.minConsensus, 1)
    assert.deepEqual(status.peers.map((peer) => [peer.port, peer.id, peer.connected, peer.dialed]).sort(), [[b.port, b.replicator.id, true, true], [c.port, c.replicator.id, true, true]].sort())
    for (const peer of status.peers) {
      assert.ok(peer.lastContactAt !== null && Date.now() - peer.lastContactAt < 5_000, 'heard from lately')
      assert.ok(peer.roundTripMs !== null && peer.roundTripMs >= 0 && peer.roundTripMs < 1_000)
    }
    assert.deepEqual(status.log.find((origin) => origin.origin === a.replicator.id), { origin: a.replicator.id, applied: 5, floor: 1, entries: 5 })
    assert.deepEqual(status.catchUp, { behind: 0, origins: {} })
    assert.deepEqual(status.fullCopy, { receiving: null, sending: 0 })
    assert.deepEqual(status.feed, { oldest: 1, last: 5 })
    assert.deepEqual(status.writes, { queued: 0, active: 0, committing: 0, confirming: 0, aborting: 0 })
    // c goes away: a sees it disconnected, and, once c has missed writes, lagging.
    await stopHost(c)
    await eventually(() => a.replicator.status().peers.some((peer) => peer.id === c.replicator.id && !peer.connected), 5_000, 'c seen gone')
    for (let i = 5; i < 8; i++) await a.db.put(`k${i}`, i)
    // Deletes leave tombstones, counted again by a status asked for a second after the last count.
    await a.db.del('k0')
    await a.db.del('k1')
    await a.db.del('never-written')
    await eventually(() => a.replicator.status().tombstones?.count === 3, 5_000, 'three tombstones counted')
    // c, down, last reported before the deletes: no horizon passes them, so none is collected.
    assert.equal(a.replicator.status().collection.collected, 0)
    assert.ok(a.replicator.status().collection.horizon < Date.now())
    // Disk use, as LevelDB estimates its table files: some once the data is compacted into one.
    // Random, so that LevelDB's compression does not shrink it away.
    await a.db.put('large', randomBytes(100_000).toString('hex'))
    await (a.db as unknown as { compactRange: (start: string, end: string) => Promise<void> }).compactRange('\x00', '\xff\xff\xff\xff')
    await eventually(() => (a.replicator.status().disk?.bytes ?? 0) > 100_000, 5_000, 'disk use measured')
    const lagging = a.replicator.status().peers.find((peer) => peer.id === c.replicator.id)
    // As of c's last sync, which may predate some of the first 5: at least the 3 it missed.
    assert.ok((lagging?.lag?.[a.replicator.id as string] ?? 0) >= 3, `c lags a by ${JSON.stringify(lagging?.lag)}`)
    // Plain data: it survives JSON as it is.
    assert.deepEqual(JSON.parse(JSON.stringify(a.replicator.status())), a.replicator.status())
    assert.deepEqual(a.replicator.status().counters.writes, { resolved: 12 })
    // The same, as Prometheus scrapes it.
    const text = await metricsRegistry(a.replicator).metrics()
    assert.match(text, /^quorum_level_ready 1$/m)
    assert.match(text, /^quorum_level_writes_total\{outcome="resolved"\} 12$/m)
    assert.match(text, /^quorum_level_disk_bytes [1-9]\d{5,}$/m)
    assert.match(text, /^quorum_level_tombstones 3$/m)
    assert.match(text, new RegExp(`^quorum_level_peer_connected\\{peer="127.0.0.1:${b.port}"\\} 1$`, 'm'))
    assert.match(text, new RegExp(`^quorum_level_peer_connected\\{peer="127.0.0.1:${c.port}"\\} 0$`, 'm'))
    assert.match(text, new RegExp(`^quorum_level_log_applied\\{origin="${a.replicator.id as string}"\\} 12$`, 'm'))
    assert.match(text, new RegExp(`^quorum_level_log_entries\\{origin="${a.replicator.id as string}"\\} 12$`, 'm'))
    assert.match(text, /^quorum_level_feed_last 12$/m)
    assert.match(text, /^# TYPE quorum_level_writes_total counter$/m)
  } finally {
    await closeHosts(set)
  }
})

test('db.cluster.status() answers in every process, the guest\'s through its leader', { timeout: 30_000 }, async () => {
  const ports = await freePorts(2)
  const dirs = await Promise.all(ports.map(tempDir))
  const make = (h: number): QuorumLevel<string, number> => new QuorumLevel<string, number>(dirs[h] as string, { valueEncoding: 'json', ...memberOptions(ports, h) })
  const leaders = [make(0), make(1)]
  const instances = [...leaders]
  try {
    const ready = leaders.map(async (db) => await once(db.cluster, 'ready', 15_000))
    await Promise.all(leaders.map(async (db) => { await db.open() }))
    await Promise.all(ready)
    const guest = make(0)
    instances.push(guest)
    await guest.open()
    await guest.put('x', 1)
    const fromGuest = await guest.cluster.status()
    const fromLeader = await (leaders[0] as QuorumLevel<string, number>).cluster.status()
    assert.equal(fromGuest.id, fromLeader.id)
    assert.equal(fromGuest.ready, true)
    assert.equal(fromGuest.feed.last, 1)
    assert.deepEqual(fromGuest.peers.map((peer) => [peer.port, peer.connected]), [[ports[1], true]])
    assert.match(await metricsRegistry(guest.cluster).metrics(), /^quorum_level_feed_last 1$/m)
    await guest.close()
    await assert.rejects(guest.cluster.status(), { code: 'LEVEL_DATABASE_NOT_OPEN' })
  } finally {
    for (const db of [...instances].reverse()) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})

test('status: catch-up progress is how far the most advanced peer\'s last sync is ahead, per origin', () => {
  const marks = new PeerMarks()
  assert.deepEqual(marks.behind({ a: 3 }), {})
  marks.observe('b', { type: 'sync', marks: { a: 10, b: 4 }, above: {}, clock: 0, decided: 0 })
  marks.observe('c', { type: 'sync', marks: { a: 7, c: 2 }, above: {}, clock: 0, decided: 0 })
  assert.deepEqual(marks.behind({ a: 3, b: 4 }), { a: 7, c: 2 })
  // A later sync replaces the peer's earlier one.
  marks.observe('b', { type: 'sync', marks: { a: 3, b: 4 }, above: {}, clock: 0, decided: 0 })
  assert.deepEqual(marks.behind({ a: 3, b: 4 }), { a: 4, c: 2 })
  assert.deepEqual(marks.behind({ a: 9, b: 4, c: 2 }), {})
})

test('db.cluster.changeMembers() works from a guest: the leader\'s Replicator makes the change, refusals come back as they are', { timeout: 45_000 }, async () => {
  const ports = await freePorts(3)
  const dirs = await Promise.all(ports.map(tempDir))
  const peers = ports.map((port) => ({ host: '127.0.0.1', port }))
  const make = (h: number, list: typeof peers): QuorumLevel<string, number> => new QuorumLevel<string, number>(dirs[h] as string, {
    valueEncoding: 'json', host: '127.0.0.1', port: ports[h] as number, peers: list, minConsensus: 1, reconnectMsMin: 20
  })
  const leaders = [make(0, peers.slice(0, 2)), make(1, peers.slice(0, 2))]
  const instances = [...leaders]
  try {
    const ready = leaders.map(async (db) => await once(db.cluster, 'ready', 15_000))
    await Promise.all(leaders.map(async (db) => { await db.open() }))
    await Promise.all(ready)
    await (leaders[0] as QuorumLevel<string, number>).put('x', 1)
    // The third host, started with the list it will be part of.
    const third = make(2, peers)
    instances.push(third)
    await third.open()
    const guest = make(0, peers.slice(0, 2))
    instances.push(guest)
    await guest.open()
    assert.equal(guest.isLeader, false)
    // The membership event reaches every process: the guest's, and another host's leader.
    const seen = [guest, leaders[1] as QuorumLevel<string, number>].map(async (db) => await once(db.cluster, 'membership', 10_000))
    const added = await guest.cluster.changeMembers({ add: `127.0.0.1:${ports[2] as number}` })
    assert.deepEqual(added, { epoch: 1, members: ports.map((port) => `127.0.0.1:${port}`).sort(), minConsensus: 1 })
    assert.deepEqual(await guest.cluster.members(), added)
    for (const event of await Promise.all(seen)) assert.deepEqual(event, [added])
    for (const db of [leaders[1] as QuorumLevel<string, number>, third]) await eventually(async () => (await db.cluster.members()).epoch === 1, 10_000, 'every host runs under epoch 1')
    assert.equal(await third.get('x', { consistency: 'strong' } as { keyEncoding?: string }), 1)
    await assert.rejects(guest.cluster.changeMembers({ minConsensus: 0 }), { code: 'LEVEL_INVALID_OPTION', message: /quorums miss each other/ })
  } finally {
    for (const db of [...instances].reverse()) await db.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})
