/**
 * Goal: LevelStore on real classic-level answers exactly as SimStorage, the reference model
 * of the storage contract, and keeps that state across a reopen. Method: per seed, a random
 * run of write batches and queries (binary keys, log truncation inside batches, drops of
 * what a page of a full copy lacks, a full copy's staging area, tombstone scans, snapshot sessions interleaved with writes) goes to both, issued to the store without awaiting so its
 * ordering is tested too; every answer and the final load() must be deep-equal.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CopyProgress, DataRecord, DurableState, HostId, Key, LogEntry, Op, Query, StorageWrite, Value } from '../../src/core/index.js'
import { RESERVED_PREFIX } from '../../src/storage/keys.js'
import { LevelStore } from '../../src/storage/store.js'
import { Prng } from '../sim/prng.js'
import { SimStorage } from '../sim/storage.js'
import { TempDb, normalize, rawBatch } from './helpers.js'

const SEEDS = 30
const STEPS = 60

// '__proto__' checks that origins survive as record keys; 'hôte' that they are UTF-8, not latin1.
const ORIGINS: readonly HostId[] = ['a', 'b', '__proto__', '0123456789abcdef0123456789abcdef', 'hôte']

// Keys at the edges: empty, 0x00 and 0xff bytes, and both neighbours of the reserved range.
const EDGE_KEYS: readonly Key[] = [
  '', '\x00', '\x00\x00', '\xff', '\xff\xff', '\xff\xffq', '\xff\xffqk', '\xff\xffqm', '\xff\xff\xff',
  '__proto__', 'constructor', 'a', 'a\x00', 'a\x00b', 'b'
]

interface Check {
  readonly label: string
  readonly expected: unknown
  readonly actual: Promise<unknown>
}

class Generator {
  readonly #random: Prng
  readonly keys: Key[]

  constructor (random: Prng) {
    this.#random = random
    this.keys = [...EDGE_KEYS]
    for (let i = 0; i < 12; i++) this.keys.push(this.#binaryKey())
  }

  key (): Key {
    return this.#random.pick(this.keys)
  }

  origin (): HostId {
    return this.#random.pick(ORIGINS)
  }

  seq (): number {
    return this.#random.int(1, 30)
  }

  value (): Value {
    return Uint8Array.from({ length: this.#random.int(0, 8) }, () => this.#byte())
  }

  ops (): Op[] {
    return Array.from({ length: this.#random.int(0, 3) }, (): Op => this.#random.chance(0.7)
      ? { type: 'put', key: this.key(), value: this.value() }
      : { type: 'del', key: this.key() })
  }

  record (): DataRecord {
    return {
      value: this.#random.chance(0.3) ? null : this.value(),
      // Timestamps beyond 32 bits: stored numbers must keep every safe integer exact.
      version: { ts: this.#random.int(0, 2 ** 45), origin: this.origin(), seq: this.seq() }
    }
  }

  entry (): LogEntry {
    const origin = this.origin()
    const seq = this.seq()
    return this.#random.chance(0.7)
      ? { kind: 'commit', origin, seq, ts: this.#random.int(1, 2 ** 40), ops: this.ops() }
      : { kind: 'abort', origin, seq }
  }

  write (sim: SimStorage): StorageWrite {
    const random = this.#random
    const kind = random.pick(['data', 'data', 'data', 'data', 'prepare', 'unprepare', 'log', 'log', 'log', 'truncate-log', 'truncate-log', 'mark', 'floor', 'clock', 'reserved', 'writer-committed', 'writer-failed', 'delete', 'horizon'] as const)
    switch (kind) {
      case 'data': return { type: 'data', key: this.key(), record: this.record() }
      case 'prepare': return { type: 'prepare', origin: this.origin(), seq: this.seq(), ops: this.ops(), clock: random.int(0, 2 ** 45) }
      case 'unprepare': {
        // Mostly one that exists, so unprepare really deletes.
        const held = [...sim.prepared.values()]
        const target = held.length > 0 && random.chance(0.8) ? random.pick(held) : { origin: this.origin(), seq: this.seq() }
        return { type: 'unprepare', origin: target.origin, seq: target.seq }
      }
      case 'log': return { type: 'log', entry: this.entry() }
      case 'truncate-log': return { type: 'truncate-log', origin: this.origin(), before: random.int(0, 35) }
      case 'mark': return { type: 'mark', origin: this.origin(), contiguous: random.int(0, 30) }
      case 'floor': return { type: 'floor', origin: this.origin(), floor: random.int(0, 30) }
      case 'clock': return { type: 'clock', ts: random.int(0, 2 ** 50) }
      case 'reserved': return { type: 'reserved', seq: random.int(0, 40) }
      case 'writer-committed': return { type: 'writer-committed', writer: this.writer(), counter: random.int(1, 2 ** 40), seq: this.seq() }
      case 'writer-failed': {
        const failed = Array.from({ length: random.int(0, 3) }, (_, i) => ({ from: 10 * i + 1, to: 10 * i + random.int(1, 9), reason: random.pick(['timeout', 'conflict', 'storage', 'recovering'] as const) }))
        return { type: 'writer-failed', writer: this.writer(), failed }
      }
      // Mostly a key that is stored, so the deletion really deletes.
      case 'delete': return { type: 'delete', key: sim.data.size > 0 && random.chance(0.8) ? random.pick([...sim.data.keys()]) : this.key() }
      case 'horizon': return { type: 'horizon', ts: random.int(0, 2 ** 45) }
    }
  }

  /** Drops what a page of a full copy lacks: the core writes it before the batch's data writes. */
  dropAbsent (): StorageWrite {
    // A page's range: above one key (or from the first), up to another (or to the last).
    const [after, upTo] = [this.#bound(), this.#bound()]
    const range = { ...(after === null ? {} : { gt: after }), ...(upTo === null ? {} : { lte: upTo }) }
    return { type: 'drop-absent', through: this.#random.int(0, 2 ** 45), keep: new Set(this.keys.filter(() => this.#random.chance(0.5))), range }
  }

  /** A write of the staging area; a deletion of it (`copy` null) only comes last in a batch. */
  staging (): StorageWrite {
    const random = this.#random
    switch (random.pick(['stage', 'stage', 'unstage', 'copy'] as const)) {
      case 'stage': return { type: 'stage', records: Array.from({ length: random.int(0, 4) }, () => [this.key(), this.record()] as const) }
      case 'unstage': return { type: 'unstage', keys: this.keys.filter(() => random.chance(0.3)) }
      case 'copy': return { type: 'copy', progress: this.copyProgress() }
    }
  }

  copyProgress (): CopyProgress {
    const random = this.#random
    return {
      from: this.origin(),
      session: random.int(0, 2 ** 40),
      nextPart: random.int(0, 1000),
      marks: Object.fromEntries(ORIGINS.filter(() => random.chance(0.5)).map((origin) => [origin, this.seq()])),
      membership: random.chance(0.5) ? null : { epoch: random.int(0, 9), members: ORIGINS.filter(() => random.chance(0.5)), minConsensus: random.int(0, 3) },
      horizon: random.int(0, 2 ** 45),
      applying: random.chance(0.5),
      after: random.chance(0.5) ? null : this.key()
    }
  }

  stagedQuery (): Query {
    return { type: 'staged', limit: this.#random.int(0, 6), bytesMax: this.#random.chance(0.3) ? this.#random.int(1, 200) : Number.MAX_SAFE_INTEGER }
  }

  /** A bound of a page's range: mostly a key, sometimes none. */
  #bound (): Key | null {
    return this.#random.chance(0.3) ? null : this.key()
  }

  tombstonesQuery (sim: SimStorage): Query {
    const after = this.#random.chance(0.3) ? null : this.#random.chance(0.5) && sim.data.size > 0 ? this.#random.pick([...sim.data.keys()]) : this.key()
    return { type: 'tombstones', through: this.#random.chance(0.2) ? Number.MAX_SAFE_INTEGER : this.#random.int(0, 2 ** 45), after, limit: this.#random.int(1, 8) }
  }

  writer (): string {
    return this.#random.pick(['w1', 'w2', 'écrivain', '__proto__'])
  }

  writerQuery (): Query {
    return { type: 'writer', writer: this.#random.chance(0.8) ? this.writer() : 'never-written' }
  }

  batch (sim: SimStorage): StorageWrite[] {
    const writes = Array.from({ length: this.#random.int(1, 6) }, () => this.#random.chance(0.2) ? this.staging() : this.write(sim))
    if (this.#random.chance(0.15)) writes.unshift(this.dropAbsent())
    if (this.#random.chance(0.05)) writes.push({ type: 'copy', progress: null })
    return writes
  }

  versionsQuery (): Query {
    return { type: 'versions', keys: Array.from({ length: this.#random.int(0, 6) }, () => this.key()) }
  }

  logQuery (): Query {
    const origins = ORIGINS.filter(() => this.#random.chance(0.6))
    if (this.#random.chance(0.2)) origins.push('never-logged')
    // fromEntries, so that '__proto__' is an own key as the core would build it.
    // Several ranges per origin, some empty or reversed, some unbounded above.
    const ranges = origins.flatMap((origin) => Array.from({ length: this.#random.int(1, 3) }, () => {
      const from = this.#random.int(-1, 30)
      return { origin, from, to: this.#random.chance(0.2) ? Number.MAX_SAFE_INTEGER : from + this.#random.int(-1, 8) }
    }))
    return { type: 'log', ranges, limit: this.#random.chance(0.2) ? 1000 : this.#random.int(0, 12), bytesMax: this.#random.chance(0.3) ? this.#random.int(1, 200) : Number.MAX_SAFE_INTEGER }
  }

  limit (): number {
    return this.#random.int(0, 7)
  }

  #binaryKey (): Key {
    for (;;) {
      const key = String.fromCharCode(...Array.from({ length: this.#random.int(1, 6) }, () => this.#byte()))
      if (!key.startsWith(RESERVED_PREFIX)) return key
    }
  }

  // Biased towards the bytes where binary-safety breaks first.
  #byte (): number {
    return this.#random.chance(0.3) ? this.#random.pick([0x00, 0xff]) : this.#random.int(0, 255)
  }
}

/** What LevelStore loads: whether storage is intact is its caller's to say. */
function withoutIntact ({ intact: _intact, ...state }: DurableState): Omit<DurableState, 'intact'> {
  return state
}

/** load() as a set: SimStorage lists entries, weights and prepares in insertion order, LevelStore in key order. */
function sortedLoad (state: Omit<DurableState, 'intact'>): unknown {
  const byTxn = (a: { origin: HostId, seq: number }, b: { origin: HostId, seq: number }): number =>
    a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq
  return normalize({ ...state, above: [...state.above].sort(byTxn), logWeights: [...state.logWeights].sort(byTxn), prepared: [...state.prepared].sort(byTxn) })
}

/** Reads a whole snapshot from both, in random chunk sizes, and compares every chunk. */
async function compareFullSnapshot (sim: SimStorage, store: LevelStore, session: number, random: Prng, label: string): Promise<void> {
  for (let chunk = 0; ; chunk++) {
    const query: Query = { type: 'snapshot-read', session, limit: random.int(1, 9), bytesMax: random.chance(0.3) ? random.int(1, 200) : Number.MAX_SAFE_INTEGER }
    const expected = sim.read(query)
    assert.deepStrictEqual(normalize(await store.read(query)), normalize(expected), `${label} chunk ${chunk}`)
    if (expected.type === 'snapshot-read' && expected.done) return
  }
}

await test(`LevelStore answers as SimStorage over ${SEEDS} random runs, and after reopen`, async (t) => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const random = new Prng(seed)
    const generate = new Generator(random.fork())
    const temp = await TempDb.open(t)
    const store = new LevelStore(temp.db, { batch: rawBatch(temp.db), sync: false })
    const sim = new SimStorage()
    const checks: Check[] = []
    const openSessions: number[] = []
    const finishedSessions: number[] = []
    let nextSession = 1
    // Sometimes the id of a finished session: the model opens a fresh snapshot for it.
    const newSession = (): number => finishedSessions.length > 0 && random.chance(0.3) ? random.pick(finishedSessions) : nextSession++

    for (let step = 0; step < STEPS; step++) {
      const label = `seed ${seed} step ${step}`
      const roll = random.next()
      if (roll < 0.5) {
        const writes = generate.batch(sim)
        sim.write(writes, false, (entry) => entry.kind)
        const persisted = store.persist(writes)
        checks.push({ label: `${label} persist`, expected: undefined, actual: persisted })
        // As the core does: nothing is staged in the batch that deletes the staging area.
        if (writes.some((write) => write.type === 'copy' && write.progress === null)) await persisted.catch(() => {})
        continue
      }
      let query: Query
      if (roll < 0.56) query = generate.versionsQuery()
      else if (roll < 0.58) query = generate.tombstonesQuery(sim)
      else if (roll < 0.6) query = generate.stagedQuery()
      else if (roll < 0.66) query = generate.writerQuery()
      else if (roll < 0.74) query = generate.logQuery()
      else if (roll < 0.84 || openSessions.length === 0) query = { type: 'snapshot-read', session: newSession(), limit: generate.limit(), bytesMax: random.chance(0.3) ? random.int(1, 200) : Number.MAX_SAFE_INTEGER }
      else if (roll < 0.96) query = { type: 'snapshot-read', session: random.pick(openSessions), limit: generate.limit(), bytesMax: random.chance(0.3) ? random.int(1, 200) : Number.MAX_SAFE_INTEGER }
      else query = { type: 'snapshot-close', session: random.pick(openSessions) }
      const expected = sim.read(query)
      // The model says which sessions are still open, so the run can keep reading them later.
      if (query.type === 'snapshot-read' || query.type === 'snapshot-close') {
        const open = expected.type === 'snapshot-read' && !expected.done
        const index = openSessions.indexOf(query.session)
        if (open && index === -1) openSessions.push(query.session)
        if (!open && index !== -1) openSessions.splice(index, 1)
        if (!open && !finishedSessions.includes(query.session)) finishedSessions.push(query.session)
      }
      checks.push({ label: `${label} ${query.type}`, expected, actual: store.read(query) })
    }
    const expectedLoad = withoutIntact(sim.load(true))
    const actualLoad = store.load()
    // allSettled first: a rejection is reported against its step, never as an unhandled one.
    const settled = await Promise.allSettled(checks.map((check) => check.actual))
    checks.forEach((check, i) => {
      const outcome = settled[i]
      if (outcome?.status !== 'fulfilled') assert.fail(`${check.label} rejected: ${String(outcome?.reason)}`)
      assert.deepStrictEqual(normalize(outcome.value), normalize(check.expected), check.label)
    })
    assert.deepStrictEqual(sortedLoad(await actualLoad), sortedLoad(expectedLoad), `seed ${seed} load`)
    await compareFullSnapshot(sim, store, nextSession++, random, `seed ${seed} final snapshot`)

    // Durability: the same directory, opened again, holds the same state.
    await store.close()
    const db = await temp.reopen()
    const reopened = new LevelStore(db, { batch: rawBatch(db), sync: false })
    assert.deepStrictEqual(sortedLoad(await reopened.load()), sortedLoad(withoutIntact(sim.load(true))), `seed ${seed} load after reopen`)
    await compareFullSnapshot(sim, reopened, nextSession++, random, `seed ${seed} snapshot after reopen`)
    const everything: Query = { type: 'log', ranges: ORIGINS.map((origin) => ({ origin, from: 1, to: Number.MAX_SAFE_INTEGER })), limit: 10_000, bytesMax: Number.MAX_SAFE_INTEGER }
    assert.deepStrictEqual(normalize(await reopened.read(everything)), normalize(sim.read(everything)), `seed ${seed} log after reopen`)
    await reopened.close()
  }
})
