import { Node } from '../core/index.js'
import type {
  Change, DataRecord, DurableState, Effect, HostId, Input, Key, KeyRange, Membership, MembershipChange, Message, NodeInspection, Op, StorageWrite, WriteId
} from '../core/index.js'
import { CODES, changeError, createError, readError, writeError } from '../errors.js'
import type { LevelStore } from '../storage/store.js'
import { type DurabilityWitness, type Progress, DISTRUSTED } from '../storage/durability.js'

/** What the driver needs of its Replicator: where messages, events and errors go. */
export interface DriverHooks {
  readonly send: (to: HostId, message: Message) => void
  readonly event: (event: 'ready' | 'notready') => void
  /** Other origins' commits, durable here. */
  readonly applied: (changes: readonly Change[]) => void
  /** Storage failed (it is retried), or the core broke an invariant (it is rebuilt). */
  readonly error: (error: Error) => void
  /** A membership is in force (SPEC §15.4): connect its members, and report them connected again. */
  readonly membership: (membership: Membership) => void
  /** A full copy started or finished being applied here (SPEC §6.3): local reads wait meanwhile. */
  readonly applyingCopy: (applying: boolean) => void
}

export interface DriverOptions {
  readonly id: HostId
  /** This host's name in memberships (SPEC §15). */
  readonly name: string
  /** The members at epoch 0, this host included, and their `minConsensus`: where a host without a stored membership starts. */
  readonly members: readonly string[]
  readonly minConsensus: number
  readonly writeTimeoutMs: number
  readonly logRetention: number
  readonly logRetentionBytes: number
  /** Between tombstone collection passes; 0: never (SPEC §6.5). */
  readonly collectIntervalMs: number
  /** Byte budget of one transaction and of one catch-up message. */
  readonly messageBytesMax: number
  readonly tickIntervalMs: number
  /** Every batch is synced: a power loss drops nothing that was reported durable. */
  readonly sync: boolean
  /** The wall clock: a lower bound for commit timestamps, free to step back or forward. */
  readonly wall: () => number
}

interface StrongReadRequest {
  /** A strong read of keys, or a fence over a range (SPEC §14.1). */
  readonly keys: readonly Key[]
  readonly range: KeyRange | null
  readonly resolve: (records: ReadonlyArray<DataRecord | undefined>) => void
  readonly reject: (error: Error) => void
}

interface Request {
  readonly ops: readonly Op[]
  readonly id: WriteId
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/**
 * Runs one protocol core against real storage and time (SPEC §2): it feeds the core its
 * inputs, carries out its effects in order, and keeps it honest about time. It fails closed:
 * storage errors are retried in place while writes wait; if the core itself breaks, it is
 * rebuilt from what storage holds and every write in flight is submitted again under its
 * write id, so each settles as it would have. It never lets a write through unreplicated.
 */
export class CoreDriver {
  readonly #store: LevelStore
  readonly #witness: DurabilityWitness
  readonly #options: DriverOptions
  readonly #hooks: DriverHooks
  readonly #requests = new Map<number, Request>()
  /** Strong reads in flight (SPEC §14): asked again of a rebuilt core, as reads change nothing. */
  readonly #reads = new Map<number, StrongReadRequest>()
  /** Membership changes asked for (SPEC §15): asked again of a rebuilt core, as a change already made answers at once. */
  readonly #changes = new Map<number, { readonly change: MembershipChange, readonly resolve: (membership: Membership) => void, readonly reject: (error: Error) => void }>()
  readonly #effects: Effect[] = []
  #node: Node | null = null
  #nextRequest = 1
  #draining = false
  #tick: ReturnType<typeof setInterval> | null = null
  #lastNow = 0
  #progress: Progress = { reserved: 0, decided: 0 }
  #connected = new Set<HostId>()
  #closed = false
  #rebuilding: Promise<void> | null = null
  /** Wakes close() when the last request settles. */
  #settled: (() => void) | null = null
  #storageFailing = false
  #applyingCopy = false
  /** Outcomes so far, for status and metrics: writes by result, strong reads by result. */
  readonly #counts = { writes: new Map<string, number>(), reads: new Map<string, number>() }
  /** Writes made this turn, submitted together at its end. */
  readonly #made: Array<{ readonly request: number, readonly ops: readonly Op[], readonly id: WriteId }> = []

  constructor (store: LevelStore, witness: DurabilityWitness, options: DriverOptions, hooks: DriverHooks) {
    this.#store = store
    this.#witness = witness
    this.#options = options
    this.#hooks = hooks
  }

  /** Loads durable state and starts the core; writes submitted before wait for it. */
  async start (): Promise<void> {
    const loaded = await this.#store.load()
    const intact = await this.#checkIntact(loaded)
    if (this.#closed) return
    this.#progress = { reserved: loaded.reserved, decided: loaded.marks[this.#options.id] ?? 0 }
    this.#tick = setInterval(() => { this.#step({ type: 'tick', ...this.#time() }) }, this.#options.tickIntervalMs)
    this.#holdWhileBusy()
    this.#boot({ ...loaded, intact })
  }

  /** Submits a write; it settles as the core answers (SPEC §4.5). */
  write (ops: readonly Op[], id: WriteId): Promise<void> {
    if (this.#closed) return Promise.reject(createError('Replicator is closed', CODES.DATABASE_NOT_OPEN))
    const request = this.#nextRequest++
    return new Promise((resolve, reject) => {
      this.#requests.set(request, { ops, id, resolve, reject })
      this.#holdWhileBusy()
      if (this.#made.push({ request, ops, id }) === 1) queueMicrotask(() => { this.#submitMade() })
    })
  }

  /** Writes settled and strong reads answered since this driver started, by outcome. */
  counters (): { writes: Record<string, number>, strongReads: Record<string, number> } {
    return { writes: Object.fromEntries(this.#counts.writes), strongReads: Object.fromEntries(this.#counts.reads) }
  }

  /** Whether the core is applying a full copy (SPEC §6.3), as last told by the `applyingCopy` hook. */
  get applyingCopy (): boolean {
    return this.#applyingCopy
  }

  /** What the core holds now, or null while it is being built or rebuilt. */
  inspect (): NodeInspection | null {
    return this.#node?.inspect() ?? null
  }

  /** The newest record of each key among enough hosts to meet every write quorum (SPEC §14). */
  strongRead (keys: readonly Key[]): Promise<ReadonlyArray<DataRecord | undefined>> {
    if (this.#closed) return Promise.reject(createError('Replicator is closed', CODES.DATABASE_NOT_OPEN))
    const request = this.#nextRequest++
    return new Promise((resolve, reject) => {
      this.#reads.set(request, { keys, range: null, resolve, reject })
      this.#holdWhileBusy()
      this.#step({ type: 'strong-read', ...this.#time(), request, keys })
    })
  }

  /** Resolves once this host has applied every write on `range` decided before the call (SPEC §14.1). */
  fence (range: KeyRange): Promise<void> {
    if (this.#closed) return Promise.reject(createError('Replicator is closed', CODES.DATABASE_NOT_OPEN))
    const request = this.#nextRequest++
    return new Promise((resolve, reject) => {
      this.#reads.set(request, { keys: [], range, resolve: () => { resolve() }, reject })
      this.#holdWhileBusy()
      this.#step({ type: 'fence', ...this.#time(), request, range })
    })
  }

  /** Changes the membership (SPEC §15); resolves with the membership in force once the change is applied here. */
  changeMembership (change: MembershipChange): Promise<Membership> {
    if (this.#closed) return Promise.reject(createError('Replicator is closed', CODES.DATABASE_NOT_OPEN))
    const request = this.#nextRequest++
    return new Promise((resolve, reject) => {
      this.#changes.set(request, { change, resolve, reject })
      this.#holdWhileBusy()
      this.#step({ type: 'change-membership', ...this.#time(), request, change })
    })
  }

  /**
   * The writes made in one turn reach the core as one input: writes answered together come
   * back together (a worker awaiting each put), and one transaction then carries them all.
   */
  #submitMade (): void {
    const writes = this.#made.splice(0)
    // A core booted meanwhile took them with every other request.
    if (writes.length > 0) this.#step({ type: 'write', ...this.#time(), writes })
    for (const [request, { keys, range }] of this.#reads) {
      this.#step(range === null ? { type: 'strong-read', ...this.#time(), request, keys } : { type: 'fence', ...this.#time(), request, range })
    }
  }

  connected (peer: HostId): void {
    this.#connected.add(peer)
    this.#step({ type: 'connected', ...this.#time(), peer })
  }

  disconnected (peer: HostId): void {
    this.#connected.delete(peer)
    this.#step({ type: 'disconnected', ...this.#time(), peer })
  }

  message (from: HostId, message: Message): void {
    this.#step({ type: 'message', ...this.#time(), from, message })
  }

  /**
   * Storage failed (LevelStore retries in place meanwhile), or works again. Said once per
   * failure, not once per retry.
   */
  storage (error: Error | null): void {
    if ((error !== null) === this.#storageFailing) return
    this.#storageFailing = error !== null
    if (error !== null) this.#hooks.error(createError('Storage failed; its operations are retried, and writes wait', CODES.IO_ERROR, { cause: error }))
    this.#step({ type: 'storage', ...this.#time(), ok: error === null })
  }

  /**
   * Settles every write (SPEC §4.6), then stops. Waits at most `writeTimeout` for that, and
   * not at all while storage fails: a write whose decision could not be written learns only
   * that it may or may not have committed (a retry under its write id finds out).
   */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#step({ type: 'close', ...this.#time() })
    if (this.#requests.size > 0 && !this.#storageFailing) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>((resolve) => {
        this.#settled = resolve
        timer = setTimeout(resolve, this.#options.writeTimeoutMs)
      })
      clearTimeout(timer)
      this.#settled = null
    }
    this.#closed = true
    if (this.#tick !== null) clearInterval(this.#tick)
    const unknown = createError('Replicator closed while storage failed; the write may or may not have committed', CODES.DATABASE_NOT_OPEN)
    for (const request of this.#requests.values()) request.reject(unknown)
    this.#requests.clear()
    const closed = readError('closed')
    for (const read of this.#reads.values()) read.reject(closed)
    this.#reads.clear()
    for (const change of this.#changes.values()) change.reject(changeError('closed'))
    this.#changes.clear()
    this.#node = null
    await this.#witness.flush()
  }

  /** Monotonic time for timeouts, clamped in case the source misbehaves; the wall clock for versions. */
  #time (): { now: number, wall: number } {
    const now = Math.max(this.#lastNow, performance.now())
    this.#lastNow = now
    return { now, wall: this.#options.wall() }
  }

  #boot (durable: DurableState): void {
    const options = this.#options
    const node = new Node({
      id: options.id,
      name: options.name,
      peers: [],
      peerCount: options.members.length - 1,
      members: options.members,
      minConsensus: options.minConsensus,
      // Jitter only: the core's safety never depends on it.
      random: Math.random,
      writeTimeoutMs: options.writeTimeoutMs,
      logRetention: options.logRetention,
      logRetentionBytes: options.logRetentionBytes,
      collectIntervalMs: options.collectIntervalMs,
      groupBytesMax: options.messageBytesMax,
      catchUpBytesMax: options.messageBytesMax
    }, durable)
    this.#node = node
    const time = this.#time()
    this.#run(node, () => node.start(time.now, time.wall))
    if (node.trustsOwnLog) this.#witness.note(options.id, this.#progress)
    if (this.#storageFailing) this.#step({ type: 'storage', ...this.#time(), ok: false })
    for (const peer of this.#connected) this.#step({ type: 'connected', ...this.#time(), peer })
    // Writes submitted before this core existed, or to the one it replaces, under their ids,
    // those made this turn included.
    this.#made.length = 0
    const writes = [...this.#requests].map(([request, { ops, id }]) => ({ request, ops, id }))
    if (writes.length > 0) this.#step({ type: 'write', ...this.#time(), writes })
    for (const [request, { keys, range }] of this.#reads) {
      this.#step(range === null ? { type: 'strong-read', ...this.#time(), request, keys } : { type: 'fence', ...this.#time(), request, range })
    }
    for (const [request, { change }] of this.#changes) this.#step({ type: 'change-membership', ...this.#time(), request, change })
  }

  /** A tick is pending work only while a write waits on it: an idle Replicator holds nothing open. */
  #holdWhileBusy (): void {
    if (this.#requests.size > 0 || this.#reads.size > 0 || this.#changes.size > 0) this.#tick?.ref?.()
    else this.#tick?.unref?.()
  }

  #step (input: Input): void {
    const node = this.#node
    if (node === null || this.#closed) return
    this.#run(node, () => node.step(input))
  }

  #run (node: Node, step: () => Effect[]): void {
    try {
      this.#effects.push(...step())
    } catch (error) {
      this.#rebuild(node, error)
      return
    }
    this.#drain(node)
    if (node.applyingCopy !== this.#applyingCopy && this.#node === node) {
      this.#applyingCopy = node.applyingCopy
      this.#hooks.applyingCopy(this.#applyingCopy)
    }
  }

  /** Effects run in order; a step caused while they run (an in-process peer) queues behind. */
  #drain (node: Node): void {
    if (this.#draining) return
    this.#draining = true
    try {
      for (let effect = this.#effects.shift(); effect !== undefined; effect = this.#effects.shift()) this.#perform(node, effect)
    } finally {
      this.#draining = false
    }
  }

  #perform (node: Node, effect: Effect): void {
    switch (effect.type) {
      case 'send':
        this.#hooks.send(effect.to, effect.message)
        return
      case 'persist':
        this.#store.persist(effect.writes, effect.sync).then(() => {
          this.#noteProgress(node, effect.writes)
          if (this.#node === node) this.#step({ type: 'persisted', ...this.#time(), id: effect.id })
        }, (error: unknown) => { this.#storeClosed(node, error) })
        return
      case 'read':
        this.#store.read(effect.query).then((result) => {
          if (this.#node === node) this.#step({ type: 'read', ...this.#time(), id: effect.id, result })
        }, (error: unknown) => { this.#storeClosed(node, error) })
        return
      case 'reply': {
        const request = this.#requests.get(effect.request)
        if (request === undefined) return
        this.#requests.delete(effect.request)
        count(this.#counts.writes, effect.result.ok ? 'resolved' : effect.result.reason)
        if (effect.result.ok) request.resolve()
        else request.reject(writeError(effect.result.reason))
        this.#holdWhileBusy()
        if (this.#requests.size === 0) this.#settled?.()
        return
      }
      case 'event':
        this.#hooks.event(effect.event)
        return
      case 'applied':
        this.#hooks.applied(effect.changes)
        return
      case 'read-result': {
        const read = this.#reads.get(effect.request)
        if (read === undefined) return
        this.#reads.delete(effect.request)
        count(this.#counts.reads, effect.result.ok ? 'answered' : effect.result.reason)
        if (effect.result.ok) read.resolve(effect.result.records)
        else read.reject(readError(effect.result.reason))
        this.#holdWhileBusy()
        return
      }
      case 'membership-result': {
        const change = this.#changes.get(effect.request)
        if (change === undefined) return
        this.#changes.delete(effect.request)
        if (effect.result.ok) change.resolve(effect.result.membership)
        else change.reject(changeError(effect.result.reason, effect.result.message))
        this.#holdWhileBusy()
        return
      }
      case 'membership':
        this.#hooks.membership(effect.membership)
    }
  }

  /** The store rejects only once it is closing (it retries otherwise): nothing more to do. */
  #storeClosed (node: Node, error: unknown): void {
    if (this.#node === node && !this.#closed) this.#rebuild(node, error)
  }

  /**
   * Asks the witness whether storage is intact. If not, it is told that nothing is to be
   * trusted, before the core starts: until the core trusts its own log again, every start must
   * ask its peers too (SPEC §2.6). The disk alone cannot tell: what the core takes back from
   * the peers that answer can bring it up to the last note, while one yet to answer may hold
   * an own decision that note never saw.
   */
  async #checkIntact (loaded: Omit<DurableState, 'intact'>): Promise<boolean> {
    const intact = await this.#witness.check(this.#options.id, loaded, this.#options.sync)
    if (!intact) {
      this.#witness.note(this.#options.id, DISTRUSTED)
      await this.#witness.flush()
    }
    return intact
  }

  /**
   * Tells the witness how far the own log is durably decided, once the core trusts its own
   * log (SPEC §5.4): before, the note would claim too little, and a start would trust it.
   */
  #noteProgress (node: Node, writes: readonly StorageWrite[]): void {
    let { reserved, decided } = this.#progress
    for (const write of writes) {
      if (write.type === 'reserved') reserved = Math.max(reserved, write.seq)
      if (write.type === 'mark' && write.origin === this.#options.id) decided = Math.max(decided, write.contiguous)
    }
    this.#progress = { reserved, decided }
    if (node.trustsOwnLog) this.#witness.note(this.#options.id, this.#progress)
  }

  /**
   * The core broke an invariant: nothing it holds in memory can be trusted. Start a new one
   * from durable state, as a restart would (SPEC §5.4), and submit every write in flight
   * again under its write id, so that each settles exactly as it would have.
   */
  #rebuild (broken: Node, cause: unknown): void {
    if (this.#node !== broken || this.#rebuilding !== null) return
    this.#node = null
    this.#effects.length = 0
    this.#hooks.error(cause instanceof Error ? cause : new Error(String(cause)))
    this.#rebuilding = (async () => {
      const loaded = await this.#store.load()
      const intact = await this.#checkIntact(loaded)
      if (this.#closed) return
      this.#boot({ ...loaded, intact })
    })().catch((error: unknown) => {
      // Storage is closing: the Replicator is going away, and close() settles what is left.
      this.#hooks.error(error instanceof Error ? error : new Error(String(error)))
    }).finally(() => { this.#rebuilding = null })
  }
}

function count (counts: Map<string, number>, outcome: string): void {
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1)
}
