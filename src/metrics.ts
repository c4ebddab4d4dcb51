import { Counter, Gauge, Registry } from 'prom-client'
import type { ReplicatorStatus } from './replicator/status.js'

/** Anything with a status: a Replicator (`r`), or a QuorumLevel's `db.cluster`. */
export interface StatusSource {
  status: () => ReplicatorStatus | Promise<ReplicatorStatus>
}

/**
 * A prom-client registry of one host's replication metrics (README, Metrics), read from
 * `source.status()` at each scrape: `await registry.metrics()` is Prometheus' text format,
 * and `Registry.merge([registry, yours])` serves them beside your own.
 */
export function metricsRegistry (source: StatusSource, options: { prefix?: string } = {}): Registry {
  const prefix = options.prefix ?? 'quorum_level_'
  const registry = new Registry()
  // One status per scrape, shared by every metric of it.
  let scrape: Promise<ReplicatorStatus> | null = null
  const current = async (): Promise<ReplicatorStatus> => {
    scrape ??= Promise.resolve(source.status()).finally(() => { queueMicrotask(() => { scrape = null }) })
    return await scrape
  }
  const gauge = (name: string, help: string, labelNames: string[], fill: (metric: Gauge, status: ReplicatorStatus) => void): Gauge => {
    return new Gauge({
      name: prefix + name,
      help,
      labelNames,
      registers: [registry],
      async collect () {
        this.reset()
        fill(this, await current())
      }
    })
  }
  const counter = (name: string, help: string, pick: (status: ReplicatorStatus) => Readonly<Record<string, number>>): Counter => {
    return new Counter({
      name: prefix + name,
      help,
      labelNames: ['outcome'],
      registers: [registry],
      async collect () {
        // The source counts; the metric shows its totals as they are.
        this.reset()
        for (const [outcome, total] of Object.entries(pick(await current()))) this.inc({ outcome }, total)
      }
    })
  }
  const peer = (report: { host: string, port: number }): string => `${report.host}:${report.port}`

  gauge('ready', '1 while writes can start: minConsensus peers connected, recovered, storage working', [], (metric, status) => { metric.set(status.ready ? 1 : 0) })
  gauge('recovering', '1 while the host waits for its peers after a start that may have lost data', [], (metric, status) => { metric.set(status.recovery === null ? 0 : 1) })
  gauge('peer_connected', '1 while a configured peer is connected', ['peer'], (metric, status) => {
    for (const report of status.peers) metric.set({ peer: peer(report) }, report.connected ? 1 : 0)
  })
  gauge('peer_round_trip_seconds', "The peer's last ping", ['peer'], (metric, status) => {
    for (const report of status.peers) if (report.roundTripMs !== null) metric.set({ peer: peer(report) }, report.roundTripMs / 1000)
  })
  gauge('peer_last_contact_timestamp_seconds', 'When a frame last came from the peer', ['peer'], (metric, status) => {
    for (const report of status.peers) if (report.lastContactAt !== null) metric.set({ peer: peer(report) }, report.lastContactAt / 1000)
  })
  gauge('peer_lag', 'Decisions of an origin this host has applied beyond what the peer last reported', ['peer', 'origin'], (metric, status) => {
    for (const report of status.peers) {
      for (const [origin, lag] of Object.entries(report.lag ?? {})) metric.set({ peer: peer(report), origin }, lag)
    }
  })
  gauge('writes', "This host's own writes, by state", ['state'], (metric, status) => {
    for (const [state, count] of Object.entries(status.writes)) metric.set({ state }, count)
  })
  gauge('prepared', "Other hosts' transactions voted for and not yet applied", [], (metric, status) => { metric.set(status.prepared) })
  gauge('locks', 'Keys locked by transactions in flight', [], (metric, status) => { metric.set(status.locks) })
  gauge('log_applied', "An origin's decisions applied without a gap", ['origin'], (metric, status) => {
    for (const { origin, applied } of status.log) metric.set({ origin }, applied)
  })
  gauge('log_floor', "The first of an origin's decisions this host's log still serves", ['origin'], (metric, status) => {
    for (const { origin, floor } of status.log) metric.set({ origin }, floor)
  })
  gauge('log_entries', "An origin's decisions this host's log holds", ['origin'], (metric, status) => {
    for (const { origin, entries } of status.log) metric.set({ origin }, entries)
  })
  gauge('catch_up_behind', 'Decisions the most advanced peer had applied beyond this host, by origin', ['origin'], (metric, status) => {
    for (const { origin } of status.log) metric.set({ origin }, 0)
    for (const [origin, behind] of Object.entries(status.catchUp.origins)) metric.set({ origin }, behind)
  })
  gauge('full_copy_records_received', 'Records of the full copy being received so far (0 when none is)', [], (metric, status) => {
    metric.set(status.fullCopy.receiving?.records ?? 0)
  })
  gauge('full_copies_sending', 'Full copies this host is sending', [], (metric, status) => { metric.set(status.fullCopy.sending) })
  gauge('disk_bytes', 'What the database takes on disk, as LevelDB estimates it', [], (metric, status) => {
    if (status.disk !== null) metric.set(status.disk.bytes)
  })
  gauge('tombstones', 'Keys whose latest version is a delete, as last counted', [], (metric, status) => {
    if (status.tombstones !== null) metric.set(status.tombstones.count)
  })
  gauge('tombstones_collected', 'Tombstones deleted since the start, once every member had passed them', [], (metric, status) => {
    metric.set(status.collection.collected)
  })
  gauge('feed_last', 'The last change recorded in the change feed', [], (metric, status) => { metric.set(status.feed.last) })
  gauge('feed_oldest', 'The oldest change the change feed keeps', [], (metric, status) => { metric.set(status.feed.oldest) })
  counter('writes_total', 'Writes settled, by outcome: resolved, or why they failed', (status) => status.counters.writes)
  counter('strong_reads_total', 'Strong reads and fences, by outcome: answered, or why they failed', (status) => status.counters.strongReads)
  return registry
}
