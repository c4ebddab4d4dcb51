import { Node, compareVersions, isMajority } from '../../src/core/index.js'
import type { DataRecord, Effect, HostId, Input, Key, LogEntry, Message, Mutation, Op, Version } from '../../src/core/index.js'
import { EventHeap } from './heap.js'
import { Prng } from './prng.js'
import { SimStorage } from './storage.js'

/**
 * The deterministic simulator: N hosts running the real protocol core over a fake network
 * and fake disks, driven by one seeded PRNG. Every schedule has a safety phase with faults
 * (drops, duplicates, delays and so reordering, partitions, crashes that lose all memory and
 * every unfinished disk write), then heals and runs to quiescence, then checks the invariants.
 */

export interface ScheduleOptions {
  readonly seed: number
  readonly mutation?: Mutation | undefined
  readonly trace?: boolean
}

/** What the swarm chose for one seed: every fault rate differs from seed to seed. */
export interface SwarmConfig {
  readonly hosts: number
  readonly minConsensus: number
  readonly dropRate: number
  readonly duplicateRate: number
  readonly delayMsMax: number
  readonly diskMsMax: number
  readonly crashes: number
  readonly partitions: number
  readonly writes: number
  readonly keys: number
  readonly logRetention: number
  readonly reserveBlock: number
  readonly groupOpsMax: number
  /** Tiny budgets force group commit and catch-up messages to be cut by bytes. */
  readonly bytesMax: number
  readonly writeTimeoutMs: number
  /** Hosts start knowing no peer identity, only how many peers there are (as the Replicator does). */
  readonly learnPeers: boolean
}

export interface ScheduleStats {
  messages: number
  dropped: number
  duplicated: number
  crashes: number
  partitions: number
  commits: number
  aborts: number
  restartAborts: number
  votesNo: number
  fullCopies: number
  catchUpEntries: number
  acked: number
  failed: number
  unknown: number
}

export interface ScheduleResult {
  readonly seed: number
  readonly swarm: SwarmConfig
  readonly violation: string | null
  readonly trace: readonly string[]
  readonly stats: ScheduleStats
  readonly simulatedMs: number
}

export class Violation extends Error {}

const TICK_MS = 5
const SAFETY_MS = 1_000
const LIVENESS_MS_MAX = 30_000
const QUIESCENCE_CHECK_MS = 25
/**
 * A schedule sends about a thousand messages; this many means hosts are bouncing requests off
 * each other without progress (a storm), which on real networks is an outage.
 */
const MESSAGES_PER_SCHEDULE_MAX = 100_000

type SimEvent =
  | { readonly kind: 'deliver', readonly from: HostId, readonly to: HostId, readonly message: Message }
  | { readonly kind: 'disk', readonly host: HostId, readonly incarnation: number }
  | { readonly kind: 'tick', readonly host: HostId, readonly incarnation: number }
  | { readonly kind: 'write', readonly host: HostId }
  | { readonly kind: 'crash', readonly host: HostId, readonly downMs: number | null }
  | { readonly kind: 'restart', readonly host: HostId }
  | { readonly kind: 'partition', readonly groups: ReadonlyMap<HostId, number>, readonly durationMs: number }
  | { readonly kind: 'unpartition' }
  | { readonly kind: 'heal' }
  | { readonly kind: 'check' }

interface SimHost {
  readonly id: HostId
  readonly storage: SimStorage
  readonly random: Prng
  node: Node | null
  incarnation: number
  diskBusy: boolean
  /** Peers this host's node was told are connected. */
  readonly told: Set<HostId>
  ledger: number
}

interface ClientRequest {
  readonly id: number
  readonly host: HostId
  readonly ops: readonly Op[]
  /** The first put as `key=value`: unique per request, so it names the transaction that carried it. */
  readonly token: string
  status: 'pending' | 'ok' | 'failed' | 'unknown'
}

interface Decision {
  readonly entry: Extract<LogEntry, { kind: 'commit' }>
  /** Position in the global order in which decisions became durable at their origins. */
  readonly order: number
}

export function chooseSwarm (random: Prng): SwarmConfig {
  const hosts = random.pick([3, 5])
  return {
    hosts,
    minConsensus: random.int(0, hosts - 1),
    dropRate: random.pick([0, 0, 0.02, 0.1, 0.3]),
    duplicateRate: random.pick([0, 0, 0.05, 0.2]),
    delayMsMax: random.pick([1, 5, 20, 60]),
    diskMsMax: random.pick([0, 2, 10]),
    crashes: random.pick([0, 0, 1, 2, 4, 12]),
    partitions: random.pick([0, 0, 1, 3]),
    writes: random.int(10, 60),
    keys: random.pick([2, 4, 8]),
    logRetention: random.pick([1, 3, 1_000]),
    reserveBlock: random.pick([1, 4]),
    groupOpsMax: random.pick([1, 4, 64]),
    bytesMax: random.pick([24, 4 * 1024 * 1024]),
    writeTimeoutMs: random.pick([200, 2_000]),
    learnPeers: random.chance(0.5)
  }
}

export function runSchedule (options: ScheduleOptions): ScheduleResult {
  const simulation = new Simulation(options)
  let violation: string | null = null
  try {
    simulation.run()
  } catch (err) {
    if (!(err instanceof Error)) throw err
    violation = err instanceof Violation ? err.message : `crash: ${err.stack ?? err.message}`
  }
  return { seed: options.seed, swarm: simulation.swarm, violation, trace: simulation.trace, stats: simulation.stats, simulatedMs: simulation.now }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const text = (value: Uint8Array | null): string => (value === null ? '<deleted>' : decoder.decode(value))
const isLedgerKey = (key: Key): boolean => key.startsWith('L')

class Simulation {
  readonly swarm: SwarmConfig
  readonly trace: string[] = []
  readonly stats: ScheduleStats = { messages: 0, dropped: 0, duplicated: 0, crashes: 0, partitions: 0, commits: 0, aborts: 0, restartAborts: 0, votesNo: 0, fullCopies: 0, catchUpEntries: 0, acked: 0, failed: 0, unknown: 0 }
  now = 0
  readonly #random: Prng
  readonly #options: ScheduleOptions
  readonly #hosts = new Map<HostId, SimHost>()
  readonly #events = new EventHeap<SimEvent>()
  readonly #requests = new Map<number, ClientRequest>()
  readonly #decisions = new Map<string, Decision>()
  readonly #decisionByToken = new Map<string, Decision>()
  /** Every log entry ever written anywhere, by (origin, seq): copies must never differ. */
  readonly #entries = new Map<string, string>()
  #groups: ReadonlyMap<HostId, number> | null = null
  #healed = false
  #done = false
  #nextRequest = 1
  #decisionOrder = 0

  constructor (options: ScheduleOptions) {
    this.#options = options
    this.#random = new Prng(options.seed)
    this.swarm = chooseSwarm(this.#random)
    for (let i = 0; i < this.swarm.hosts; i++) {
      const id = `h${i}`
      this.#hosts.set(id, { id, storage: new SimStorage(), random: this.#random.fork(), node: null, incarnation: 0, diskBusy: false, told: new Set(), ledger: 0 })
    }
  }

  run (): void {
    const { swarm } = this
    const random = this.#random
    const ids = [...this.#hosts.keys()]
    for (const id of ids) this.#boot(id)
    this.#refreshLinks()
    for (let i = 0; i < swarm.writes; i++) this.#events.push(random.int(0, SAFETY_MS), { kind: 'write', host: random.pick(ids) })
    for (let i = 0; i < swarm.crashes; i++) {
      const downMs = random.chance(0.3) ? null : random.int(5, 400)
      this.#events.push(random.int(0, SAFETY_MS), { kind: 'crash', host: random.pick(ids), downMs })
    }
    for (let i = 0; i < swarm.partitions; i++) {
      const groups = new Map(ids.map((id) => [id, random.int(0, 1)] as const))
      this.#events.push(random.int(0, SAFETY_MS), { kind: 'partition', groups, durationMs: random.int(10, 400) })
    }
    this.#events.push(SAFETY_MS, { kind: 'heal' })
    for (let event = this.#events.pop(); event !== undefined && !this.#done; event = this.#events.pop()) {
      this.now = event.time
      if (this.now > SAFETY_MS + LIVENESS_MS_MAX) {
        throw new Violation(`no quiescence ${LIVENESS_MS_MAX} ms after healing: ${this.#describeStuck()}`)
      }
      this.#handle(event.value)
    }
    if (!this.#done) throw new Violation('the simulation ran out of events before quiescence')
    this.#checkFinal()
  }

  #log (line: string): void {
    if (this.#options.trace === true) this.trace.push(`${String(this.now).padStart(6)} ${line}`)
  }

  #handle (event: SimEvent): void {
    switch (event.kind) {
      case 'deliver': {
        const to = this.#hosts.get(event.to)
        if (to?.node == null || !this.#linkUp(event.from, event.to)) {
          this.stats.dropped++
          return
        }
        this.#log(`${event.to} <- ${event.from} ${describe(event.message)}`)
        this.#step(to, { type: 'message', now: this.now, from: event.from, message: event.message })
        return
      }
      case 'disk': return this.#runDisk(event.host, event.incarnation)
      case 'tick': {
        const host = this.#host(event.host)
        if (host.node === null || host.incarnation !== event.incarnation) return
        this.#step(host, { type: 'tick', now: this.now })
        this.#events.push(this.now + TICK_MS, event)
        return
      }
      case 'write': return this.#submitWrite(event.host)
      case 'crash': {
        if (this.#healed) return
        this.#crash(event.host)
        if (event.downMs !== null) this.#events.push(this.now + event.downMs, { kind: 'restart', host: event.host })
        return
      }
      case 'restart':
        if (this.#host(event.host).node !== null) return
        this.#boot(event.host)
        this.#refreshLinks()
        return
      case 'partition':
        if (this.#healed) return
        this.stats.partitions++
        this.#groups = event.groups
        this.#log(`partition ${[...event.groups].map(([id, group]) => `${id}:${group}`).join(' ')}`)
        this.#refreshLinks()
        this.#events.push(this.now + event.durationMs, { kind: 'unpartition' })
        return
      case 'unpartition':
        if (this.#groups === null) return
        this.#groups = null
        this.#log('partition ends')
        this.#refreshLinks()
        return
      case 'heal':
        this.#healed = true
        this.#groups = null
        this.#log('heal: faults stop, every host restarts')
        for (const host of this.#hosts.values()) if (host.node === null) this.#boot(host.id)
        this.#refreshLinks()
        this.#events.push(this.now + QUIESCENCE_CHECK_MS, { kind: 'check' })
        return
      case 'check':
        if (this.#isQuiescent()) {
          this.#done = true
          return
        }
        this.#events.push(this.now + QUIESCENCE_CHECK_MS, event)
    }
  }

  #host (id: HostId): SimHost {
    const host = this.#hosts.get(id)
    if (host === undefined) throw new Error(`unknown host ${id}`)
    return host
  }

  #boot (id: HostId): void {
    const host = this.#host(id)
    const peers = [...this.#hosts.keys()].filter((peer) => peer !== id)
    const { swarm } = this
    host.incarnation++
    host.told.clear()
    host.diskBusy = false
    const node = new Node({
      id,
      peers: swarm.learnPeers ? [] : peers,
      peerCount: peers.length,
      minConsensus: swarm.minConsensus,
      random: () => host.random.next(),
      writeTimeoutMs: swarm.writeTimeoutMs,
      prepareTimeoutMs: 60,
      commitResendMs: 40,
      syncIntervalMs: 30,
      backoffMsMin: 1,
      backoffMsMax: 15,
      groupOpsMax: swarm.groupOpsMax,
      groupBytesMax: swarm.bytesMax,
      catchUpBytesMax: swarm.bytesMax,
      logRetention: swarm.logRetention,
      logEntriesPerMessageMax: 5,
      snapshotRecordsPerMessageMax: 4,
      snapshotIdleMs: 200,
      reserveBlock: swarm.reserveBlock,
      mutation: this.#options.mutation
    }, host.storage.load())
    host.node = node
    this.#log(`${id} starts (incarnation ${host.incarnation})`)
    this.#perform(host, node.start(this.now))
    this.#events.push(this.now + host.random.int(1, TICK_MS), { kind: 'tick', host: id, incarnation: host.incarnation })
  }

  #crash (id: HostId): void {
    const host = this.#host(id)
    if (host.node === null) return
    this.stats.crashes++
    this.#log(`${id} crashes, losing ${host.storage.queue.length} unfinished disk operations`)
    host.node = null
    host.incarnation++
    host.storage.crash()
    for (const request of this.#requests.values()) {
      if (request.host === id && request.status === 'pending') {
        request.status = 'unknown'
        this.stats.unknown++
      }
    }
    this.#refreshLinks()
  }

  #linkUp (a: HostId, b: HostId): boolean {
    if (this.#host(a).node === null || this.#host(b).node === null) return false
    return this.#groups === null || this.#groups.get(a) === this.#groups.get(b)
  }

  /** Tells each node about every link that came up or went down since it was last told. */
  #refreshLinks (): void {
    for (const host of this.#hosts.values()) {
      if (host.node === null) continue
      for (const peer of this.#hosts.keys()) {
        if (peer === host.id) continue
        const up = this.#linkUp(host.id, peer)
        if (up === host.told.has(peer)) continue
        if (up) host.told.add(peer)
        else host.told.delete(peer)
        this.#step(host, { type: up ? 'connected' : 'disconnected', now: this.now, peer })
        if (host.node === null) return
      }
    }
  }

  #step (host: SimHost, input: Input): void {
    const node = host.node
    if (node === null) return
    this.#perform(host, node.step(input))
  }

  #perform (host: SimHost, effects: Effect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          this.#send(host.id, effect.to, effect.message)
          break
        case 'persist':
          host.storage.queue.push({ kind: 'persist', id: effect.id, writes: effect.writes })
          this.#kickDisk(host)
          break
        case 'read':
          host.storage.queue.push({ kind: 'read', id: effect.id, query: effect.query })
          this.#kickDisk(host)
          break
        case 'reply':
          this.#reply(effect.request, effect.result.ok, effect.result.ok ? '' : effect.result.reason)
          break
        case 'event':
          this.#log(`${host.id} ${effect.event}`)
          break
      }
    }
  }

  #send (from: HostId, to: HostId, message: Message): void {
    if (++this.stats.messages > MESSAGES_PER_SCHEDULE_MAX) {
      throw new Violation(`message-storm: more than ${MESSAGES_PER_SCHEDULE_MAX} messages, the last ${describe(message)} from ${from} to ${to}`)
    }
    if (message.type === 'vote' && !message.yes) this.stats.votesNo++
    if (message.type === 'vote' && message.yes) this.#checkDurableVote(from, to, message.seq)
    if (message.type === 'snapshot' && message.done) this.stats.fullCopies++
    if (!this.#linkUp(from, to) || (!this.#healed && this.#random.chance(this.swarm.dropRate))) {
      this.stats.dropped++
      return
    }
    const copies = !this.#healed && this.#random.chance(this.swarm.duplicateRate) ? 2 : 1
    if (copies > 1) this.stats.duplicated++
    for (let i = 0; i < copies; i++) {
      this.#events.push(this.now + this.#random.int(1, this.swarm.delayMsMax), { kind: 'deliver', from, to, message })
    }
  }

  #kickDisk (host: SimHost): void {
    if (host.diskBusy) return
    host.diskBusy = true
    this.#events.push(this.now + this.#random.int(0, this.swarm.diskMsMax), { kind: 'disk', host: host.id, incarnation: host.incarnation })
  }

  #runDisk (id: HostId, incarnation: number): void {
    const host = this.#host(id)
    if (host.incarnation !== incarnation || host.node === null) return
    const op = host.storage.queue.shift()
    host.diskBusy = false
    if (op === undefined) return
    if (op.kind === 'persist') {
      this.#observeWrites(host, op.writes)
      host.storage.write(op.writes)
      this.#checkLedger(host)
      this.#step(host, { type: 'persisted', now: this.now, id: op.id })
    } else {
      this.#step(host, { type: 'read', now: this.now, id: op.id, result: host.storage.read(op.query) })
    }
    if (host.node !== null && host.incarnation === incarnation && host.storage.queue.length > 0) this.#kickDisk(host)
  }

  /** Records decisions as they become durable at their origin, and checks every log copy. */
  #observeWrites (host: SimHost, writes: ReadonlyArray<import('../../src/core/index.js').StorageWrite>): void {
    for (const write of writes) {
      if (write.type === 'data' && isLedgerKey(write.key)) {
        host.ledger -= amount(host.storage.data.get(write.key))
        host.ledger += amount(write.record)
      }
      if (write.type !== 'log') continue
      const { entry } = write
      const key = `${entry.origin}#${entry.seq}`
      const shape = entryShape(entry)
      const seen = this.#entries.get(key)
      if (seen !== undefined && seen !== shape) throw new Violation(`log entries differ for ${key}: ${seen} vs ${shape} (written by ${host.id})`)
      this.#entries.set(key, shape)
      if (entry.origin !== host.id) {
        this.stats.catchUpEntries++
        continue
      }
      if (entry.kind === 'abort') {
        if (entry.last > entry.seq) this.stats.restartAborts++
        else this.stats.aborts++
        continue
      }
      this.stats.commits++
      const decision = { entry, order: this.#decisionOrder++ }
      this.#decisions.set(key, decision)
      const token = tokenOf(entry.ops)
      for (const op of entry.ops) {
        if (op.type !== 'put') continue
        const opToken = `${op.key}=${text(op.value)}`
        if (this.#decisionByToken.has(opToken) && opToken === token) throw new Violation(`request ${token} committed twice`)
      }
      // Each request's token is its own first put; map every put so grouped requests are found.
      for (const op of entry.ops) if (op.type === 'put') this.#decisionByToken.set(`${op.key}=${text(op.value)}`, decision)
      this.#log(`${host.id} commit ${key} ts=${entry.ts} ${entry.ops.map(describeOp).join(' ')}`)
    }
  }

  /**
   * A yes vote is a promise that survives a crash: the voter's disk must already hold the
   * prepare record, or the decision itself.
   */
  #checkDurableVote (voter: HostId, origin: HostId, seq: number): void {
    const storage = this.#host(voter).storage
    if (storage.prepared.has(`${origin}#${seq}`) || storage.hasApplied(origin, seq)) return
    throw new Violation(`durable-votes: ${voter} voted yes on ${origin}#${seq} without a durable prepare record`)
  }

  #checkLedger (host: SimHost): void {
    if (host.ledger !== 0) throw new Violation(`atomicity: the ledger on ${host.id} sums to ${host.ledger}, not 0`)
  }

  #submitWrite (id: HostId): void {
    const host = this.#host(id)
    if (host.node === null || this.#healed) return
    const random = this.#random
    const requestId = this.#nextRequest++
    const key = (): Key => `k${random.int(0, this.swarm.keys - 1)}`
    const put = (k: Key, value: string): Op => ({ type: 'put', key: k, value: encoder.encode(value) })
    let ops: Op[]
    switch (random.int(0, 3)) {
      case 0:
        ops = [put(key(), `v${requestId}`)]
        break
      case 1:
        // Every request carries one unique put, so that the checkers can tell which
        // transaction carried it; the delete is the op under test.
        ops = [{ type: 'del', key: key() }, put(`u${requestId}`, `v${requestId}`)]
        break
      case 2: {
        ops = [put(key(), `v${requestId}`)]
        for (let i = random.int(1, 3); i > 0; i--) ops.push(random.chance(0.5) ? put(key(), `v${requestId}.${i}`) : { type: 'del', key: key() })
        break
      }
      default: {
        // A ledger transfer: a debit and a matching credit under fresh keys. The ledger sums
        // to zero on a replica exactly when every transfer is applied whole or not at all.
        const sum = random.int(1, 100)
        ops = [put(`L${requestId}d`, String(-sum)), put(`L${requestId}c`, String(sum))]
      }
    }
    const request: ClientRequest = { id: requestId, host: id, ops, token: tokenOf(ops), status: 'pending' }
    this.#requests.set(requestId, request)
    this.#log(`${id} write #${requestId} ${ops.map(describeOp).join(' ')}`)
    this.#step(host, { type: 'write', now: this.now, request: requestId, ops })
  }

  #reply (requestId: number, ok: boolean, reason: string): void {
    const request = this.#requests.get(requestId)
    if (request === undefined || request.status !== 'pending') throw new Violation(`reply to request #${requestId}, which is not pending`)
    const decision = this.#decisionByToken.get(request.token)
    this.#log(`${request.host} reply #${requestId} ${ok ? 'ok' : `failed (${reason})`}`)
    if (!ok) {
      request.status = 'failed'
      this.stats.failed++
      if (decision !== undefined) throw new Violation(`failed-writes-absent: request #${requestId} failed but was committed`)
      return
    }
    request.status = 'ok'
    this.stats.acked++
    if (decision === undefined) throw new Violation(`agreement: request #${requestId} was acknowledged but never committed`)
    const { origin, seq } = decision.entry
    const holders = [...this.#hosts.values()].filter((host) => host.storage.hasApplied(origin, seq)).length
    if (holders < this.swarm.minConsensus + 1) {
      throw new Violation(`agreement: request #${requestId} acknowledged while durable on ${holders} hosts, fewer than ${this.swarm.minConsensus + 1}`)
    }
  }

  #isQuiescent (): boolean {
    if ([...this.#requests.values()].some((request) => request.status === 'pending')) return false
    const hosts = [...this.#hosts.values()]
    for (const host of hosts) {
      const node = host.node
      if (node === null || host.storage.queue.length > 0) return false
      const view = node.inspect()
      if (view.queued > 0 || view.active || view.committing > 0 || view.prepared > 0 || view.locks > 0 || view.applying) return false
    }
    for (const origin of this.#hosts.keys()) {
      const expected = this.#host(origin).node?.inspect().marks[origin] ?? 0
      for (const host of hosts) if ((host.node?.inspect().marks[origin] ?? 0) !== expected) return false
    }
    return true
  }

  #describeStuck (): string {
    const pending = [...this.#requests.values()].filter((request) => request.status === 'pending').map((request) => `#${request.id}@${request.host}`)
    const hosts = [...this.#hosts.values()].map((host) => `${host.id}=${JSON.stringify(host.node?.inspect() ?? 'down')}`)
    return `pending writes [${pending.join(' ')}]; ${hosts.join('; ')}`
  }

  #checkFinal (): void {
    const hosts = [...this.#hosts.values()]
    // The state every replica must hold: the newest committed write to each key.
    const expected = new Map<Key, DataRecord>()
    for (const { entry } of this.#decisions.values()) {
      const version: Version = { ts: entry.ts, origin: entry.origin, seq: entry.seq }
      for (const op of entry.ops) {
        const current = expected.get(op.key)
        if (current === undefined || compareVersions(version, current.version) >= 0) {
          expected.set(op.key, { value: op.type === 'put' ? op.value : null, version })
        }
      }
    }
    for (const host of hosts) {
      this.#checkLedger(host)
      if (host.storage.prepared.size > 0) throw new Violation(`no-stuck: ${host.id} still holds ${host.storage.prepared.size} prepare records`)
      for (const [key, record] of expected) {
        const stored = host.storage.data.get(key)
        if (stored === undefined || text(stored.value) !== text(record.value) || compareVersions(stored.version, record.version) !== 0) {
          throw new Violation(`convergence: ${host.id} holds ${key}=${stored === undefined ? '<absent>' : text(stored.value)}, the newest committed write is ${text(record.value)} (${record.version.origin}#${record.version.seq})`)
        }
      }
      for (const key of host.storage.data.keys()) {
        if (!expected.has(key)) throw new Violation(`convergence: ${host.id} holds ${key}, which no committed transaction wrote`)
      }
    }
    for (const request of this.#requests.values()) {
      if (request.status === 'failed' && this.#decisionByToken.has(request.token)) {
        throw new Violation(`failed-writes-absent: request #${request.id} failed but was committed`)
      }
    }
    if (isMajority(this.swarm.minConsensus, this.swarm.hosts - 1)) this.#checkIsolation()
  }

  /** SPEC §8: with a majority, conflicting commits become durable in version order. */
  #checkIsolation (): void {
    const byKey = new Map<Key, Decision[]>()
    for (const decision of this.#decisions.values()) {
      for (const key of new Set(decision.entry.ops.map((op) => op.key))) {
        const list = byKey.get(key) ?? []
        list.push(decision)
        byKey.set(key, list)
      }
    }
    for (const [key, decisions] of byKey) {
      decisions.sort((a, b) => a.order - b.order)
      for (let i = 1; i < decisions.length; i++) {
        const before = decisions[i - 1]?.entry
        const after = decisions[i]?.entry
        if (before === undefined || after === undefined) continue
        if (compareVersions({ ts: before.ts, origin: before.origin, seq: before.seq }, { ts: after.ts, origin: after.origin, seq: after.seq }) >= 0) {
          throw new Violation(`isolation: on ${key}, ${before.origin}#${before.seq} (ts ${before.ts}) was decided before ${after.origin}#${after.seq} (ts ${after.ts}) but has the higher version`)
        }
      }
    }
  }
}

function amount (record: DataRecord | undefined): number {
  return record?.value == null ? 0 : Number(text(record.value))
}

function tokenOf (ops: readonly Op[]): string {
  const first = ops.find((op) => op.type === 'put')
  if (first === undefined || first.type !== 'put') throw new Error('every simulated request carries a put')
  return `${first.key}=${text(first.value)}`
}

function entryShape (entry: LogEntry): string {
  return entry.kind === 'abort' ? `abort..${entry.last}` : `commit@${entry.ts}:${entry.ops.map(describeOp).join(',')}`
}

function describeOp (op: Op): string {
  return op.type === 'put' ? `${op.key}=${text(op.value)}` : `-${op.key}`
}

function describe (message: Message): string {
  switch (message.type) {
    case 'prepare': return `prepare #${message.seq} [${message.ops.map(describeOp).join(' ')}] clock=${message.clock}`
    case 'vote': return `vote #${message.seq} ${message.yes ? 'yes' : 'no'} clock=${message.clock}`
    case 'commit': return `commit #${message.seq} ts=${message.ts}${message.ops === null ? '' : ' with ops'}`
    case 'abort': return `abort #${message.seq}`
    case 'ack': return `ack #${message.seq}`
    case 'sync': return `sync ${JSON.stringify(message.marks)}`
    case 'entries': return `entries ${message.entries.map((entry) => `${entry.origin}#${entry.seq}${entry.kind === 'abort' ? `..${entry.last}x` : ''}`).join(' ')}${message.more ? ' +more' : ''}`
    case 'snapshot': return `snapshot s${message.session}.${message.part} ${message.records.length} records${message.marks === null ? '' : ` marks=${JSON.stringify(message.marks)}`}${message.done ? ' done' : ''}`
    case 'snapshot-next': return `snapshot-next s${message.session}.${message.part}`
  }
}
