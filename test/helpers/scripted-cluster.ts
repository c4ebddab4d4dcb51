import { Node } from '../../src/core/index.js'
import type { Change, ChangeResult, Effect, HostId, Input, Key, MembershipChange, Message, NodeOptions, Op, Query, ReadResult, WriteId, WriteResult } from '../../src/core/index.js'
import { SimStorage } from '../sim/storage.js'

/**
 * A synchronous in-memory cluster for scripted core scenarios: the test decides when messages
 * are delivered, which links are cut, whose disk stalls and who crashes. Nothing is random.
 */
export class ScriptedCluster {
  readonly storage = new Map<HostId, SimStorage>()
  readonly results = new Map<number, WriteResult>()
  readonly readResults = new Map<number, ReadResult>()
  readonly changeResults = new Map<number, ChangeResult>()
  readonly events: Array<{ host: HostId, event: string }> = []
  /** Every `applied` change a core announced, in order. */
  readonly announced: Array<{ host: HostId, change: Change }> = []
  /** Every read a core issued, in order. */
  readonly queries: Array<{ host: HostId, query: Query }> = []
  readonly #nodes = new Map<HostId, Node | null>()
  readonly #inflight: Array<{ from: HostId, to: HostId, message: Message }> = []
  readonly #isolated = new Set<HostId>()
  readonly #stalledDisks = new Set<HostId>()
  readonly #options: Omit<NodeOptions, 'id' | 'peers'>
  readonly #ids: HostId[]
  /** A host the others do not count among their members until a change adds it (SPEC §15). */
  readonly #spare: HostId | null
  #now = 0
  #nextRequest = 1

  constructor (ids: HostId[], options: Partial<Omit<NodeOptions, 'id' | 'peers'>> = {}, spare: HostId | null = null) {
    this.#ids = ids
    this.#spare = spare
    this.#options = { random: () => 0.5, backoffMsMin: 1, backoffMsMax: 1, syncIntervalMs: 10, commitResendMs: 10, prepareTimeoutMs: 50, ...options }
    for (const id of ids) {
      this.storage.set(id, new SimStorage())
      this.#nodes.set(id, null)
      this.start(id)
    }
    this.#refreshLinks()
    this.settle()
  }

  get now (): number {
    return this.#now
  }

  node (id: HostId): Node {
    const node = this.#nodes.get(id)
    if (node == null) throw new Error(`${id} is down`)
    return node
  }

  disk (id: HostId): SimStorage {
    const disk = this.storage.get(id)
    if (disk === undefined) throw new Error(`unknown host ${id}`)
    return disk
  }

  /** `intact: false` starts it as after a power loss or a restore: it asks its peers first. */
  start (id: HostId, intact = true): void {
    const peers = this.#ids.filter((peer) => peer !== id && (id === this.#spare || peer !== this.#spare))
    const node = new Node({ ...this.#options, id, peers }, this.disk(id).load(intact))
    this.#nodes.set(id, node)
    this.#connected.set(id, new Set())
    this.#perform(id, node.start(this.#now, this.wall(id)))
  }

  /** Loses the host's memory and its unfinished disk operations; messages to it are dropped. */
  crash (id: HostId): void {
    this.#nodes.set(id, null)
    this.disk(id).crash()
    this.#refreshLinks()
  }

  restart (id: HostId, intact = true): void {
    this.start(id, intact)
    this.#refreshLinks()
  }

  /** Steps the host's wall clock: what commit timestamps start from (SPEC §3). */
  stepClock (id: HostId, deltaMs: number): void {
    this.#wallOffsets.set(id, (this.#wallOffsets.get(id) ?? 0) + deltaMs)
  }

  wall (id: HostId): number {
    return this.#now + (this.#wallOffsets.get(id) ?? 0)
  }

  isolate (id: HostId): void {
    this.#isolated.add(id)
    this.#refreshLinks()
  }

  rejoin (id: HostId): void {
    this.#isolated.delete(id)
    this.#refreshLinks()
  }

  /** Holds the host's disk: its writes and reads stay queued until `resumeDisk`. */
  stallDisk (id: HostId): void {
    this.#stalledDisks.add(id)
  }

  resumeDisk (id: HostId): void {
    this.#stalledDisks.delete(id)
  }

  /** Submits a write; `writeId` names it across retries (SPEC §4.7). */
  write (id: HostId, ops: Op[], writeId?: WriteId): number {
    const request = this.#nextRequest++
    this.#step(id, { type: 'write', now: this.#now, wall: this.wall(id), writes: [{ request, ops, id: writeId }] })
    return request
  }

  /** Submits a strong read (SPEC §14); its result lands in `readResults`. */
  strongRead (id: HostId, keys: Key[]): number {
    const request = this.#nextRequest++
    this.#step(id, { type: 'strong-read', now: this.#now, wall: this.wall(id), request, keys })
    return request
  }

  /** Submits writes made together, as a driver does with those of one turn; one request each. */
  writeTogether (id: HostId, writes: Op[][]): number[] {
    const requests = writes.map((ops) => ({ request: this.#nextRequest++, ops }))
    this.#step(id, { type: 'write', now: this.#now, wall: this.wall(id), writes: requests })
    return requests.map(({ request }) => request)
  }

  /** Tells the host its storage fails (`ok: false`) or works again. */
  changeMembership (id: HostId, change: MembershipChange): number {
    const request = this.#nextRequest++
    this.#step(id, { type: 'change-membership', now: this.#now, wall: this.wall(id), request, change })
    return request
  }

  setStorage (id: HostId, ok: boolean): void {
    this.#step(id, { type: 'storage', now: this.#now, wall: this.wall(id), ok })
  }

  close (id: HostId): void {
    this.#step(id, { type: 'close', now: this.#now, wall: this.wall(id) })
  }

  /** Delivers messages and completes disk operations until nothing moves; time stands still. */
  settle (): void {
    if (this.rounds(10_000)) throw new Error('the scripted cluster did not settle')
  }

  /**
   * Runs at most `count` rounds, each completing one disk operation per host and then
   * delivering every message in flight. Returns whether anything may still move.
   */
  rounds (count: number): boolean {
    for (let round = 0; round < count; round++) {
      const diskMoved = this.#runDisks()
      const delivered = this.#deliver()
      if (!diskMoved && !delivered) return false
    }
    return true
  }

  /** Advances time in ticks of `stepMs`, settling after each. */
  advance (ms: number, stepMs = 5): void {
    for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
      this.#now += stepMs
      for (const id of this.#ids) if (this.#nodes.get(id) != null) this.#step(id, { type: 'tick', now: this.#now, wall: this.wall(id) })
      this.settle()
    }
  }

  readonly #connected = new Map<HostId, Set<HostId>>()
  readonly #wallOffsets = new Map<HostId, number>()
  readonly #cuts: Array<(item: { from: HostId, to: HostId, message: Message }) => boolean> = []

  /** Drops every message matching `predicate` from now on, as a faulty network would. */
  cut (predicate: (item: { from: HostId, to: HostId, message: Message }) => boolean): void {
    this.#cuts.push(predicate)
  }

  #up (a: HostId, b: HostId): boolean {
    return this.#nodes.get(a) != null && this.#nodes.get(b) != null && !this.#isolated.has(a) && !this.#isolated.has(b)
  }

  #refreshLinks (): void {
    for (const id of this.#ids) {
      if (this.#nodes.get(id) == null) continue
      const told = this.#connected.get(id) ?? new Set()
      for (const peer of this.#ids) {
        if (peer === id) continue
        // Linked, and a member of the node's membership: as the Replicator's registry reports.
        const up = this.#up(id, peer) && (this.#nodes.get(id)?.membership.members.includes(peer) ?? false)
        if (up === told.has(peer)) continue
        if (up) told.add(peer)
        else told.delete(peer)
        this.#step(id, { type: up ? 'connected' : 'disconnected', now: this.#now, wall: this.wall(id), peer })
      }
      this.#connected.set(id, told)
    }
  }

  #step (id: HostId, input: Input): void {
    const node = this.#nodes.get(id)
    if (node == null) return
    this.#perform(id, node.step(input))
  }

  #perform (id: HostId, effects: Effect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          const item = { from: id, to: effect.to, message: effect.message }
          if (!this.#cuts.some((cut) => cut(item))) this.#inflight.push(item)
          break
        }
        case 'persist':
          this.disk(id).queue.push({ kind: 'persist', id: effect.id, writes: effect.writes, sync: effect.sync })
          break
        case 'read':
          this.queries.push({ host: id, query: effect.query })
          this.disk(id).queue.push({ kind: 'read', id: effect.id, query: effect.query })
          break
        case 'reply':
          this.results.set(effect.request, effect.result)
          break
        case 'event':
          this.events.push({ host: id, event: effect.event })
          break
        case 'applied':
          for (const change of effect.changes) this.announced.push({ host: id, change })
          break
        case 'read-result':
          this.readResults.set(effect.request, effect.result)
          break
        case 'membership-result':
          this.changeResults.set(effect.request, effect.result)
          break
        case 'membership':
          // The node forgot its peers: it is told again of the members it is linked to.
          this.#connected.get(id)?.clear()
          this.#refreshLinks()
          break
      }
    }
  }

  #runDisks (): boolean {
    let moved = false
    for (const id of this.#ids) {
      if (this.#stalledDisks.has(id) || this.#nodes.get(id) == null) continue
      const disk = this.disk(id)
      const op = disk.queue.shift()
      if (op === undefined) continue
      moved = true
      if (op.kind === 'persist') {
        disk.write(op.writes, op.sync, (entry) => entry.kind)
        this.#step(id, { type: 'persisted', now: this.#now, wall: this.wall(id), id: op.id })
      } else {
        this.#step(id, { type: 'read', now: this.#now, wall: this.wall(id), id: op.id, result: disk.read(op.query) })
      }
    }
    return moved
  }

  #deliver (): boolean {
    const batch = this.#inflight.splice(0)
    for (const { from, to, message } of batch) {
      if (this.#up(from, to)) this.#step(to, { type: 'message', now: this.#now, wall: this.wall(to), from, message })
    }
    return batch.length > 0
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function put (key: string, value: string): Op {
  return { type: 'put', key, value: encoder.encode(value) }
}

export function del (key: string): Op {
  return { type: 'del', key }
}

/** The user-visible value of `key` on one host's disk. */
export function valueOn (cluster: ScriptedCluster, host: HostId, key: string): string | undefined {
  const record = cluster.disk(host).data.get(key)
  return record?.value == null ? undefined : decoder.decode(record.value)
}
