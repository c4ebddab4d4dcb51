import type { DataRecord, DurableState, HostId, Key, LogEntry, Op, Query, QueryResult, StorageWrite, Version } from '../../src/core/index.js'
import { entryBytes, entryLast, recordBytes, takeWithinBytes } from '../../src/core/index.js'

export type StorageOp =
  | { readonly kind: 'persist', readonly id: number, readonly writes: readonly StorageWrite[] }
  | { readonly kind: 'read', readonly id: number, readonly query: Query }

/**
 * One host's disk in the simulator: what was persisted survives a crash, everything queued
 * is lost. Operations run one at a time in issue order, as the storage contract requires.
 */
export class SimStorage {
  readonly data = new Map<Key, DataRecord>()
  readonly prepared = new Map<string, { origin: HostId, seq: number, ops: readonly Op[] }>()
  readonly log = new Map<HostId, Map<number, LogEntry>>()
  readonly marks = new Map<HostId, number>()
  readonly floors = new Map<HostId, number>()
  clock = 0
  reserved = 0
  readonly queue: StorageOp[] = []
  readonly #sessions = new Map<number, { records: Array<readonly [Key, DataRecord]>, position: number }>()

  crash (): void {
    this.queue.length = 0
    this.#sessions.clear()
  }

  load (): DurableState {
    const above: Array<{ origin: HostId, seq: number, last: number }> = []
    for (const [origin, entries] of this.log) {
      const contiguous = this.marks.get(origin) ?? 0
      for (const entry of entries.values()) {
        if (entry.seq > contiguous) above.push({ origin, seq: entry.seq, last: entryLast(entry) })
      }
    }
    return {
      clock: this.clock,
      reserved: this.reserved,
      marks: Object.fromEntries(this.marks),
      floors: Object.fromEntries(this.floors),
      above,
      prepared: [...this.prepared.values()]
    }
  }

  /** Whether this disk durably holds the decision `(origin, seq)` as applied. */
  hasApplied (origin: HostId, seq: number): boolean {
    if ((this.marks.get(origin) ?? 0) >= seq) return true
    for (const entry of this.log.get(origin)?.values() ?? []) {
      if (entry.seq <= seq && seq <= entryLast(entry)) return true
    }
    return false
  }

  write (writes: readonly StorageWrite[]): void {
    for (const write of writes) {
      switch (write.type) {
        case 'data':
          this.data.set(write.key, write.record)
          break
        case 'prepare':
          this.prepared.set(`${write.origin}#${write.seq}`, { origin: write.origin, seq: write.seq, ops: write.ops })
          break
        case 'unprepare':
          this.prepared.delete(`${write.origin}#${write.seq}`)
          break
        case 'log': {
          let entries = this.log.get(write.entry.origin)
          if (entries === undefined) this.log.set(write.entry.origin, entries = new Map())
          entries.set(write.entry.seq, write.entry)
          break
        }
        case 'truncate-log':
          for (const seq of this.log.get(write.origin)?.keys() ?? []) {
            if (seq < write.before) this.log.get(write.origin)?.delete(seq)
          }
          break
        case 'mark':
          this.marks.set(write.origin, write.contiguous)
          break
        case 'floor':
          this.floors.set(write.origin, write.floor)
          break
        case 'clock':
          this.clock = write.ts
          break
        case 'reserved':
          this.reserved = write.seq
          break
      }
    }
  }

  read (query: Query): QueryResult {
    switch (query.type) {
      case 'versions':
        return { type: 'versions', versions: query.keys.map((key): Version | undefined => this.data.get(key)?.version) }
      case 'log': {
        const entries: LogEntry[] = []
        for (const origin of Object.keys(query.after).sort()) {
          const after = query.after[origin] ?? 0
          const seqs = [...(this.log.get(origin)?.keys() ?? [])].filter((seq) => seq > after).sort((a, b) => a - b)
          for (const seq of seqs) {
            if (entries.length >= query.limit) break
            const entry = this.log.get(origin)?.get(seq)
            if (entry !== undefined) entries.push(entry)
          }
        }
        return { type: 'log', entries: takeWithinBytes(entries, entryBytes, query.bytesMax) }
      }
      case 'snapshot-read': {
        let session = this.#sessions.get(query.session)
        if (session === undefined) {
          const records = [...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
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
    }
  }
}
