/**
 * A benchmark process's side of the IPC protocol (protocol.ts): the workloads it times and
 * the probes the driver asks for. Keys are `<prefix><8 digits>`; puts write one random value
 * (stamped with the wall clock, to time a change feed's delivery); gets read the keys back,
 * round robin.
 */
import { createHash, randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import type { Change } from '../src/index.js'
import type { HostCommand, HostReply } from './protocol.js'

type PutOperation = { type: 'put', key: string, value: Buffer }
type Range = { gte: string, lt: string }
type FeedStream = AsyncIterable<Change<string, Buffer>> & { destroy: (error?: Error) => unknown }

/** The calls a workload makes: any abstract-level database with string keys and buffer values. */
export interface BenchDatabase {
  put: (key: string, value: Buffer) => Promise<void>
  get: (key: string, options?: { consistency: 'strong' }) => Promise<unknown>
  batch: (operations: PutOperation[]) => Promise<void>
  keys: (options: Range) => AsyncIterable<string>
  iterator: (options?: Range & { consistency?: 'strong' }) => AsyncIterable<[string, Buffer]>
  /** A QuorumLevel's change feed: the other databases have none. */
  changes?: (options: Range & { since: string }) => FeedStream
  lastPosition?: () => Promise<string>
}

const COPY_BATCH = 1_000
const POLL_MS = 2

export function send (reply: HostReply): void {
  process.send?.(reply)
}

function keyOf (prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(8, '0')}`
}

/** Prefixes are ASCII: U+FFFF sorts after every key that starts with one. */
function rangeOf (prefix: string): Range {
  return { gte: prefix, lt: prefix + '\uffff' }
}

/**
 * Milliseconds since the epoch, to the microsecond: the processes of one machine agree on it
 * (Date.now() would cost a millisecond of precision, more than a feed takes on one host).
 */
function wallClock (): number {
  return performance.timeOrigin + performance.now()
}

/** The first 8 bytes of a stamped value: when it was written. */
function withStamp (value: Buffer): Buffer {
  const copy = Buffer.from(value)
  copy.writeDoubleLE(wallClock(), 0)
  return copy
}

async function run (db: BenchDatabase, command: Extract<HostCommand, { type: 'run' }>): Promise<number[]> {
  const { op, count, inFlight, valueBytes, prefix } = command
  const batchSize = op === 'batch' ? command.batchSize ?? 1 : 1
  const latencies: number[] = []
  const random = randomBytes(valueBytes)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const first = next
      next = Math.min(count, next + batchSize)
      const value = command.stamp === true ? withStamp(random) : random
      const started = performance.now()
      if (op === 'put') await db.put(keyOf(prefix, first), value)
      else if (op === 'get') await db.get(keyOf(prefix, first), command.strong === true ? { consistency: 'strong' } : undefined)
      else await db.batch(Array.from({ length: next - first }, (_, i) => ({ type: 'put', key: keyOf(prefix, first + i), value })))
      latencies.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return latencies
}

async function awaitKey (db: BenchDatabase, key: string, ms: number): Promise<void> {
  const deadline = performance.now() + ms
  while (true) {
    try {
      await db.get(key)
      return
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'LEVEL_NOT_FOUND') throw error
    }
    if (performance.now() > deadline) throw new Error(`${key} not readable within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

async function count (db: BenchDatabase, prefix: string): Promise<number> {
  let keys = 0
  const iterator = db.keys(rangeOf(prefix))[Symbol.asyncIterator]()
  while ((await iterator.next()).done !== true) keys++
  return keys
}

/** What a plain read costs: an iterator over the keys and values under `prefix`. */
async function scan (db: BenchDatabase, prefix: string, strong: boolean): Promise<{ ms: number, entries: number }> {
  const started = performance.now()
  let entries = 0
  const iterator = db.iterator(strong ? { ...rangeOf(prefix), consistency: 'strong' } : rangeOf(prefix))[Symbol.asyncIterator]()
  while ((await iterator.next()).done !== true) entries++
  return { ms: performance.now() - started, entries }
}

/** A SHA-256 of every key and value under `prefix`, in key order: two hosts hold the same bytes when theirs match. */
async function digest (db: BenchDatabase, prefix: string): Promise<{ entries: number, sha256: string }> {
  const hash = createHash('sha256')
  let entries = 0
  for await (const [key, value] of db.iterator(rangeOf(prefix))) {
    // Lengths first: no two different entries hash alike by where one ends and the next begins.
    hash.update(`${Buffer.byteLength(key)}:${key}${value.length}:`)
    hash.update(value)
    entries++
  }
  return { entries, sha256: hash.digest('hex') }
}

async function position (db: BenchDatabase): Promise<string> {
  if (db.lastPosition === undefined) throw new Error('this process has no change feed')
  return await db.lastPosition()
}

/** Reads the changes `command` asks for; calls `following` once the feed is made. */
async function follow (db: BenchDatabase, command: Extract<HostCommand, { type: 'follow' }>, following: () => void): Promise<{ ms: number, delays: number[] }> {
  const { prefix, count, stamped, ms } = command
  if (db.changes === undefined || count < 1) throw new Error('this process has no change feed, or nothing to follow')
  const since = command.since ?? await position(db)
  const started = performance.now()
  const feed = db.changes({ since, ...rangeOf(prefix) })
  // The stream's own error ends the loop below: a feed that stalls fails instead of hanging.
  const timer = setTimeout(() => feed.destroy(new Error(`fewer than ${count} changes within ${ms} ms`)), ms)
  following()
  const delays: number[] = []
  let received = 0
  try {
    for await (const change of feed) {
      if (stamped && change.type === 'put') delays.push(wallClock() - change.value.readDoubleLE(0))
      if (++received === count) break
    }
  } finally {
    clearTimeout(timer)
  }
  if (received < count) throw new Error(`the feed ended after ${received} of ${count} changes`)
  return { ms: performance.now() - started, delays }
}

/** What a plain copy costs: an iterator over `db` into batches of a fresh database. */
async function copy (db: BenchDatabase, location: string): Promise<{ ms: number, entries: number }> {
  const target = new ClassicLevel<string, Buffer>(location, { valueEncoding: 'buffer' })
  await target.open()
  const started = performance.now()
  let entries = 0
  let batch = target.batch()
  for await (const [key, value] of db.iterator()) {
    batch.put(key, value)
    entries++
    if (batch.length >= COPY_BATCH) {
      await batch.write()
      batch = target.batch()
    }
  }
  await batch.write()
  const ms = performance.now() - started
  await target.close()
  return { ms, entries }
}

/**
 * Answers the driver's commands with `db`, made at `createdAt` (performance.now()); `close`
 * ends the process once `close()` is done.
 */
/** The highest heap in use seen so far, sampled: Node keeps no peak of its own. */
const heapPeak = { bytes: 0 }
const HEAP_SAMPLE_MS = 50

export function serve (db: BenchDatabase, createdAt: number, close: () => Promise<void>): void {
  setInterval(() => { heapPeak.bytes = Math.max(heapPeak.bytes, process.memoryUsage().heapUsed) }, HEAP_SAMPLE_MS).unref()
  const answer = (work: Promise<HostReply>): void => {
    work.then(send, (error: unknown) => { send({ type: 'failed', message: String(error) }) })
  }
  process.on('message', (command: HostCommand) => {
    switch (command.type) {
      case 'run':
        answer(run(db, command).then((latencies) => ({ type: 'ran', latencies })))
        break
      case 'await-key':
        answer(awaitKey(db, command.key, command.ms).then(() => ({ type: 'found', ms: performance.now() - createdAt })))
        break
      case 'count':
        answer(count(db, command.prefix).then((keys) => ({ type: 'counted', keys })))
        break
      case 'copy':
        answer(copy(db, command.location).then((copied) => ({ type: 'copied', ...copied })))
        break
      case 'scan':
        answer(scan(db, command.prefix, command.strong === true).then((scanned) => ({ type: 'scanned', ...scanned })))
        break
      case 'position':
        answer(position(db).then((at) => ({ type: 'position', position: at })))
        break
      case 'follow':
        answer(follow(db, command, () => { send({ type: 'following' }) }).then((followed) => ({ type: 'followed', ...followed })))
        break
      case 'digest':
        answer(digest(db, command.prefix).then((digested) => ({ type: 'digested', ...digested })))
        break
      case 'usage': {
        const usage = process.resourceUsage()
        send({ type: 'usage', cpuMicros: usage.userCPUTime + usage.systemCPUTime, maxRssBytes: usage.maxRSS * 1024, peakHeapBytes: heapPeak.bytes })
        break
      }
      case 'close':
        close().then(() => process.exit(0), () => process.exit(1))
        break
    }
  })
}
