import { assert } from './assert.js'
import type { Change, StorageWrite } from './effects.js'
import { type ApplyJob, type ApplySource, type CollectStep, type NodeState, type PreparedTxn, nextInTurn, persist, read, send } from './state.js'
import { type DataRecord, type HostId, type Key, type KeyRange, type LogEntry, type Version, entryBytes, inRange, txnKey } from './types.js'
import { supersedes } from './version.js'
import { type AppliedMarks, coversApplied } from './marks.js'
import { type DecodedChange, type Membership, decodeChange, isMembershipOps } from './membership.js'

/**
 * The apply pipeline: the one place where user data, the log and the marks change. Jobs run
 * one at a time (read the stored versions of their keys, then write one atomic batch), so a
 * batch is always computed from the versions that every earlier batch left behind. Jobs that
 * queue up while one runs are merged into the next batch: group commit for participants.
 */
export function enqueueApply (s: NodeState, job: ApplyJob): void {
  s.applyQueue.push(job)
  markTouched(s, job)
  releaseDecided(s, job)
  pump(s)
}

/** Notes the prepared transactions whose locked keys this job writes, other than their own entry. */
function markTouched (s: NodeState, job: ApplyJob): void {
  if (s.prepared.size === 0) return
  const touch = (key: Key, entry: LogEntry | null): void => {
    for (const owner of s.locks.holders(key) ?? []) {
      const txn = s.prepared.get(owner)
      if (txn !== undefined && (entry === null || txn.origin !== entry.origin || txn.seq !== entry.seq)) txn.touched = true
    }
  }
  for (const { entry } of job.entries) {
    if (entry.kind === 'commit') for (const op of entry.ops) touch(op.key, entry)
  }
  for (const [key] of job.page?.records ?? []) touch(key, null)
}

/**
 * Whether a commit supersedes whatever is stored for its keys, so applying it reads nothing
 * (SPEC §5.2). An own commit does: its `ts` exceeds the clock, which is at least every version
 * stored or queued here (§3). So does one this host prepared and nothing touched since: every
 * version queued before it took the locks is at most the clock it recorded, and the commit's
 * `ts` exceeds that clock when its vote was counted.
 */
function supersedesStored (s: NodeState, entry: Extract<LogEntry, { kind: 'commit' }>, source: ApplySource): boolean {
  if (source === 'own') return true
  const txn = s.prepared.get(txnKey(entry.origin, entry.seq))
  return txn !== undefined && !txn.touched && entry.ts > txn.clock
}

/**
 * SPEC §4.3: a participant releases a transaction's locks as soon as it knows the decision,
 * before the decision is durable here. Its clock first rises to the commit timestamp, so any
 * transaction it votes on next is ordered after this one, exactly as if the apply were done.
 * The prepare record stays until the apply is durable, for a crash in between.
 */
function releaseDecided (s: NodeState, job: ApplyJob): void {
  for (const { entry } of job.entries) {
    if (entry.kind === 'commit' && entry.ts > s.clock) s.clock = entry.ts
  }
  for (const txn of s.prepared.values()) {
    // A membership change holds its lock until it is applied, and the membership with it
    // (SPEC §15.2): released earlier, this host could vote under the old one after it.
    if (!txn.locked || (isMembershipOps(txn.ops) && !job.entries.some(({ entry }) => entry.kind === 'abort' && entry.origin === txn.origin && entry.seq === txn.seq))) continue
    if (!job.entries.some(({ entry }) => entry.origin === txn.origin && entry.seq === txn.seq)) continue
    s.locks.release(txnKey(txn.origin, txn.seq), txn.keys)
    txn.locked = false
  }
}

/** Whether a decision on `(origin, seq)` is queued, being written or parked, so soon covered. */
export function isApplyPending (s: NodeState, origin: HostId, seq: number): boolean {
  const holds = (job: ApplyJob): boolean => job.entries.some(({ entry }) => entry.origin === origin && entry.seq === seq)
  return s.applyQueue.some(holds) || (s.applying?.some(holds) ?? false) || s.parked.some(({ entry }) => entry.origin === origin && entry.seq === seq)
}

/** The marks this host will have once every decision it knows of is applied: what it has decided. */
export function decidedMarks (s: NodeState): AppliedMarks {
  const marks = (s.writingMarks ?? s.marks).clone()
  for (const job of [...(s.applying ?? []), ...s.applyQueue]) {
    for (const { entry } of job.entries) marks.add(entry.origin, entry.seq)
  }
  // A copy wholly staged is applied whatever happens, a restart included (SPEC §6.3).
  for (const [origin, to] of Object.entries(s.copyApply?.marks ?? {})) marks.jump(origin, to)
  return marks
}

function pump (s: NodeState): void {
  if (s.applying !== null || s.applyQueue.length === 0) return
  const first = s.applyQueue[0] as ApplyJob
  // A step of a collection pass or of a copy runs alone; other jobs are merged up to the next.
  if (runsAlone(first)) {
    s.applyQueue.shift()
    s.applying = [first]
    if (first.collect !== undefined) collectStep(s, first.collect)
    else copyStep(s)
    return
  }
  const stop = s.applyQueue.findIndex(runsAlone)
  const jobs = s.applyQueue.splice(0, stop === -1 ? s.applyQueue.length : stop)
  s.applying = jobs
  applyJobs(s, jobs)
}

function runsAlone (job: ApplyJob): boolean {
  return job.collect !== undefined || job.copyStep !== undefined
}

/** Reads the stored versions the jobs need, then writes their batch. */
function applyJobs (s: NodeState, jobs: ApplyJob[]): void {
  const known = new Map<Key, Version | undefined>()
  const missing = new Set<Key>()
  const need = (key: Key): void => {
    if (known.has(key) || missing.has(key)) return
    const cached = s.versions.get(key)
    if (cached === undefined) missing.add(key)
    else known.set(key, cached ?? undefined)
  }
  for (const job of jobs) {
    for (const { entry, source } of job.entries) {
      if (entry.kind === 'commit' && !isMembershipOps(entry.ops) && !supersedesStored(s, entry, source)) for (const op of entry.ops) need(op.key)
    }
  }
  if (missing.size === 0) {
    writeBatch(s, jobs, known)
    return
  }
  const list = [...missing]
  read(s, { type: 'versions', keys: list }, (result) => {
    assert(result.type === 'versions', `storage answered a versions query with ${result.type}`)
    learnVersions(s, list, result.versions, known)
    writeBatch(s, jobs, known)
  })
}

/**
 * One step of applying a staged full copy (SPEC §6.3): reads its first staged records, and
 * applies them as a page covering the keys after the last page's, up to its own last key
 * (the last page: to the end). What the copy lacks is asked of the next peer in turn once
 * the last page is durable: its sender may be behind itself, and another copy from it would
 * bring no more.
 */
function copyStep (s: NodeState): void {
  read(s, { type: 'staged', limit: s.config.copyPageRecordsMax, bytesMax: s.config.copyPageBytesMax }, (result) => {
    assert(result.type === 'staged', `storage answered a staged query with ${result.type}`)
    const copy = s.copyApply
    assert(copy !== null, 'a copy step applies a copy')
    const keys = result.records.map(([key]) => key)
    const upTo = keys[keys.length - 1]
    const last = result.done || upTo === undefined
    const range: KeyRange = { ...(copy.after === null ? {} : { gt: copy.after }), ...(last ? {} : { lte: upTo }) }
    const job: ApplyJob = { entries: [], page: { records: result.records, range, last }, ...(last ? { syncAfter: nextInTurn(s, copy.from) } : {}) }
    markTouched(s, job)
    s.applying = [job]
    // The page runs alone, and its keys' stored versions came with it.
    writeBatch(s, [job], learnVersions(s, keys, result.versions, new Map()))
  })
}

/**
 * One step of a collection pass (SPEC §6.5): reads the tombstones at or below the pass's
 * horizon among the next records, and deletes them. Nothing else writes data meanwhile, so
 * they are still tombstones when the deletion is written. The horizon is written with the
 * first step: from then on, a key absent here may have been collected.
 */
function collectStep (s: NodeState, step: CollectStep): void {
  const { through, after } = step
  read(s, { type: 'tombstones', through, after, limit: s.config.collectScanMax }, (result) => {
    assert(result.type === 'tombstones', `storage answered a tombstones query with ${result.type}`)
    const writes: StorageWrite[] = []
    if (through > s.horizon) {
      writes.push({ type: 'horizon', ts: through })
      s.horizon = through
    }
    for (const key of result.keys) writes.push({ type: 'delete', key })
    const done = (): void => {
      for (const key of result.keys) rememberVersion(s, key, undefined)
      s.collected += result.keys.length
      s.applying = null
      if (result.next === null) {
        s.collecting = false
        s.collectedThrough = through
      } else {
        s.applyQueue.push({ entries: [], collect: { through, after: result.next } })
      }
      pump(s)
    }
    if (writes.length === 0) done()
    else persist(s, writes, done)
  })
}

/** Records stored versions read for `keys` in `known`, and in the version cache. */
function learnVersions (s: NodeState, keys: readonly Key[], versions: ReadonlyArray<Version | undefined>, known: Map<Key, Version | undefined>): Map<Key, Version | undefined> {
  keys.forEach((key, i) => {
    const version = versions[i]
    known.set(key, version)
    rememberVersion(s, key, version)
  })
  return known
}

/**
 * The version cache (SPEC §5.2): the stored version of recently applied or read keys, `null`
 * for a key known absent. Only the apply pipeline changes data, one batch at a time, and it
 * updates the cache when a batch is durable, so the cache never differs from storage.
 */
function rememberVersion (s: NodeState, key: Key, version: Version | undefined): void {
  // Most recently used last: Map iteration order is insertion order.
  s.versions.delete(key)
  s.versions.set(key, version ?? null)
  const max = s.config.versionCacheMax
  if (s.versions.size <= max + Math.ceil(max / 8)) return
  // Evicted an eighth at a time: deleting a Map's oldest entries one call at a time leaves
  // holes that every new iteration from the start walks over again.
  for (const oldest of s.versions.keys()) {
    s.versions.delete(oldest)
    if (s.versions.size <= max) return
  }
}

function writeBatch (s: NodeState, jobs: ApplyJob[], stored: Map<Key, Version | undefined>): void {
  const { config } = s
  const checkVersions = config.mutation !== 'apply-without-version-check'
  const marks = s.marks.clone()
  const current = new Map(stored)
  const data = new Map<Key, DataRecord>()
  const writes: StorageWrite[] = []
  const acks: Array<{ origin: HostId, seq: number }> = []
  const own: LogEntry[] = []
  const others: Array<Extract<LogEntry, { kind: 'commit' }>> = []
  const floors = new Map<HostId, number>()
  let clock = s.clock
  let horizon = s.horizon
  // Full copies' drops of keys they lack, for the version cache once durable.
  const drops: Array<{ readonly through: number, readonly keep: ReadonlySet<Key>, readonly range: KeyRange }> = []
  // Where a staged copy stands once this batch is durable: a page further, or done.
  let copyAfter: Key | null = null
  let copyDone = false
  // The membership this batch puts in force, if it applies a change or a copy of a later one.
  let membership: Membership | null = null
  const epoch = (): number => (membership ?? s.membership).epoch

  // The keys the pages of a copy being applied have gone through already: there, the copy's
  // horizon holds already (SPEC §6.3), as its drops are done.
  const applyingCopy = s.copyApply
  const horizonOf = (key: Key): number => applyingCopy?.after != null && inRange(key, { lte: applyingCopy.after }) ? Math.max(horizon, applyingCopy.horizon) : horizon
  const merge = (key: Key, record: DataRecord): void => {
    const stored = current.get(key)
    // A key known absent may have had a tombstone at or below the horizon, collected since:
    // a record at or below it is older than that tombstone (SPEC §6.5).
    const older = stored === undefined ? current.has(key) && record.version.ts <= horizonOf(key) : !supersedes(record.version, stored)
    if (checkVersions && older) return
    current.set(key, record.version)
    data.set(key, record)
  }

  for (const job of jobs) {
    for (const { entry, source } of job.entries) {
      if (entry.kind === 'commit' && isMembershipOps(entry.ops) && !marks.covers(entry.origin, entry.seq)) {
        const change = changeOf(entry)
        // SPEC §15.3: a change applies in epoch order, once this host has applied what its
        // voters had; one per batch, so the next is checked against this one's marks.
        const next = change.membership.epoch > epoch()
        const ready = membership === null && change.membership.epoch === epoch() + 1 &&
          (change.before === null || s.config.mutation === 'membership-without-catch-up' || change.before.every((before) => coversApplied(marks, before)))
        if (next && !ready) {
          s.parked.push({ entry, source })
          continue
        }
        if (next) {
          membership = change.membership
          writes.push({ type: 'membership', membership })
        }
      }
      // A decision told by its origin is acknowledged, even if it was already applied.
      if (source === 'decision') acks.push({ origin: entry.origin, seq: entry.seq })
      if (marks.covers(entry.origin, entry.seq)) continue
      marks.add(entry.origin, entry.seq)
      writes.push({ type: 'log', entry })
      s.logWeights.add(entry.origin, entry.seq, entryBytes(entry))
      if (source === 'own') own.push(entry)
      if (entry.kind !== 'commit' || isMembershipOps(entry.ops)) continue
      if (source !== 'own') others.push(entry)
      const version = { ts: entry.ts, origin: entry.origin, seq: entry.seq }
      if (entry.ts > clock) clock = entry.ts
      for (const op of entry.ops) merge(op.key, { value: op.type === 'put' ? op.value : null, version })
    }
    if (job.page !== undefined) {
      const copy = s.copyApply
      assert(copy !== null, 'a page applies a copy')
      const { records, range, last } = job.page
      const through = s.config.mutation === 'copy-keeps-absent' ? 0 : copy.horizon
      const keys = records.map(([key]) => key)
      if (through > 0) {
        // SPEC §6.3: a key of the page's range the copy lacks, at or below its horizon, had its
        // tombstone collected by the sender; it goes here too, whether stored or written by
        // an earlier job.
        const keep = new Set(keys)
        const drop = { through, keep, range }
        writes.push({ type: 'drop-absent', ...drop })
        drops.push(drop)
        for (const [key, version] of current) {
          if (version === undefined || version.ts > through || keep.has(key) || !inRange(key, range)) continue
          current.set(key, undefined)
          data.delete(key)
        }
        if (through > clock) clock = through
      }
      for (const [key, record] of records) {
        if (record.version.ts > clock) clock = record.version.ts
        merge(key, record)
      }
      writes.push({ type: 'unstage', keys })
      if (!last) {
        copyAfter = keys[keys.length - 1] as Key
        writes.push({ type: 'copy', progress: { ...copy, after: copyAfter } })
        continue
      }
      copyDone = true
      writes.push({ type: 'copy', progress: null })
      // Raised once the whole copy is in: a key absent here may have been collected only then.
      if (through > horizon) horizon = through
      for (const [origin, to] of Object.entries(copy.marks)) {
        if (to <= marks.contiguous(origin)) continue
        marks.jump(origin, to)
        // This host never saw the entries the copy stands for, so it cannot serve them.
        floors.set(origin, to + 1)
      }
      // The copy reflects every change its sender had applied (SPEC §15.4).
      const copied = copy.membership
      if (copied !== null && copied.epoch > epoch()) {
        membership = copied
        writes.push({ type: 'membership', membership: copied })
      }
    }
  }

  for (const [key, record] of data) writes.push({ type: 'data', key, record })
  const changes = tookEffect(others, data)
  // Written with the commit that makes them true, so no crash can separate the two (SPEC §4.7).
  for (const job of jobs) {
    for (const { writer, counter, seq } of job.writers ?? []) writes.push({ type: 'writer-committed', writer, counter, seq })
  }
  for (const origin of marks.origins()) {
    const contiguous = marks.contiguous(origin)
    if (contiguous !== s.marks.contiguous(origin)) writes.push({ type: 'mark', origin, contiguous })
    // SPEC §6.4: keep the newest `logRetention` entries per origin, and no more than
    // `logRetentionBytes` of them.
    const floor = floors.get(origin) ?? s.floors.get(origin) ?? 1
    const cut = Math.max(contiguous - config.logRetention + 1, s.logWeights.cut(origin, floor, contiguous, config.logRetentionBytes))
    if (cut > floor) {
      writes.push({ type: 'truncate-log', origin, before: cut })
      floors.set(origin, cut)
      s.logWeights.truncate(origin, cut)
    } else if (floors.has(origin)) {
      writes.push({ type: 'truncate-log', origin, before: floor })
      s.logWeights.truncate(origin, floor)
    }
  }
  for (const [origin, floor] of floors) writes.push({ type: 'floor', origin, floor })

  const resolved: PreparedTxn[] = []
  for (const txn of s.prepared.values()) {
    if (!marks.covers(txn.origin, txn.seq)) continue
    resolved.push(txn)
    writes.push({ type: 'unprepare', origin: txn.origin, seq: txn.seq })
  }
  // Clock writes grow in issue order, so whatever prefix of batches is on disk holds the
  // highest clock among them (prepare batches write it too, SPEC §3).
  const writesClock = clock > s.clockIssued
  if (writesClock) {
    writes.push({ type: 'clock', ts: clock })
    s.clockIssued = clock
  }
  if (horizon > s.horizon) {
    writes.push({ type: 'horizon', ts: horizon })
    s.horizon = horizon
  }

  s.writingMarks = marks
  if (membership !== null) s.writingMembership = membership
  persist(s, writes, () => {
    s.writingMarks = null
    s.writingMembership = null
    s.marks = marks
    if (writesClock && clock > s.clockDurable) s.clockDurable = clock
    for (const { through, keep, range } of drops) {
      for (const [key, version] of s.versions) {
        if (version !== null && version.ts <= through && !keep.has(key) && inRange(key, range)) s.versions.set(key, null)
      }
    }
    if (copyDone) s.copyApply = null
    else if (copyAfter !== null && s.copyApply !== null) {
      s.copyApply = { ...s.copyApply, after: copyAfter }
      s.applyQueue.push({ entries: [], copyStep: true })
    }
    for (const [key, record] of data) rememberVersion(s, key, record.version)
    for (const [origin, floor] of floors) s.floors.set(origin, floor)
    if (clock > s.clock) s.clock = clock
    for (const txn of resolved) {
      const key = txnKey(txn.origin, txn.seq)
      if (s.prepared.get(key) === txn) s.prepared.delete(key)
      if (txn.locked) s.locks.release(key, txn.keys)
    }
    for (const { origin, seq } of acks) send(s, origin, { type: 'ack', seq })
    if (changes.length > 0) s.out.push({ type: 'applied', changes })
    s.applying = null
    // One follow-up per peer, however many of its replies (or duplicates) this batch held:
    // otherwise every duplicated reply would start one more request chain, for good.
    const syncAfter = new Set<HostId>()
    for (const job of jobs) if (job.syncAfter !== undefined) syncAfter.add(job.syncAfter)
    s.afterApply(own, syncAfter, membership)
    unpark(s)
    pump(s)
  })
}

/** The change a membership transaction's entry carries. */
export function changeOf (entry: Extract<LogEntry, { kind: 'commit' }>): DecodedChange {
  const op = entry.ops[0]
  assert(op !== undefined && op.type === 'put', 'a membership change puts its value')
  return decodeChange(op.value)
}

/** Parked changes that may apply now go back in the queue; those a full copy covered are dropped. */
function unpark (s: NodeState): void {
  if (s.parked.length === 0) return
  const parked = s.parked.splice(0)
  const ready: typeof parked = []
  for (const item of parked) {
    if (s.marks.covers(item.entry.origin, item.entry.seq) || changeOf(item.entry).membership.epoch <= s.membership.epoch) continue
    if (ready.length === 0 && isReady(s, item.entry)) ready.push(item)
    else s.parked.push(item)
  }
  if (ready.length > 0) enqueueApply(s, { entries: ready })
}

function isReady (s: NodeState, entry: Extract<LogEntry, { kind: 'commit' }>): boolean {
  const change = changeOf(entry)
  return change.membership.epoch === s.membership.epoch + 1 &&
    (change.before === null || s.config.mutation === 'membership-without-catch-up' || change.before.every((before) => coversApplied(s.marks, before)))
}

/** Of each commit, the operations whose records this batch writes: the ones that took effect. */
function tookEffect (commits: ReadonlyArray<Extract<LogEntry, { kind: 'commit' }>>, data: ReadonlyMap<Key, DataRecord>): Change[] {
  const changes: Change[] = []
  for (const { origin, seq, ops } of commits) {
    const effective = ops.filter((op) => {
      const version = data.get(op.key)?.version
      return version !== undefined && version.origin === origin && version.seq === seq
    })
    if (effective.length > 0) changes.push({ origin, seq, ops: effective })
  }
  return changes
}
