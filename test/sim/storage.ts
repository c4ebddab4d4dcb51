import type { CopyProgress, DataRecord, DurableState, FailedRun, HostId, Key, LogEntry, Membership, Op, Query, QueryResult, StorageWrite, Version } from '../../src/core/index.js'
import { entryBytes, inRange, recordBytes, takeWithinBytes } from '../../src/core/index.js'

export type StorageOp =
  | { readonly kind: 'persist', readonly id: number, readonly writes: readonly StorageWrite[], readonly sync: boolean }
  | { readonly kind: 'read', readonly id: number, readonly query: Query }

/** A restorable copy of a disk, as a backup of the data directory would hold. */
export interface DiskCopy {
  readonly takenAt: number
  readonly state: DiskState
}

interface DiskState {
  readonly data: Map<Key, DataRecord>
  readonly prepared: Map<string, { origin: HostId, seq: number, ops: readonly Op[], clock: number }>
  readonly log: Map<HostId, Map<number, LogEntry>>
  readonly marks: Map<HostId, number>
  readonly floors: Map<HostId, number>
  readonly writers: Map<string, { counter: number, seq: number }>
  readonly failed: Map<string, readonly FailedRun[]>
  /** Simulator bookkeeping, not a real record: the decision of every entry applied here, by `origin#seq`. */
  readonly decided: Map<string, string>
  clock: number
  reserved: number
  membership: Membership | null
  horizon: number
  /** Records of a full copy coming in, apart from the data, and the staging header. */
  readonly staged: Map<Key, DataRecord>
  copy: CopyProgress | null
}

/** Undoes one write to the state; a batch not yet synced keeps a list of these. */
type Undo = () => void

/**
 * One host's disk in the simulator. A batch the host persisted is what a process crash
 * keeps; a power loss keeps only what was synced, plus whatever prefix of the later batches
 * the operating system had written back (LevelDB's log is a prefix-closed sequence). A synced
 * batch makes every batch before it durable too, as an fsync of LevelDB's log does.
 * Operations run one at a time in issue order, as the storage contract requires.
 */
export class SimStorage {
  #state: DiskState = emptyState()
  /** The batches since the last sync or write-back, oldest first, each as its undo list. */
  readonly #unsynced: Undo[][] = []
  readonly queue: StorageOp[] = []
  readonly #sessions = new Map<number, { records: Array<readonly [Key, DataRecord]>, position: number }>()

  get data (): ReadonlyMap<Key, DataRecord> { return this.#state.data }
  get prepared (): ReadonlyMap<string, { origin: HostId, seq: number, ops: readonly Op[], clock: number }> { return this.#state.prepared }
  get log (): ReadonlyMap<HostId, ReadonlyMap<number, LogEntry>> { return this.#state.log }
  get clock (): number { return this.#state.clock }
  get floors (): ReadonlyMap<HostId, number> { return this.#state.floors }
  get marks (): ReadonlyMap<HostId, number> { return this.#state.marks }
  get membership (): Membership | null { return this.#state.membership }
  get horizon (): number { return this.#state.horizon }
  /** The records of a full copy coming in, staged apart from the data. */
  get staged (): ReadonlyMap<Key, DataRecord> { return this.#state.staged }
  /** A full copy is being applied to the data, page by page: its host's reads wait (SPEC §6.3). */
  get applyingCopy (): boolean { return this.#state.copy?.applying === true }
  /** The decision shape of every entry applied here (simulator bookkeeping), by `origin#seq`. */
  get decided (): ReadonlyMap<string, string> { return this.#state.decided }
  get unsyncedBatches (): number { return this.#unsynced.length }

  /** A process crash: unfinished operations are lost, everything persisted stays. */
  crash (): void {
    this.queue.length = 0
    this.#sessions.clear()
  }

  /**
   * A power loss: a process crash, and the batches not yet synced or written back are lost,
   * except the first `kept` of them. Returns how many were lost.
   */
  powerLoss (kept: number): number {
    this.crash()
    const lost = this.#unsynced.splice(Math.max(0, kept))
    for (const batch of lost.reverse()) for (const undo of batch.reverse()) undo()
    this.#unsynced.length = 0
    return lost.length
  }

  /** The operating system wrote its page cache back: every batch so far is on disk. */
  writeBack (): void {
    this.#unsynced.length = 0
  }

  copy (takenAt: number): DiskCopy {
    return { takenAt, state: cloneState(this.#state) }
  }

  /** Replaces the whole disk by an older copy, as restoring a backup of the directory does. */
  restore (copy: DiskCopy): void {
    this.crash()
    this.#state = cloneState(copy.state)
    this.#unsynced.length = 0
  }

  load (intact: boolean): DurableState {
    const state = this.#state
    const above: Array<{ origin: HostId, seq: number }> = []
    const logWeights: Array<{ origin: HostId, seq: number, bytes: number }> = []
    for (const [origin, entries] of state.log) {
      const contiguous = state.marks.get(origin) ?? 0
      for (const entry of entries.values()) {
        if (entry.seq > contiguous) above.push({ origin, seq: entry.seq })
        logWeights.push({ origin, seq: entry.seq, bytes: entryBytes(entry) })
      }
    }
    return {
      intact,
      clock: state.clock,
      reserved: state.reserved,
      marks: Object.fromEntries(state.marks),
      floors: Object.fromEntries(state.floors),
      above,
      logWeights,
      prepared: [...state.prepared.values()],
      membership: state.membership,
      horizon: state.horizon,
      copy: state.copy
    }
  }

  /** Whether this disk holds the decision `(origin, seq)` as applied. */
  hasApplied (origin: HostId, seq: number): boolean {
    const state = this.#state
    if ((state.marks.get(origin) ?? 0) >= seq) return true
    return state.log.get(origin)?.has(seq) ?? false
  }

  /** Applies one persist batch; `sync` makes it, and all before it, survive a power loss. */
  write (writes: readonly StorageWrite[], sync: boolean, decidedShape: (entry: LogEntry) => string): void {
    const state = this.#state
    const undo: Undo[] = []
    const set = <K, V>(map: Map<K, V>, key: K, value: V | undefined): void => {
      const had = map.has(key)
      const before = map.get(key)
      undo.push(() => { if (had) map.set(key, before as V); else map.delete(key) })
      if (value === undefined) map.delete(key)
      else map.set(key, value)
    }
    const assign = <F extends 'clock' | 'reserved' | 'membership' | 'horizon' | 'copy'>(field: F, value: DiskState[F]): void => {
      const before = state[field]
      undo.push(() => { state[field] = before })
      state[field] = value
    }
    for (const write of writes) {
      switch (write.type) {
        case 'data':
          set(state.data, write.key, write.record)
          break
        case 'prepare':
          set(state.prepared, `${write.origin}#${write.seq}`, { origin: write.origin, seq: write.seq, ops: write.ops, clock: write.clock })
          break
        case 'unprepare':
          set(state.prepared, `${write.origin}#${write.seq}`, undefined)
          break
        case 'log': {
          let entries = state.log.get(write.entry.origin)
          if (entries === undefined) {
            const created = new Map<number, LogEntry>()
            state.log.set(write.entry.origin, created)
            undo.push(() => { if (created.size === 0) state.log.delete(write.entry.origin) })
            entries = created
          }
          set(entries, write.entry.seq, write.entry)
          set(state.decided, `${write.entry.origin}#${write.entry.seq}`, decidedShape(write.entry))
          break
        }
        case 'truncate-log': {
          const entries = state.log.get(write.origin)
          for (const seq of [...entries?.keys() ?? []]) if (seq < write.before && entries !== undefined) set(entries, seq, undefined)
          break
        }
        case 'mark':
          set(state.marks, write.origin, write.contiguous)
          break
        case 'floor':
          set(state.floors, write.origin, write.floor)
          break
        case 'clock':
          assign('clock', write.ts)
          break
        case 'reserved':
          assign('reserved', write.seq)
          break
        case 'membership':
          assign('membership', write.membership)
          break
        case 'writer-committed':
          set(state.writers, write.writer, { counter: write.counter, seq: write.seq })
          break
        case 'writer-failed':
          set(state.failed, write.writer, [...write.failed])
          break
        case 'delete':
          set(state.data, write.key, undefined)
          break
        case 'horizon':
          assign('horizon', write.ts)
          break
        case 'drop-absent': {
          // Before the batch's data writes, which the core puts last: so against the stored state.
          for (const [key, record] of [...state.data]) {
            if (record.version.ts <= write.through && !write.keep.has(key) && inRange(key, write.range)) set(state.data, key, undefined)
          }
          break
        }
        case 'stage':
          for (const [key, record] of write.records) set(state.staged, key, record)
          break
        case 'unstage':
          for (const key of write.keys) set(state.staged, key, undefined)
          break
        case 'copy':
          assign('copy', write.progress)
          if (write.progress === null) for (const key of [...state.staged.keys()]) set(state.staged, key, undefined)
          break
      }
    }
    if (sync) this.#unsynced.length = 0
    else this.#unsynced.push(undo)
  }

  read (query: Query): QueryResult {
    const state = this.#state
    switch (query.type) {
      case 'versions':
        return { type: 'versions', versions: query.keys.map((key): Version | undefined => state.data.get(key)?.version) }
      case 'records':
        return { type: 'records', records: query.keys.map((key) => state.data.get(key)) }
      case 'log': {
        const entries: LogEntry[] = []
        for (const { origin, from, to } of query.ranges) {
          const seqs = [...(state.log.get(origin)?.keys() ?? [])].filter((seq) => seq >= from && seq <= to).sort((a, b) => a - b)
          for (const seq of seqs) {
            if (entries.length >= query.limit) break
            const entry = state.log.get(origin)?.get(seq)
            if (entry !== undefined) entries.push(entry)
          }
        }
        return { type: 'log', entries: takeWithinBytes(entries, entryBytes, query.bytesMax) }
      }
      case 'snapshot-read': {
        let session = this.#sessions.get(query.session)
        if (session === undefined) {
          const records = [...state.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          this.#sessions.set(query.session, session = { records, position: 0 })
        }
        const records = takeWithinBytes(session.records.slice(session.position, session.position + query.limit), ([key, record]) => recordBytes(key, record), query.bytesMax)
        session.position += records.length
        const done = session.position >= session.records.length
        if (done) this.#sessions.delete(query.session)
        return { type: 'snapshot-read', records, done }
      }
      case 'snapshot-close':
        this.#sessions.delete(query.session)
        return { type: 'snapshot-close' }
      case 'writer': {
        const committed = state.writers.get(query.writer) ?? { counter: 0, seq: 0 }
        return { type: 'writer', record: { ...committed, failed: state.failed.get(query.writer) ?? [] } }
      }
      case 'tombstones': {
        const { after, through, limit } = query
        const keys = [...state.data.keys()].filter((key) => after === null || key > after).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit)
        const tombstones = keys.filter((key) => {
          const record = state.data.get(key)
          return record !== undefined && record.value === null && record.version.ts <= through
        })
        return { type: 'tombstones', keys: tombstones, next: keys.length < limit ? null : keys[keys.length - 1] ?? null }
      }
      case 'staged': {
        const staged = [...state.staged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        const records = takeWithinBytes(staged.slice(0, Math.max(1, query.limit)), ([key, record]) => recordBytes(key, record), query.bytesMax)
        return { type: 'staged', records, versions: records.map(([key]) => state.data.get(key)?.version), done: records.length === staged.length }
      }
    }
  }
}

function emptyState (): DiskState {
  return { data: new Map(), prepared: new Map(), log: new Map(), marks: new Map(), floors: new Map(), writers: new Map(), failed: new Map(), decided: new Map(), clock: 0, reserved: 0, membership: null, horizon: 0, staged: new Map(), copy: null }
}

function cloneState (state: DiskState): DiskState {
  return {
    data: new Map(state.data),
    prepared: new Map(state.prepared),
    log: new Map([...state.log].map(([origin, entries]) => [origin, new Map(entries)])),
    marks: new Map(state.marks),
    floors: new Map(state.floors),
    writers: new Map(state.writers),
    failed: new Map(state.failed),
    decided: new Map(state.decided),
    clock: state.clock,
    reserved: state.reserved,
    membership: state.membership,
    horizon: state.horizon,
    staged: new Map(state.staged),
    copy: state.copy
  }
}
