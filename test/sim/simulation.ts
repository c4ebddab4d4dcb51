import { Node, compareVersions, inRange, isMajority, isMembershipOps } from '../../src/core/index.js'
import type {
  Change, ChangeResult, DataRecord, Effect, HostId, Input, Key, KeyRange, LogEntry, Membership, MembershipChange, Message, Mutation, Op, ReadResult, StorageWrite, Version, WriteId, WriteResult
} from '../../src/core/index.js'
import { EventHeap } from './heap.js'
import { type RegisterOp, checkRegisters } from './linearizability.js'
import { Prng } from './prng.js'
import { type DiskCopy, SimStorage } from './storage.js'
import { type SwarmConfig, chooseMembership, chooseSwarm } from './swarm.js'

/**
 * The deterministic simulator: N hosts running the real protocol core over a fake network,
 * fake disks and fake clocks, driven by one seeded PRNG. Each schedule has a safety phase of
 * faults as real hosts meet them (lost, duplicated, delayed and reordered messages, two-way
 * and one-way partitions, process crashes, power losses that drop unsynced writes, a disk
 * restored from an older copy, failing storage, leader changes whose clients retry, wall
 * clocks that are skewed, drift and step, a host that never returns, a host that joins late),
 * then heals, runs to quiescence, and checks the invariants of SPEC §9.
 */

export interface ScheduleOptions {
  readonly seed: number
  readonly mutation?: Mutation | undefined
  readonly trace?: boolean
}

export interface ScheduleStats {
  messages: number
  dropped: number
  duplicated: number
  crashes: number
  powerLosses: number
  batchesLost: number
  restores: number
  leaderChanges: number
  storageFailures: number
  partitions: number
  oneWayCuts: number
  clockSteps: number
  commits: number
  aborts: number
  restartAborts: number
  votesNo: number
  fullCopies: number
  /** Hosts that started with a full copy half staged (taken up from the chunk it lacked) or half applied (finished). */
  copiesResumed: number
  copiesFinished: number
  /** Chunks of a copy sent again after a later one was sent: lost with it, or in a restart before they were staged. */
  earlierChunksResent: number
  catchUpEntries: number
  recoveries: number
  retries: number
  answersLost: number
  acked: number
  failed: number
  unconfirmed: number
  unknown: number
  reads: number
  freshReads: number
  strongReads: number
  strongReadsAnswered: number
  membershipChanges: number
  membershipChangesMade: number
  /** Tombstones collected, and keys a full copy dropped because its sender had collected theirs. */
  tombstonesCollected: number
  copyDrops: number
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
const LIVENESS_MS_MAX = 30_000
const QUIESCENCE_CHECK_MS = 25
/** The local socket between a client and its leader: answers take this long at most. */
const ANSWER_MS_MAX = 2
/** Between retries of a failed storage operation, as the Replicator's store does. */
const STORAGE_RETRY_MS = 10
/** How long a leader change takes: the next process takes the lock and starts. */
const LEADER_CHANGE_MS_MAX = 20
/** A participant told of nothing for this long, while linked to an origin that aborted, holds a lock it should not. */
const ABORT_REACH_MS = 600
/**
 * A schedule sends a few thousand messages; this many means hosts are bouncing requests off
 * each other without progress (a storm), which on real networks is an outage.
 */
const MESSAGES_PER_SCHEDULE_MAX = 200_000

type SimEvent =
  | { readonly kind: 'deliver', readonly from: HostId, readonly to: HostId, readonly message: Message, readonly incarnation: number }
  | { readonly kind: 'disk', readonly host: HostId, readonly incarnation: number }
  | { readonly kind: 'tick', readonly host: HostId, readonly incarnation: number }
  | { readonly kind: 'write', readonly host: HostId }
  | { readonly kind: 'read', readonly host: HostId }
  | { readonly kind: 'strong-read', readonly host: HostId }
  | { readonly kind: 'strong-scan', readonly host: HostId }
  | { readonly kind: 'answer', readonly host: HostId, readonly incarnation: number, readonly request: number, readonly result: WriteResult }
  | { readonly kind: 'crash', readonly host: HostId, readonly downMs: number | null, readonly power: boolean }
  | { readonly kind: 'restart', readonly host: HostId }
  | { readonly kind: 'leader-change', readonly host: HostId }
  | { readonly kind: 'backup', readonly host: HostId }
  | { readonly kind: 'restore', readonly host: HostId }
  | { readonly kind: 'storage-fail', readonly host: HostId, readonly durationMs: number }
  | { readonly kind: 'partition', readonly groups: ReadonlyMap<HostId, number>, readonly durationMs: number }
  | { readonly kind: 'unpartition' }
  | { readonly kind: 'one-way', readonly from: HostId, readonly to: HostId, readonly durationMs: number }
  | { readonly kind: 'one-way-end', readonly from: HostId, readonly to: HostId }
  | { readonly kind: 'clock-step', readonly host: HostId, readonly deltaMs: number }
  | { readonly kind: 'join', readonly host: HostId }
  | { readonly kind: 'change', readonly host: HostId }
  | { readonly kind: 'write-back', readonly host: HostId }
  | { readonly kind: 'heal' }
  | { readonly kind: 'check' }

interface ClientWriter {
  readonly name: string
  counter: number
}

interface SimHost {
  readonly id: HostId
  readonly storage: SimStorage
  readonly random: Prng
  node: Node | null
  /** Changes at every crash and every start: stale disk events, ticks and answers are dropped. */
  incarnation: number
  diskBusy: boolean
  /** Peers this host's node was told are connected. */
  readonly told: Set<HostId>
  ledger: number
  readonly skewMs: number
  /** Wall-clock milliseconds per simulated millisecond, minus one. */
  readonly drift: number
  stepsMs: number
  /** Part of the cluster yet (false for a late host until it joins). */
  present: boolean
  /** Down for good. */
  dead: boolean
  /** Whether the next start finds storage intact: false after a power loss or a restore. */
  nextStartIntact: boolean
  diskFailingUntil: number
  /** The node was told that storage fails. */
  storageFailing: boolean
  /** Clients on this host: they survive a leader change and die with the host. */
  writers: ClientWriter[]
  /** When the disk last went back in time (a power loss that lost batches, or a restore). */
  wentBackAt: number
  nextWriter: number
}

interface ClientWrite {
  readonly host: HostId
  readonly id: WriteId
  readonly ops: readonly Op[]
  /** The first put as `key=value`: unique per write, so it names the transaction that carried it. */
  readonly token: string
  readonly invokedAt: number
  status: 'pending' | 'ok' | 'failed' | 'unconfirmed' | 'unknown'
  answeredAt: number
  /** The event that answered it: reads in the same millisecond are ordered by event. */
  answeredEvent: number
  reason: string
  /** Hosts holding its commit durably when it was acknowledged. */
  holders: HostId[]
}

interface Decision {
  readonly entry: Extract<LogEntry, { kind: 'commit' }>
  readonly shape: string
  /** When it first became durable at its origin. */
  readonly at: number
  /** Position in the global order in which decisions first became durable at their origins. */
  readonly order: number
}

/** A strong read asked of a host's core: answered with its interval, or lost with the host. */
interface StrongReadCall {
  readonly host: HostId
  readonly incarnation: number
  /** A strong read's key, or a strong scan's range (a fence, then a read of the replica). */
  readonly key: Key | null
  readonly range: KeyRange | null
  readonly invokedAt: number
}

interface StrongReadDone {
  readonly host: HostId
  readonly key: Key
  readonly invokedAt: number
  readonly answeredAt: number
  readonly value: string | null
  readonly version: Version | undefined
  /** At least the horizon of every record it was made from: an absent key may be a collected tombstone. */
  readonly horizon: number
}

interface Read {
  readonly host: HostId
  readonly at: number
  readonly event: number
  readonly key: Key
  readonly value: string | null
  readonly version: Version | undefined
  /** The host had applied every commit decided anywhere when it read. */
  readonly fresh: boolean
  /** The host's collection horizon: a key absent there may have had a tombstone at or below it. */
  readonly horizon: number
}

/** What the swarm chose for a seed, without running it. */
export function swarmOf (seed: number): SwarmConfig {
  return new Simulation({ seed }).swarm
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
/** The membership a change's entry puts in force, as the checker compares them. */
function changeShape (entry: Extract<LogEntry, { kind: 'commit' }>): string {
  const op = entry.ops[0]
  return op?.type === 'put' ? membershipShape((JSON.parse(decoder.decode(op.value)) as { membership: Membership }).membership) : ''
}

/** A membership as one string, its fields always in one order. */
function membershipShape ({ epoch, members, minConsensus }: Membership): string {
  return JSON.stringify({ epoch, members, minConsensus })
}

const text = (value: Uint8Array | null): string => (value === null ? '<deleted>' : decoder.decode(value))
const isLedgerKey = (key: Key): boolean => key.startsWith('L')
const CHANGED_NOTHING = new Set(['not-ready', 'conflict', 'no-quorum', 'timeout', 'storage', 'recovering', 'closed'])

class Simulation {
  readonly swarm: SwarmConfig
  readonly trace: string[] = []
  readonly stats: ScheduleStats = {
    messages: 0, dropped: 0, duplicated: 0, crashes: 0, powerLosses: 0, batchesLost: 0, restores: 0, leaderChanges: 0, storageFailures: 0, partitions: 0, oneWayCuts: 0, clockSteps: 0, commits: 0, aborts: 0, restartAborts: 0, votesNo: 0, fullCopies: 0, copiesResumed: 0, copiesFinished: 0, earlierChunksResent: 0, catchUpEntries: 0, recoveries: 0, retries: 0, answersLost: 0, acked: 0, failed: 0, unconfirmed: 0, unknown: 0, reads: 0, freshReads: 0, strongReads: 0, strongReadsAnswered: 0, membershipChanges: 0, membershipChangesMade: 0, tombstonesCollected: 0, copyDrops: 0
  }

  now = 0
  readonly #random: Prng
  /** Membership choices, drawn apart: schedules without changes are what they were before them. */
  readonly #changeRandom: Prng
  /** Each epoch's membership, as the first host that applied it had it: no host may differ (SPEC §15). */
  readonly #memberships = new Map<number, string>()
  /** Membership changes asked for and not answered, by request. */
  readonly #changeCalls = new Map<number, { readonly host: HostId, readonly incarnation: number, readonly change: MembershipChange }>()
  /** The smallest `minConsensus` any membership had: what an acknowledged write is held by at least. */
  #minConsensusLeast: number
  readonly #options: ScheduleOptions
  readonly #hosts = new Map<HostId, SimHost>()
  readonly #events = new EventHeap<SimEvent>()
  readonly #requests = new Map<number, ClientWrite>()
  readonly #writes: ClientWrite[] = []
  readonly #decisions = new Map<string, Decision>()
  readonly #decisionByToken = new Map<string, Decision>()
  readonly #reads: Read[] = []
  readonly #strongCalls = new Map<number, StrongReadCall>()
  readonly #strongReads: StrongReadDone[] = []
  readonly #backups = new Map<HostId, DiskCopy>()
  readonly #toldAborts = new Set<string>()
  /** When each own abort first became durable at its origin, and in which of its lives, by `origin#seq`. */
  readonly #abortedAt = new Map<string, { at: number, incarnation: number }>()
  /** Since when the link between two hosts has been up both ways, by `a>b`. */
  readonly #linkedSince = new Map<string, number>()
  readonly #oneWay = new Set<string>()
  /** The highest chunk sent of each copy, by sender and session. */
  readonly #chunksSent = new Map<string, number>()
  #groups: ReadonlyMap<HostId, number> | null = null
  #healed = false
  #done = false
  #restored = false
  #nextRequest = 1
  #decisionOrder = 0
  #event = 0

  constructor (options: ScheduleOptions) {
    this.#options = options
    this.#random = new Prng(options.seed)
    const base = chooseSwarm(this.#random)
    this.#changeRandom = new Prng((options.seed ^ 0x6d656d62) >>> 0)
    this.swarm = { ...base, ...chooseMembership(this.#changeRandom, base) }
    this.#minConsensusLeast = base.minConsensus
    const { hosts, clockSkewMs, lateHost } = this.swarm
    for (let i = 0; i < hosts; i++) {
      const id = `h${i}`
      const random = this.#random.fork()
      this.#hosts.set(id, {
        id,
        storage: new SimStorage(),
        random,
        node: null,
        incarnation: 0,
        diskBusy: false,
        told: new Set(),
        ledger: 0,
        skewMs: random.int(-clockSkewMs, clockSkewMs),
        drift: (random.next() - 0.5) * 2e-4,
        stepsMs: 0,
        present: !(lateHost && i === hosts - 1),
        dead: false,
        nextStartIntact: true,
        diskFailingUntil: 0,
        storageFailing: false,
        writers: [],
        wentBackAt: -Infinity,
        nextWriter: 0
      })
    }
  }

  run (): void {
    const { swarm } = this
    const random = this.#random
    const ids = [...this.#hosts.keys()]
    const safety = swarm.safetyMs
    const at = (): number => random.int(0, safety)
    for (const host of this.#hosts.values()) if (host.present) this.#boot(host)
    this.#refreshLinks()
    for (let i = 0; i < swarm.writes; i++) this.#events.push(at(), { kind: 'write', host: random.pick(ids) })
    for (let i = 0; i < swarm.reads; i++) this.#events.push(at(), { kind: 'read', host: random.pick(ids) })
    for (let i = 0; i < swarm.strongReads; i++) this.#events.push(at(), { kind: random.chance(0.5) ? 'strong-read' : 'strong-scan', host: random.pick(ids) })
    for (let i = 0; i < swarm.crashes; i++) {
      this.#events.push(at(), { kind: 'crash', host: random.pick(ids), downMs: random.chance(0.3) ? null : random.int(5, 400), power: false })
    }
    for (let i = 0; i < swarm.powerLosses; i++) {
      this.#events.push(at(), { kind: 'crash', host: random.pick(ids), downMs: random.int(5, 400), power: true })
    }
    for (let i = 0; i < swarm.leaderChanges; i++) this.#events.push(at(), { kind: 'leader-change', host: random.pick(ids) })
    for (let i = 0; i < swarm.storageFailures; i++) {
      this.#events.push(at(), { kind: 'storage-fail', host: random.pick(ids), durationMs: random.pick([20, 100, 500]) })
    }
    for (let i = 0; i < swarm.partitions; i++) {
      const groups = new Map(ids.map((id) => [id, random.int(0, 1)] as const))
      this.#events.push(at(), { kind: 'partition', groups, durationMs: random.int(10, safety / 2) })
    }
    for (let i = 0; i < swarm.oneWayCuts; i++) {
      const from = random.pick(ids)
      const to = random.pick(ids.filter((id) => id !== from))
      this.#events.push(at(), { kind: 'one-way', from, to, durationMs: random.int(10, safety / 2) })
    }
    for (let i = 0; i < swarm.clockSteps; i++) {
      this.#events.push(at(), { kind: 'clock-step', host: random.pick(ids), deltaMs: random.pick([-5_000, -500, 500, 30_000]) })
    }
    if (swarm.restore) {
      const host = random.pick(ids)
      const backupAt = random.int(0, safety / 2)
      this.#events.push(backupAt, { kind: 'backup', host })
      this.#events.push(random.int(backupAt, safety), { kind: 'restore', host })
    }
    if (swarm.foreverDown) this.#events.push(at(), { kind: 'crash', host: random.pick(ids), downMs: -1, power: false })
    if (swarm.lateHost) this.#events.push(random.int(0, safety / 2), { kind: 'join', host: ids[ids.length - 1] as HostId })
    for (let i = 0; i < swarm.membershipChanges; i++) {
      this.#events.push(this.#changeRandom.int(0, safety), { kind: 'change', host: this.#changeRandom.pick(ids) })
    }
    for (const id of ids) this.#events.push(random.int(50, 300), { kind: 'write-back', host: id })
    this.#events.push(safety, { kind: 'heal' })
    for (let event = this.#events.pop(); event !== undefined && !this.#done; event = this.#events.pop()) {
      this.now = event.time
      this.#event++
      if (this.now > safety + LIVENESS_MS_MAX) {
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

  #host (id: HostId): SimHost {
    const host = this.#hosts.get(id)
    if (host === undefined) throw new Error(`unknown host ${id}`)
    return host
  }

  #wall (host: SimHost): number {
    return Math.round(this.now * (1 + host.drift) + host.skewMs + host.stepsMs)
  }

  #time (host: SimHost): { now: number, wall: number } {
    return { now: this.now, wall: this.#wall(host) }
  }

  #handle (event: SimEvent): void {
    switch (event.kind) {
      case 'deliver': {
        const to = this.#hosts.get(event.to)
        const from = this.#host(event.from)
        // A message belongs to its connection: once its sender restarted, it is gone with it.
        if (to?.node == null || from.incarnation !== event.incarnation || !this.#linkUp(event.from, event.to) || this.#oneWay.has(`${event.from}>${event.to}`)) {
          this.stats.dropped++
          return
        }
        this.#log(`${event.to} <- ${event.from} ${describe(event.message)}`)
        this.#noteToldAborts(to, event.from, event.message)
        this.#step(to, { type: 'message', ...this.#time(to), from: event.from, message: event.message })
        return
      }
      case 'disk': return this.#runDisk(event.host, event.incarnation)
      case 'tick': {
        const host = this.#host(event.host)
        if (host.node === null || host.incarnation !== event.incarnation) return
        this.#step(host, { type: 'tick', ...this.#time(host) })
        this.#checkAbortsReach(host)
        this.#events.push(this.now + TICK_MS, event)
        return
      }
      case 'write': return this.#submitWrite(event.host)
      case 'read': return this.#read(event.host)
      case 'strong-read': return this.#strongRead(event.host)
      case 'strong-scan': return this.#strongScan(event.host)
      case 'answer': return this.#answer(event)
      case 'crash': {
        const host = this.#host(event.host)
        // A host between two leaders (its clients waiting to retry) can crash too.
        if (this.#healed || host.dead || !host.present) return
        this.#crash(host, event.power)
        if (event.downMs === -1) {
          host.dead = true
          this.#log(`${host.id} is gone for good`)
        } else if (event.downMs !== null) {
          this.#events.push(this.now + event.downMs, { kind: 'restart', host: event.host })
        }
        return
      }
      case 'restart': {
        const host = this.#host(event.host)
        if (host.node !== null || host.dead || !host.present) return
        this.#boot(host)
        this.#refreshLinks()
        return
      }
      case 'leader-change': {
        const host = this.#host(event.host)
        if (this.#healed || host.node === null) return
        this.stats.leaderChanges++
        this.#log(`${host.id} leader process dies; the next one takes over`)
        this.#stop(host)
        this.#events.push(this.now + host.random.int(1, LEADER_CHANGE_MS_MAX), { kind: 'restart', host: host.id })
        return
      }
      case 'backup': {
        const host = this.#host(event.host)
        this.#backups.set(host.id, host.storage.copy(this.now))
        this.#log(`${host.id} disk copied`)
        return
      }
      case 'restore': {
        const host = this.#host(event.host)
        const copy = this.#backups.get(host.id)
        if (this.#healed || host.dead || !host.present || copy === undefined) return
        this.stats.restores++
        this.#restored = true
        // Every process of the host is stopped for a restore, clients included (README).
        this.#crash(host, false)
        host.storage.restore(copy)
        host.nextStartIntact = false
        host.wentBackAt = this.now
        this.#recomputeLedger(host)
        this.#log(`${host.id} restored from its copy of ${copy.takenAt}`)
        this.#events.push(this.now + host.random.int(5, 200), { kind: 'restart', host: host.id })
        return
      }
      case 'storage-fail': {
        const host = this.#host(event.host)
        if (this.#healed) return
        this.stats.storageFailures++
        host.diskFailingUntil = Math.max(host.diskFailingUntil, this.now + event.durationMs)
        this.#log(`${host.id} storage fails for ${event.durationMs} ms`)
        return
      }
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
      case 'one-way':
        if (this.#healed) return
        this.stats.oneWayCuts++
        this.#oneWay.add(`${event.from}>${event.to}`)
        this.#linkedSince.delete(linkKey(event.from, event.to))
        this.#log(`${event.from} -> ${event.to} cut one way`)
        this.#events.push(this.now + event.durationMs, { kind: 'one-way-end', from: event.from, to: event.to })
        return
      case 'one-way-end':
        this.#oneWay.delete(`${event.from}>${event.to}`)
        this.#refreshLinks()
        return
      case 'clock-step': {
        const host = this.#host(event.host)
        if (this.#healed) return
        this.stats.clockSteps++
        host.stepsMs += event.deltaMs
        this.#log(`${host.id} wall clock steps ${event.deltaMs} ms`)
        return
      }
      case 'join': {
        const host = this.#host(event.host)
        if (host.present) return
        host.present = true
        this.#log(`${host.id} joins the cluster`)
        for (const other of this.#hosts.values()) {
          if (other !== host && other.node !== null) this.#step(other, { type: 'peer-added', ...this.#time(other) })
        }
        this.#boot(host)
        this.#refreshLinks()
        return
      }
      case 'change': return this.#proposeChange(event.host)
      case 'write-back': {
        const host = this.#host(event.host)
        host.storage.writeBack()
        if (!this.#healed) this.#events.push(this.now + host.random.int(50, 300), event)
        return
      }
      case 'heal':
        this.#healed = true
        this.#groups = null
        this.#oneWay.clear()
        this.#log('heal: faults stop, every host that can restart does')
        for (const host of this.#hosts.values()) {
          host.diskFailingUntil = Math.min(host.diskFailingUntil, this.now)
          host.present = true
          if (host.node === null && !host.dead) this.#boot(host)
        }
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

  #boot (host: SimHost): void {
    const { swarm } = this
    // Until the late host joins, the others count it out, as a cluster that has not added it.
    const known = [...this.#hosts.values()].filter((peer) => peer !== host && peer.present).map((peer) => peer.id)
    const peerCount = swarm.lateHost && !this.#host(`h${swarm.hosts - 1}`).present ? swarm.hosts - 2 : swarm.hosts - 1
    host.incarnation++
    host.told.clear()
    host.diskBusy = false
    host.storageFailing = false
    // As the Replicator's witness: storage counts as intact again only once the node trusts
    // its own log (SPEC §5.4: it stopped asking its peers, and reserved what they hold), and
    // has written something since.
    const intact = host.nextStartIntact
    if (!intact) this.stats.recoveries++
    const durable = host.storage.load(intact)
    if (durable.copy !== null) this.stats[durable.copy.applying ? 'copiesFinished' : 'copiesResumed']++
    const node = new Node({
      id: host.id,
      ...this.#initialMembership(host, known, peerCount),
      random: () => host.random.next(),
      writeTimeoutMs: swarm.writeTimeoutMs,
      prepareTimeoutMs: 60,
      commitResendMs: 40,
      syncIntervalMs: 30,
      backoffMsMin: 1,
      backoffMsMax: 15,
      groupOpsMax: swarm.groupOpsMax,
      pipelineDepth: swarm.pipelineDepth,
      versionCacheMax: swarm.versionCacheMax,
      groupBytesMax: swarm.bytesMax,
      catchUpBytesMax: swarm.bytesMax,
      logRetention: swarm.logRetention,
      logRetentionBytes: swarm.logRetentionBytes,
      logEntriesPerMessageMax: 5,
      snapshotRecordsPerMessageMax: 4,
      snapshotIdleMs: 200,
      copyPageRecordsMax: swarm.copyPageRecordsMax,
      collectIntervalMs: swarm.collectIntervalMs,
      collectScanMax: 3,
      reserveBlock: swarm.reserveBlock,
      mutation: this.#options.mutation
    }, durable)
    host.node = node
    this.#log(`${host.id} starts (incarnation ${host.incarnation}${intact ? '' : ', storage may have gone back'})`)
    const time = this.#time(host)
    this.#perform(host, node.start(time.now, time.wall))
    if (node.trustsOwnLog) host.nextStartIntact = true
    this.#events.push(this.now + host.random.int(1, TICK_MS), { kind: 'tick', host: host.id, incarnation: host.incarnation })
    // Clients that survived a leader change retry what was not answered, in each writer's order.
    const pending = this.#writes.filter((write) => write.host === host.id && write.status === 'pending')
    pending.sort((a, b) => a.id.writer < b.id.writer ? -1 : a.id.writer > b.id.writer ? 1 : a.id.counter - b.id.counter)
    for (const write of pending) {
      this.stats.retries++
      this.#log(`${host.id} retries ${write.id.writer}:${write.id.counter}`)
      this.#submit(host, write)
    }
  }

  /**
   * What a host is configured with: the cluster as it starts, or, for the spare host, the
   * cluster with it added, as an operator starts a host before adding it (SPEC §15.2).
   */
  #initialMembership (host: SimHost, known: readonly HostId[], peerCount: number): { peers: HostId[], peerCount: number, minConsensus: number } {
    const { swarm } = this
    const spare = this.#spare()
    if (spare === null) return { peers: swarm.learnPeers ? [] : [...known], peerCount, minConsensus: swarm.minConsensus }
    const others = [...this.#hosts.keys()].filter((id) => id !== host.id)
    if (host.id === spare) return { peers: others, peerCount: others.length, minConsensus: Math.floor((others.length + 1) / 2) }
    const peers = others.filter((id) => id !== spare)
    return { peers, peerCount: peers.length, minConsensus: swarm.minConsensus }
  }

  #spare (): HostId | null {
    return this.swarm.spareHost ? `h${this.swarm.hosts - 1}` : null
  }

  /** A random member asks for a random change: add the spare, remove another member, or set minConsensus. */
  #proposeChange (id: HostId): void {
    const host = this.#host(id)
    const node = host.node
    if (node === null) return
    const { members } = node.membership
    if (!members.includes(id)) return
    const random = this.#changeRandom
    const spare = this.#spare()
    const peers = members.length - 1
    let change: MembershipChange
    if (spare !== null && !members.includes(spare) && random.chance(0.7)) change = { add: spare }
    else if (members.length > 2 && random.chance(0.6)) change = { remove: random.pick(members.filter((member) => member !== id)) }
    else change = { minConsensus: random.int(Math.floor((peers + 1) / 2), peers) }
    const request = this.#nextRequest++
    this.#changeCalls.set(request, { host: id, incarnation: host.incarnation, change })
    this.stats.membershipChanges++
    this.#log(`${id} asks to change the membership: ${JSON.stringify(change)}`)
    this.#step(host, { type: 'change-membership', ...this.#time(host), request, change })
  }

  #changeAnswered (host: SimHost, request: number, result: ChangeResult): void {
    const call = this.#changeCalls.get(request)
    if (call === undefined || call.host !== host.id || call.incarnation !== host.incarnation) throw new Violation(`membership-result for #${request} from ${host.id}, which did not get it`)
    this.#changeCalls.delete(request)
    this.#log(`${host.id} membership change #${request}: ${result.ok ? `epoch ${result.membership.epoch}` : `${result.reason} ${result.message ?? ''}`}`)
    if (!result.ok) return
    this.stats.membershipChangesMade++
    // Answered once in force here: durably.
    if (result.membership.epoch > 0 && (host.storage.membership?.epoch ?? 0) < result.membership.epoch) {
      throw new Violation(`membership: ${host.id} answered epoch ${result.membership.epoch} with ${host.storage.membership?.epoch ?? 0} on its disk`)
    }
  }

  /** A host runs under a new membership: the same as every other host's of that epoch; it reports its members connected again. */
  #membershipApplied (host: SimHost, membership: Membership): void {
    const shape = membershipShape(membership)
    const seen = this.#memberships.get(membership.epoch)
    // A change lost from every disk before any other host learned it (a power loss without
    // sync) is undone: its epoch may be decided again, as a new transaction (SPEC §5.4).
    if (seen !== undefined && seen !== shape && this.#survives(membership.epoch, seen)) {
      throw new Violation(`membership-fork: ${host.id} applied epoch ${membership.epoch} as ${shape}, another host as ${seen}`)
    }
    this.#memberships.set(membership.epoch, shape)
    if (membership.minConsensus < this.#minConsensusLeast) this.#minConsensusLeast = membership.minConsensus
    this.#log(`${host.id} runs under epoch ${membership.epoch}: ${membership.members.join(' ')}, minConsensus ${membership.minConsensus}`)
    host.told.clear()
    this.#refreshLinks()
  }

  /**
   * Whether a disk, or a copy that may be restored, holds `shape` as epoch `epoch`: in force,
   * or as a change decided in a log; or holds a later epoch in force, which went through it.
   */
  #survives (epoch: number, shape: string): boolean {
    const disks = [...this.#hosts.values()].map((host) => ({ membership: host.storage.membership, log: host.storage.log }))
    for (const copy of this.#backups.values()) disks.push({ membership: copy.state.membership, log: copy.state.log })
    const changesTo = (entries: ReadonlyMap<number, LogEntry>): boolean => [...entries.values()].some((entry) =>
      entry.kind === 'commit' && isMembershipOps(entry.ops) && changeShape(entry) === shape)
    return disks.some(({ membership, log }) => (membership !== null && (membership.epoch > epoch || membershipShape(membership) === shape)) || [...log.values()].some(changesTo))
  }

  /**
   * The hosts the final checks hold to converge: live members of the newest membership any
   * live host holds. A host removed, or a spare never added, is outside it and left as it is.
   */
  #liveMembers (): SimHost[] {
    const live = [...this.#hosts.values()].filter((host) => !host.dead)
    if (this.swarm.membershipChanges === 0) return live
    let newest: Membership | null = null
    for (const host of live) {
      const membership = host.node?.membership ?? host.storage.membership
      if (membership !== null && (newest === null || membership.epoch > newest.epoch)) newest = membership
    }
    const members = newest?.epoch === 0 || newest === null ? [...this.#hosts.keys()].filter((id) => id !== this.#spare()) : newest.members
    return live.filter((host) => members.includes(host.id))
  }

  /** The host's leader process stops: memory and unfinished disk operations are lost. */
  #stop (host: SimHost): void {
    host.node = null
    // A change asked of this process dies with it: whoever asked sees no answer.
    for (const [request, call] of this.#changeCalls) if (call.host === host.id) this.#changeCalls.delete(request)
    host.incarnation++
    host.storage.crash()
    this.#refreshLinks()
  }

  /** The whole host goes down: its clients die with it; a power loss also drops unsynced batches. */
  #crash (host: SimHost, power: boolean): void {
    this.stats.crashes++
    this.#stop(host)
    for (const write of this.#writes) {
      if (write.host === host.id && write.status === 'pending') {
        write.status = 'unknown'
        this.stats.unknown++
      }
    }
    host.writers = []
    if (!power) {
      this.#log(`${host.id} crashes`)
      return
    }
    this.stats.powerLosses++
    const unsynced = host.storage.unsyncedBatches
    const lost = host.storage.powerLoss(host.random.int(0, unsynced))
    this.stats.batchesLost += lost
    if (lost > 0) {
      host.wentBackAt = this.now
      // README: a copy taken before a power loss without sync may hold decisions the loss
      // took from every live disk, which the cluster then decides anew. Such copies are
      // discarded, never restored.
      if (this.#backups.delete(host.id)) this.#log(`${host.id} discards its copy, taken before the power loss`)
    }
    host.nextStartIntact = false
    this.#recomputeLedger(host)
    this.#log(`${host.id} loses power, and ${lost} of ${unsynced} unsynced batches`)
  }

  #linkUp (a: HostId, b: HostId): boolean {
    if (this.#host(a).node === null || this.#host(b).node === null) return false
    return this.#groups === null || this.#groups.get(a) === this.#groups.get(b)
  }

  /** Tells each node about every link that came up or went down since it was last told. */
  #refreshLinks (): void {
    for (const host of this.#hosts.values()) {
      for (const peer of this.#hosts.keys()) {
        if (peer === host.id) continue
        const key = linkKey(host.id, peer)
        const both = this.#linkUp(host.id, peer) && !this.#oneWay.has(`${host.id}>${peer}`) && !this.#oneWay.has(`${peer}>${host.id}`)
        if (!both) this.#linkedSince.delete(key)
        else if (!this.#linkedSince.has(key)) this.#linkedSince.set(key, this.now)
      }
    }
    for (const host of this.#hosts.values()) {
      if (host.node === null) continue
      for (const peer of this.#hosts.keys()) {
        if (peer === host.id) continue
        // The host reports connected only the members of its membership (SPEC §15.4), where
        // peers are named; where they are learned, whoever connects.
        const up = this.#linkUp(host.id, peer) && (this.swarm.membershipChanges === 0 || (host.node?.membership.members.includes(peer) ?? false))
        if (up === host.told.has(peer)) continue
        if (up) host.told.add(peer)
        else host.told.delete(peer)
        this.#step(host, { type: up ? 'connected' : 'disconnected', ...this.#time(host), peer })
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
          host.storage.queue.push({ kind: 'persist', id: effect.id, writes: effect.writes, sync: effect.sync || this.swarm.sync })
          this.#kickDisk(host, 0)
          break
        case 'read':
          host.storage.queue.push({ kind: 'read', id: effect.id, query: effect.query })
          this.#kickDisk(host, 0)
          break
        case 'reply':
          this.#events.push(this.now + host.random.int(0, ANSWER_MS_MAX), { kind: 'answer', host: host.id, incarnation: host.incarnation, request: effect.request, result: effect.result })
          break
        case 'event':
          this.#log(`${host.id} ${effect.event}`)
          break
        case 'applied':
          for (const change of effect.changes) this.#checkAnnounced(host.id, change)
          break
        case 'read-result':
          this.#strongReadAnswered(host, effect.request, effect.result)
          break
        case 'membership-result':
          this.#changeAnswered(host, effect.request, effect.result)
          break
        case 'membership':
          this.#membershipApplied(host, effect.membership)
          break
      }
    }
  }

  #countChunk (from: HostId, session: number, part: number, done: boolean): void {
    const copy = `${from}/${session}`
    const highest = this.#chunksSent.get(copy) ?? -1
    if (part < highest) this.stats.earlierChunksResent++
    else if (part > highest && done) this.stats.fullCopies++
    this.#chunksSent.set(copy, Math.max(highest, part))
  }

  #send (from: HostId, to: HostId, message: Message): void {
    if (++this.stats.messages > MESSAGES_PER_SCHEDULE_MAX) {
      throw new Violation(`message-storm: more than ${MESSAGES_PER_SCHEDULE_MAX} messages, the last ${describe(message)} from ${from} to ${to}`)
    }
    if (message.type === 'vote' && !message.yes) this.stats.votesNo++
    if (message.type === 'vote' && message.yes) this.#checkDurableVote(from, to, message.seq, message.clock)
    if (message.type === 'snapshot') this.#countChunk(from, message.session, message.part, message.done)
    if (!this.#linkUp(from, to) || (!this.#healed && this.#random.chance(this.swarm.dropRate))) {
      this.stats.dropped++
      return
    }
    const copies = !this.#healed && this.#random.chance(this.swarm.duplicateRate) ? 2 : 1
    if (copies > 1) this.stats.duplicated++
    const incarnation = this.#host(from).incarnation
    for (let i = 0; i < copies; i++) {
      this.#events.push(this.now + this.#random.int(1, this.swarm.delayMsMax), { kind: 'deliver', from, to, message, incarnation })
    }
  }

  #kickDisk (host: SimHost, delayMs: number): void {
    if (host.diskBusy) return
    host.diskBusy = true
    this.#events.push(this.now + delayMs + this.#random.int(0, this.swarm.diskMsMax), { kind: 'disk', host: host.id, incarnation: host.incarnation })
  }

  /** Runs the next disk operation; a failing disk leaves it queued and retries, as the Replicator's store does. */
  #runDisk (id: HostId, incarnation: number): void {
    const host = this.#host(id)
    if (host.incarnation !== incarnation || host.node === null) return
    host.diskBusy = false
    if (host.storage.queue.length === 0) return
    if (this.now < host.diskFailingUntil) {
      if (!host.storageFailing) {
        host.storageFailing = true
        this.#step(host, { type: 'storage', ...this.#time(host), ok: false })
      }
      if (host.node !== null && host.incarnation === incarnation) this.#kickDisk(host, STORAGE_RETRY_MS)
      return
    }
    if (host.storageFailing) {
      host.storageFailing = false
      this.#step(host, { type: 'storage', ...this.#time(host), ok: true })
      if (host.node === null || host.incarnation !== incarnation) return
    }
    const op = host.storage.queue.shift()
    if (op === undefined) return
    if (op.kind === 'persist') {
      // Persists queued back to back are one batch, as the Replicator's store writes them
      // (SPEC §2.3): synced together if any asks.
      const group = [op]
      for (let next = host.storage.queue[0]; next?.kind === 'persist'; next = host.storage.queue[0]) group.push(host.storage.queue.shift() as typeof op)
      const sync = group.some((member) => member.sync)
      for (const member of group) {
        this.#observeWrites(host, member.writes)
        const before = host.storage.data.size
        host.storage.write(member.writes, sync, entryShape)
        const deletes = member.writes.filter((write) => write.type === 'delete').length
        this.stats.tombstonesCollected += deletes
        if (member.writes.some((write) => write.type === 'drop-absent')) this.stats.copyDrops += Math.max(0, before - host.storage.data.size - deletes)
      }
      // Pages of a full copy are applied apart, and reads wait until the last (SPEC §6.3).
      if (!host.storage.applyingCopy) this.#checkLedger(host)
      for (const member of group) {
        if (host.node === null || host.incarnation !== incarnation) return
        if (host.node.trustsOwnLog) host.nextStartIntact = true
        this.#step(host, { type: 'persisted', ...this.#time(host), id: member.id })
      }
    } else {
      this.#step(host, { type: 'read', ...this.#time(host), id: op.id, result: host.storage.read(op.query) })
    }
    if (host.node !== null && host.incarnation === incarnation && host.storage.queue.length > 0) this.#kickDisk(host, 0)
  }

  /** What a host announces as applied is what a durable commit wrote, operation for operation. */
  #checkAnnounced (id: HostId, change: Change): void {
    const decision = this.#decisions.get(`${change.origin}#${change.seq}`)
    if (decision === undefined || decision.entry.kind !== 'commit') throw new Violation(`announced: ${id} announced ${change.origin}#${change.seq}, which is no durable commit`)
    const written = new Set(decision.entry.ops.map(describeOp))
    for (const op of change.ops) {
      if (!written.has(describeOp(op))) throw new Violation(`announced: ${id} announced ${describeOp(op)} for ${change.origin}#${change.seq}, which did not write it`)
    }
  }

  /** Records decisions as they become durable at their origin, and checks every log copy. */
  #observeWrites (host: SimHost, writes: readonly StorageWrite[]): void {
    for (const write of writes) {
      if (write.type === 'horizon') this.#log(`${host.id} horizon ${write.ts}`)
      if (write.type === 'drop-absent') this.#log(`${host.id} drops what a copy lacks at or below ${write.through}`)
      if (write.type === 'data' && isLedgerKey(write.key)) {
        host.ledger -= amount(host.storage.data.get(write.key))
        host.ledger += amount(write.record)
      }
      if (write.type !== 'log') continue
      const { entry } = write
      const key = `${entry.origin}#${entry.seq}`
      const shape = entryShape(entry)
      // SPEC §9: never two different decisions for one transaction, on any disk or copy.
      for (const other of this.#hosts.values()) {
        const held = other.storage.decided.get(key)
        if (held !== undefined && held !== shape) throw new Violation(`log entries differ for ${key}: ${other.id} holds ${held}, ${host.id} writes ${shape}`)
      }
      for (const [owner, copy] of this.#backups) {
        const held = copy.state.decided.get(key)
        if (held !== undefined && held !== shape) throw new Violation(`log entries differ for ${key}: the copy of ${owner} holds ${held}, ${host.id} writes ${shape}`)
      }
      if (entry.origin !== host.id) {
        this.stats.catchUpEntries++
        continue
      }
      if (entry.kind === 'abort') {
        if (!this.#abortedAt.has(key)) this.#abortedAt.set(key, { at: this.now, incarnation: host.incarnation })
        if (host.node?.inspect().active.includes(entry.seq) === true) this.stats.aborts++
        else this.stats.restartAborts++
        continue
      }
      // A membership change writes no data: the membership checks follow it.
      if (isMembershipOps(entry.ops)) continue
      // The same decision again (taken back after a loss), or a new one for a number whose
      // first decision was lost everywhere (the fork check above allows nothing else).
      if (this.#decisions.get(key)?.shape === shape) continue
      this.stats.commits++
      const decision = { entry, shape, at: this.now, order: this.#decisionOrder++ }
      this.#decisions.set(key, decision)
      for (const op of entry.ops) {
        if (op.type !== 'put') continue
        const token = `${op.key}=${text(op.value)}`
        const earlier = this.#decisionByToken.get(token)
        if (earlier !== undefined) {
          throw new Violation(`at-most-once: the write ${token} committed twice, in ${earlier.entry.origin}#${earlier.entry.seq} and ${key}`)
        }
        this.#decisionByToken.set(token, decision)
      }
      this.#log(`${host.id} commit ${key} ts=${entry.ts} ${entry.ops.map(describeOp).join(' ')}`)
    }
  }

  /**
   * A yes vote is a promise that survives a crash: the voter's disk must already hold the
   * prepare record (or the decision), and a clock at least the one the vote carries.
   */
  #checkDurableVote (voter: HostId, origin: HostId, seq: number, clock: number): void {
    const storage = this.#host(voter).storage
    if (!storage.prepared.has(`${origin}#${seq}`) && !storage.hasApplied(origin, seq)) {
      throw new Violation(`durable-votes: ${voter} voted yes on ${origin}#${seq} without a durable prepare record`)
    }
    if (storage.clock < clock) {
      throw new Violation(`durable-votes: ${voter} voted yes on ${origin}#${seq} with clock ${clock}, above its durable clock ${storage.clock}`)
    }
  }

  #checkLedger (host: SimHost): void {
    if (host.ledger !== 0) throw new Violation(`atomicity: the ledger on ${host.id} sums to ${host.ledger}, not 0`)
  }

  #recomputeLedger (host: SimHost): void {
    let sum = 0
    for (const [key, record] of host.storage.data) if (isLedgerKey(key)) sum += amount(record)
    host.ledger = sum
    if (!host.storage.applyingCopy) this.#checkLedger(host)
  }

  /** Which aborts each participant incarnation received, from their origin or by catch-up. */
  #noteToldAborts (to: SimHost, from: HostId, message: Message): void {
    const note = (origin: HostId, seq: number): void => { this.#toldAborts.add(`${to.id}|${to.incarnation}|${origin}#${seq}`) }
    if (message.type === 'abort') note(from, message.seq)
    if (message.type === 'entries') for (const entry of message.entries) if (entry.kind === 'abort') note(entry.origin, entry.seq)
  }

  /**
   * SPEC §4.5: an abort reaches every participant holding its locks while the origin that
   * decided it is there to tell it (after a restart of the origin, participants pull it, which
   * no-stuck checks). A participant that still holds the prepare record long after the abort
   * became durable, over a link that was up both ways all that time, and that never received
   * it, was never told. One that received it and is still applying it is slow, not untold:
   * its disk may be backed up under contention, and no-stuck checks that it gets there.
   */
  #checkAbortsReach (participant: SimHost): void {
    if (participant.storageFailing || participant.storage.prepared.size === 0) return
    for (const { origin, seq } of participant.storage.prepared.values()) {
      const aborted = this.#abortedAt.get(`${origin}#${seq}`)
      const teller = this.#host(origin)
      // A participant whose disk went back since forgot what it was told, and pulls it again.
      if (aborted === undefined || teller.incarnation !== aborted.incarnation || participant.wentBackAt >= aborted.at || this.now - aborted.at < ABORT_REACH_MS) continue
      // The origin tells its members only: a host it no longer counts is left as it is (SPEC §15.4).
      if (teller.node !== null && !teller.node.membership.members.includes(participant.id)) continue
      const since = this.#linkedSince.get(linkKey(origin, participant.id))
      // Time counts from when both were linked, the abort was durable, and the participant's disk worked.
      if (since === undefined || this.now - Math.max(since, aborted.at, participant.diskFailingUntil) < ABORT_REACH_MS) continue
      if (this.#toldAborts.has(`${participant.id}|${participant.incarnation}|${origin}#${seq}`)) continue
      throw new Violation(`abort-reach: ${participant.id} still holds ${origin}#${seq} ${this.now - aborted.at} ms after its abort, linked to ${origin} for ${this.now - since} ms`)
    }
  }

  #submitWrite (id: HostId): void {
    const host = this.#host(id)
    if (host.node === null || this.#healed) return
    const random = this.#random
    const requestId = this.#nextRequest
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
    if (host.writers.length < this.swarm.writersPerHost) host.writers.push({ name: `${id}w${host.nextWriter++}`, counter: 0 })
    const writer = random.pick(host.writers)
    const write: ClientWrite = { host: id, id: { writer: writer.name, counter: ++writer.counter }, ops, token: tokenOf(ops), invokedAt: this.now, status: 'pending', answeredAt: Infinity, answeredEvent: Infinity, reason: '', holders: [] }
    this.#writes.push(write)
    this.#log(`${id} write ${write.id.writer}:${write.id.counter} ${ops.map(describeOp).join(' ')}`)
    this.#submit(host, write)
  }

  #submit (host: SimHost, write: ClientWrite): void {
    const request = this.#nextRequest++
    this.#requests.set(request, write)
    this.#step(host, { type: 'write', ...this.#time(host), writes: [{ request, ops: write.ops, id: write.id }] })
  }

  /** An answer reaches its client, unless the leader that sent it died first: then the client retries. */
  #answer (event: Extract<SimEvent, { kind: 'answer' }>): void {
    const write = this.#requests.get(event.request)
    if (write === undefined) throw new Violation(`answer to request #${event.request}, which nobody made`)
    const host = this.#host(event.host)
    if (host.incarnation !== event.incarnation) {
      this.stats.answersLost++
      return
    }
    if (write.status !== 'pending') return
    const { result } = event
    write.answeredAt = this.now
    write.answeredEvent = this.#event
    const decision = this.#decisionByToken.get(write.token)
    const name = `${write.id.writer}:${write.id.counter}`
    if (result.ok) {
      write.status = 'ok'
      this.stats.acked++
      this.#log(`${write.host} answer ${name} ok`)
      if (decision === undefined) throw new Violation(`agreement: write ${name} was acknowledged but never committed`)
      const { origin, seq } = decision.entry
      write.holders = [...this.#hosts.values()].filter((h) => h.storage.hasApplied(origin, seq)).map((h) => h.id)
      // A host that acknowledged it may have lost it since, in a power loss or a restore.
      const lostSince = [...this.#hosts.values()].filter((h) => h.wentBackAt >= decision.at && !write.holders.includes(h.id)).length
      if (write.holders.length + lostSince < this.#minConsensusLeast + 1) {
        throw new Violation(`agreement: write ${name} acknowledged while durable on ${write.holders.length} hosts, fewer than ${this.#minConsensusLeast + 1}`)
      }
      return
    }
    write.reason = result.reason
    this.#log(`${write.host} answer ${name} ${result.reason}`)
    if (result.reason === 'unconfirmed') {
      write.status = 'unconfirmed'
      this.stats.unconfirmed++
      if (decision === undefined) throw new Violation(`unconfirmed-committed: write ${name} was answered unconfirmed but never committed`)
      return
    }
    if (!CHANGED_NOTHING.has(result.reason)) throw new Violation(`write ${name} failed for an unknown reason ${result.reason}`)
    write.status = 'failed'
    this.stats.failed++
    if (decision !== undefined) throw new Violation(`failed-writes-absent: write ${name} failed (${result.reason}) but was committed`)
  }

  #read (id: HostId): void {
    const host = this.#host(id)
    // A host applying a full copy holds reads until it is done (SPEC §6.3).
    if (host.node === null || this.#healed || host.storage.applyingCopy) return
    const key = `k${this.#random.int(0, this.swarm.keys - 1)}`
    const record = host.storage.data.get(key)
    const value = record === undefined ? null : record.value === null ? null : text(record.value)
    const fresh = this.#holdsEveryDecision(host)
    this.#reads.push({ host: id, at: this.now, event: this.#event, key, value, version: record?.version, fresh, horizon: host.storage.horizon })
    this.stats.reads++
    if (fresh) this.stats.freshReads++
    // README: a read returns what a committed write wrote, never anything else.
    if (record !== undefined) {
      const decision = this.#decisions.get(`${record.version.origin}#${record.version.seq}`)
      const op = decision?.entry.ops.filter((candidate) => candidate.key === key).pop()
      if (op === undefined || (op.type === 'put' ? text(op.value) : null) !== value) {
        throw new Violation(`dirty-read: ${id} read ${key}=${value ?? '<deleted>'} at ${record.version.origin}#${record.version.seq}, which no commit wrote`)
      }
    }
  }

  #strongRead (id: HostId): void {
    const host = this.#host(id)
    if (host.node === null || this.#healed) return
    const key = `k${this.#random.int(0, this.swarm.keys - 1)}`
    const request = this.#nextRequest++
    this.#strongCalls.set(request, { host: id, incarnation: host.incarnation, key, range: null, invokedAt: this.now })
    this.stats.strongReads++
    this.#log(`${id} strong-read ${key} #${request}`)
    this.#step(host, { type: 'strong-read', ...this.#time(host), request, keys: [key] })
  }

  /** A fence over a range of keys, then a read of each key in it from the host's replica, as a strong iterator does. */
  #strongScan (id: HostId): void {
    const host = this.#host(id)
    if (host.node === null || this.#healed) return
    const a = this.#random.int(0, this.swarm.keys - 1)
    const b = this.#random.int(a, this.swarm.keys - 1)
    const range: KeyRange = { gte: `k${a}`, lte: `k${b}` }
    const request = this.#nextRequest++
    this.#strongCalls.set(request, { host: id, incarnation: host.incarnation, key: null, range, invokedAt: this.now })
    this.stats.strongReads++
    this.#log(`${id} strong-scan ${range.gte ?? ''}..${range.lte ?? ''} #${request}`)
    this.#step(host, { type: 'fence', ...this.#time(host), request, range })
  }

  #strongReadAnswered (host: SimHost, request: number, result: ReadResult): void {
    const call = this.#strongCalls.get(request)
    if (call === undefined) throw new Violation(`read-result for request #${request}, which nobody made`)
    if (call.host !== host.id || call.incarnation !== host.incarnation) throw new Violation(`read-result for #${request} from ${host.id}, which did not get it`)
    this.#strongCalls.delete(request)
    this.#log(`${host.id} strong-read #${request} ${result.ok ? 'ok' : result.reason}`)
    if (!result.ok) {
      const majority = isMajority(this.swarm.minConsensus, this.swarm.hosts - 1)
      if ((result.reason === 'not-majority') === majority) throw new Violation(`strong-read: #${request} failed ${result.reason} with minConsensus ${this.swarm.minConsensus} of ${this.swarm.hosts} hosts`)
      return
    }
    this.stats.strongReadsAnswered++
    if (call.range !== null) {
      // The fence holds: every key of the range, as the replica has it now.
      for (let i = 0; i < this.swarm.keys; i++) {
        const key = `k${i}`
        if (inRange(key, call.range)) this.#strongReadOf(host, call, key, host.storage.data.get(key), host.storage.horizon)
      }
      return
    }
    // The answers' horizons are the peers', as of their answers: none above the highest now.
    const horizon = Math.max(...[...this.#hosts.values()].map((other) => Math.max(other.storage.horizon, other.node?.inspect().horizon ?? 0)))
    this.#strongReadOf(host, call, call.key as Key, result.records[0], horizon)
  }

  #strongReadOf (host: SimHost, call: StrongReadCall, key: Key, record: DataRecord | undefined, horizon: number): void {
    const value = record === undefined || record.value === null ? null : text(record.value)
    if (record !== undefined) {
      const decision = this.#decisions.get(`${record.version.origin}#${record.version.seq}`)
      const op = decision?.entry.ops.filter((candidate) => candidate.key === key).pop()
      if (op === undefined || (op.type === 'put' ? text(op.value) : null) !== value) {
        throw new Violation(`dirty-read: ${host.id} strong-read ${key}=${value ?? '<deleted>'} at ${record.version.origin}#${record.version.seq}, which no commit wrote`)
      }
    }
    this.#strongReads.push({ host: host.id, key, invokedAt: call.invokedAt, answeredAt: this.now, value, version: record?.version, horizon })
  }

  /** Whether `host` has applied every commit decided anywhere so far. */
  #holdsEveryDecision (host: SimHost): boolean {
    for (const { entry } of this.#decisions.values()) {
      if (!host.storage.hasApplied(entry.origin, entry.seq)) return false
    }
    return true
  }

  #isQuiescent (): boolean {
    const live = this.#liveMembers()
    const newestEpoch = Math.max(0, ...[...this.#hosts.values()].filter((host) => !host.dead).map((host) => (host.node?.membership ?? host.storage.membership)?.epoch ?? 0))
    if (this.#writes.some((write) => write.status === 'pending' && !this.#host(write.host).dead)) return false
    if (this.#changeCalls.size > 0) return false
    const anyDead = [...this.#hosts.values()].some((host) => host.dead)
    for (const host of live) {
      const node = host.node
      if (node === null || host.storage.queue.length > 0) return false
      const view = node.inspect()
      // A full copy coming in is catch-up under way; so is a membership older than the newest
      // a live host holds: the member has yet to learn it, and what its voters had.
      if (view.queued > 0 || view.active.length > 0 || view.committing > 0 || view.confirming > 0 || view.applying || view.parkedChanges > 0 || view.changing || view.fullCopyIn !== null) return false
      if (view.membership.epoch < newestEpoch) return false
      // A host that asks every peer after losing data waits for good if one is gone for good.
      if (view.recovery === 'aborting' || (view.recovery === 'asking' && !anyDead)) return false
      if (view.prepared > this.#blockedPrepared(host)) return false
    }
    // Every live host holds the same entries of every origin, gaps included (a host gone for
    // good may have taken some with it).
    for (const origin of this.#hosts.keys()) {
      const highest = Math.max(...live.map((host) => host.node?.inspect().marks[origin] ?? 0), ...live.flatMap((host) => [...host.storage.log.get(origin)?.keys() ?? []]))
      for (let seq = 1; seq <= highest; seq++) {
        const first = live[0]?.storage.hasApplied(origin, seq)
        if (live.some((host) => host.storage.hasApplied(origin, seq) !== first)) return false
      }
    }
    return true
  }

  /**
   * Prepare records no one can ever resolve: the blocking case of two-phase commit, when the
   * origin is gone for good or waits for a host that is, and no live host knows the decision.
   */
  #blockedPrepared (host: SimHost): number {
    let blocked = 0
    for (const { origin, seq } of host.storage.prepared.values()) {
      const owner = this.#host(origin)
      const stuck = owner.dead || owner.node?.inspect().recovery === 'asking'
      const known = [...this.#hosts.values()].some((other) => !other.dead && other.storage.hasApplied(origin, seq))
      if (stuck && !known) blocked++
    }
    return blocked
  }

  #describeStuck (): string {
    const pending = this.#writes.filter((write) => write.status === 'pending').map((write) => `${write.id.writer}:${write.id.counter}@${write.host}`)
    const hosts = [...this.#hosts.values()].map((host) => `${host.id}=${host.dead ? 'dead' : JSON.stringify(host.node?.inspect() ?? 'down')}`)
    return `pending writes [${pending.join(' ')}]; ${hosts.join('; ')}`
  }

  #checkFinal (): void {
    const live = this.#liveMembers()
    // The commits that survived: a power loss or a restore can lose the last copies of one,
    // and its origin then aborts the number (which the fork check allows only then). A host
    // may also cover a number through a full copy, without the entry: that counts too.
    const survives = (entry: LogEntry): boolean => {
      const key = `${entry.origin}#${entry.seq}`
      const shapes = live.map((host) => host.storage.decided.get(key))
      if (shapes.includes(entryShape(entry))) return true
      return shapes.every((shape) => shape === undefined) && live.some((host) => host.storage.hasApplied(entry.origin, entry.seq))
    }
    const surviving = [...this.#decisions.values()].filter(({ entry }) => survives(entry))
    const held = (decision: Decision): boolean => surviving.includes(decision)
    const expected = new Map<Key, DataRecord>()
    for (const { entry } of surviving) {
      const version: Version = { ts: entry.ts, origin: entry.origin, seq: entry.seq }
      for (const op of entry.ops) {
        const current = expected.get(op.key)
        if (current === undefined || compareVersions(version, current.version) >= 0) {
          expected.set(op.key, { value: op.type === 'put' ? op.value : null, version })
        }
      }
    }
    for (const host of live) {
      this.#checkLedger(host)
      if (host.storage.prepared.size > this.#blockedPrepared(host)) throw new Violation(`no-stuck: ${host.id} still holds ${host.storage.prepared.size} prepare records`)
      for (const [key, record] of expected) {
        const stored = host.storage.data.get(key)
        // A tombstone may have been collected (SPEC §6.5): absent reads as deleted.
        if (stored === undefined && record.value === null) continue
        if (stored === undefined || text(stored.value) !== text(record.value) || compareVersions(stored.version, record.version) !== 0) {
          throw new Violation(`convergence: ${host.id} holds ${key}=${stored === undefined ? '<absent>' : text(stored.value)}, the newest committed write is ${text(record.value)} (${record.version.origin}#${record.version.seq})`)
        }
      }
      for (const key of host.storage.data.keys()) {
        if (!expected.has(key)) throw new Violation(`convergence: ${host.id} holds ${key}, which no surviving commit wrote`)
      }
    }
    this.#checkLostWrites(held)
    this.#checkWriterOrder()
    this.#checkReads()
    const majority = isMajority(this.swarm.minConsensus, this.swarm.hosts - 1)
    // A restored host forgot promises (votes) it made after its copy was taken (README).
    if (majority && !this.#restored) {
      this.#checkIsolation(surviving)
      this.#checkLinearizable(surviving, expected)
    }
  }

  /**
   * An acknowledged write may be lost only where README says it may: every host that held it
   * when it was acknowledged lost it since (a power loss without sync, a restore) or is gone.
   */
  #checkLostWrites (held: (decision: Decision) => boolean): void {
    for (const write of this.#writes) {
      if (write.status !== 'ok' && write.status !== 'unconfirmed') continue
      const decision = this.#decisionByToken.get(write.token)
      if (decision === undefined || held(decision)) continue
      const excused = write.holders.every((id) => {
        const holder = this.#host(id)
        return holder.dead || holder.wentBackAt >= write.answeredAt
      })
      if (!excused) throw new Violation(`agreement: write ${write.id.writer}:${write.id.counter} was acknowledged, and is lost, though a host that held it never lost data`)
    }
  }

  /**
   * SPEC §4.2: a writer's writes commit in the order it made them, though several of its
   * transactions are in flight at once.
   */
  #checkWriterOrder (): void {
    const last = new Map<string, { counter: number, decision: Decision }>()
    const byCounter = [...this.#writes].sort((a, b) => a.id.counter - b.id.counter)
    for (const write of byCounter) {
      const decision = this.#decisionByToken.get(write.token)
      if (decision === undefined) continue
      const before = last.get(write.id.writer)
      if (before !== undefined && before.decision.order > decision.order) {
        const name = (counter: number): string => `${write.id.writer}:${counter}`
        throw new Violation(`writer-order: ${name(write.id.counter)} committed in ${decision.entry.origin}#${decision.entry.seq} before ${name(before.counter)} did, in ${before.decision.entry.origin}#${before.decision.entry.seq}`)
      }
      last.set(write.id.writer, { counter: write.id.counter, decision })
    }
  }

  /** README: once acknowledged, a write is seen by every later read on a host that held it then. */
  #checkReads (): void {
    for (const write of this.#writes) {
      if (write.status !== 'ok') continue
      const decision = this.#decisionByToken.get(write.token)
      if (decision === undefined) continue
      const version: Version = { ts: decision.entry.ts, origin: decision.entry.origin, seq: decision.entry.seq }
      const keys = new Set(decision.entry.ops.map((op) => op.key))
      for (const read of this.#reads) {
        if (read.event < write.answeredEvent || !keys.has(read.key) || !write.holders.includes(read.host)) continue
        if (this.#host(read.host).wentBackAt >= write.answeredAt) continue
        // A host reflects every commit at or below its horizon (SPEC §6.5): a key absent there
        // had a tombstone at or above this write, since collected.
        if (read.version === undefined && version.ts <= read.horizon) continue
        if (read.version === undefined || compareVersions(read.version, version) < 0) {
          throw new Violation(`read-after-ack: ${read.host} read ${read.key} at ${read.at}, older than write ${write.id.writer}:${write.id.counter} acknowledged at ${write.answeredAt} while held there`)
        }
      }
    }
  }

  /** SPEC §8: with a majority, conflicting commits become durable in version order. */
  #checkIsolation (surviving: readonly Decision[]): void {
    const byKey = new Map<Key, Decision[]>()
    for (const decision of surviving) {
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

  /**
   * With a majority, per key: acknowledged writes, committed writes whose answer never came,
   * reads by hosts that held every decision, and the final value form a linearizable register
   * history (checked by search, linearizability.ts).
   */
  #checkLinearizable (surviving: readonly Decision[], expected: ReadonlyMap<Key, DataRecord>): void {
    const histories = new Map<string, { initial: string | null, ops: RegisterOp[] }>()
    const history = (key: Key): RegisterOp[] => {
      let entry = histories.get(key)
      if (entry === undefined) histories.set(key, entry = { initial: null, ops: [] })
      return entry.ops
    }
    const alive = new Set(surviving)
    for (const write of this.#writes) {
      const decision = this.#decisionByToken.get(write.token)
      if (decision === undefined || !alive.has(decision)) continue
      // A transaction's last op on a key is what it leaves there.
      const last = new Map<Key, Op>()
      for (const op of decision.entry.ops) last.set(op.key, op)
      // A committed write whose answer never came took effect by the end, when all converged.
      const response = write.status === 'ok' ? write.answeredAt : this.now
      for (const [key, op] of last) {
        history(key).push({ kind: 'write', value: op.type === 'put' ? text(op.value) : null, invoke: write.invokedAt, response, label: `${write.id.writer}:${write.id.counter}` })
      }
    }
    const survivors = new Set(surviving.map(({ entry }) => `${entry.origin}#${entry.seq}`))
    // The lowest timestamp of a delete of each key lost since: a key absent because its
    // tombstone was collected (SPEC §6.5) may show that delete, whose version is gone.
    const lostDeletes = new Map<Key, number>()
    for (const { entry } of this.#decisions.values()) {
      if (survivors.has(`${entry.origin}#${entry.seq}`)) continue
      for (const op of entry.ops) if (op.type === 'del') lostDeletes.set(op.key, Math.min(lostDeletes.get(op.key) ?? Infinity, entry.ts))
    }
    const mayShowLostDelete = (key: Key, horizon: number): boolean => (lostDeletes.get(key) ?? Infinity) <= horizon
    for (const read of this.#reads) {
      // A read of a commit lost since (README: power loss without sync) is not in the history.
      if (!read.fresh || (read.version !== undefined && !survivors.has(`${read.version.origin}#${read.version.seq}`))) continue
      if (read.version === undefined && mayShowLostDelete(read.key, read.horizon)) continue
      history(read.key).push({ kind: 'read', value: read.value, invoke: read.at, response: read.at, label: `read@${read.host}` })
    }
    for (const read of this.#strongReads) {
      if (read.version !== undefined && !survivors.has(`${read.version.origin}#${read.version.seq}`)) continue
      if (read.version === undefined && mayShowLostDelete(read.key, read.horizon)) continue
      history(read.key).push({ kind: 'read', value: read.value, invoke: read.invokedAt, response: read.answeredAt, label: `strong-read@${read.host}` })
    }
    for (const [key, record] of expected) history(key).push({ kind: 'read', value: record.value === null ? null : text(record.value), invoke: this.now + 1, response: this.now + 1, label: 'final' })
    const result = checkRegisters(histories)
    if (result.ok === false) throw new Violation(`linearizability: ${result.message}`)
  }
}

function linkKey (a: HostId, b: HostId): string {
  return a < b ? `${a}>${b}` : `${b}>${a}`
}

function amount (record: DataRecord | undefined): number {
  return record?.value == null ? 0 : Number(text(record.value))
}

function tokenOf (ops: readonly Op[]): string {
  const first = ops.find((op) => op.type === 'put')
  if (first === undefined || first.type !== 'put') throw new Error('every simulated write carries a put')
  return `${first.key}=${text(first.value)}`
}

function entryShape (entry: LogEntry): string {
  return entry.kind === 'abort' ? 'abort' : `commit@${entry.ts}:${entry.ops.map(describeOp).join(',')}`
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
    case 'read': return `read ${message.id} [${message.keys.join(' ')}]`
    case 'read-answer': return `read-answer ${message.id}`
    case 'fence': return `fence ${message.id}`
    case 'fence-answer': return `fence-answer ${message.id} ${JSON.stringify(message.marks)}`
    case 'sync': return `sync ${JSON.stringify(message.marks)}`
    case 'entries': return `entries ${message.entries.map((entry) => `${entry.origin}#${entry.seq}${entry.kind === 'abort' ? 'x' : ''}`).join(' ')}${message.more ? ' +more' : ''}`
    case 'snapshot': return `snapshot s${message.session}.${message.part} ${message.records.length} records${message.marks === null ? '' : ` marks=${JSON.stringify(message.marks)}`}${message.done ? ' done' : ''}`
    case 'snapshot-next': return `snapshot-next s${message.session}.${message.part}`
    case 'snapshot-stop': return `snapshot-stop s${message.session}`
    case 'probe': return 'probe'
    case 'recover': return `recover start=${message.start}`
    case 'recovery': return `recovery contiguous=${message.contiguous} above=${JSON.stringify(message.above)} prepared=${JSON.stringify(message.prepared)} epoch=${message.epoch}`
  }
}
