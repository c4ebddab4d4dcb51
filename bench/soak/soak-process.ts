/**
 * One process of the soak: a QuorumLevel on its host's directory that, once told, offers a
 * fixed load (puts, deletes, gets and short iterators on a bounded key space, and optionally
 * a change feed consumer), reports every failure as it happens, and measures itself when the
 * driver asks. Its setup is one JSON argument (SoakProcessSetup); the driver talks to it over IPC.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { QuorumLevel } from '../../src/index.js'
import type { FailedOp, SoakCommand, SoakCounts, SoakProcessSetup, SoakReply } from './protocol.js'

/** How often the load is offered: each tick sends what the rates owe since the last. */
const TICK_MS = 50
/** How long a failed feed waits before it resumes from its last position. */
const FEED_RETRY_MS = 1_000

const setup = JSON.parse(process.argv[2] as string) as SoakProcessSetup
const { load } = setup
const counts: SoakCounts = { writes: 0, reads: 0, scans: 0, changes: 0, shed: 0, failed: 0 }
let inFlight = 0
let position: string | null = null
let closing = false
const settled = new Set<() => void>()

const send = (reply: SoakReply): void => { process.send?.(reply) }
/** V8's full collection, there when the driver starts this process with --expose-gc. */
const collectGarbage = (globalThis as { gc?: () => void }).gc
// The driver is why this process lives: if it goes, even by SIGKILL, this process goes too.
process.on('disconnect', () => { process.exit(0) })
// Ctrl-C in a terminal reaches every process of the group: the driver alone decides, and
// closes this one when it stops (a fault to the soak would be a SIGKILL, never a SIGINT).
process.on('SIGINT', () => {})

const db = new QuorumLevel<string, Buffer>(setup.location, { valueEncoding: 'buffer', ...setup.options })

function fail (op: FailedOp, error: unknown): void {
  counts.failed++
  const { code, message } = error as { code?: unknown, message?: unknown }
  send({ type: 'failure', op, code: typeof code === 'string' ? code : 'none', message: String(message), at: Date.now() })
}

function randomKey (): string {
  return `k${String(randomInt(load.keys)).padStart(5, '0')}`
}

/** Runs `operation` unless too many are in flight; counts its outcome under `kind`. */
function offer (kind: 'writes' | 'reads' | 'scans', op: FailedOp, operation: () => Promise<unknown>): void {
  if (inFlight >= load.inFlightMax) {
    counts.shed++
    return
  }
  inFlight++
  operation().then(() => { counts[kind]++ }, (error: unknown) => { fail(op, error) }).finally(() => {
    inFlight--
    for (const wake of settled) wake()
  }).catch(() => {})
}

async function write (): Promise<void> {
  const key = randomKey()
  if (Math.random() < load.deleteShare) await db.del(key)
  else await db.put(key, randomBytes(randomInt(load.valueBytesMin, load.valueBytesMax + 1)))
}

async function read (): Promise<void> {
  try {
    await db.get(randomKey())
  } catch (error) {
    // A key deleted, or never written yet, is an answer like any other.
    if ((error as { code?: unknown }).code !== 'LEVEL_NOT_FOUND') throw error
  }
}

async function scan (): Promise<void> {
  await db.iterator({ gte: randomKey(), limit: load.scanEntries }).all()
}

/** Owed operations per kind: rates are per second, ticks are not exact. */
const owed = { writes: 0, reads: 0, scans: 0 }
let lastTick = performance.now()
function tick (): void {
  const now = performance.now()
  const seconds = (now - lastTick) / 1000
  lastTick = now
  owed.writes += load.writesPerSec * seconds
  owed.reads += load.readsPerSec * seconds
  owed.scans += load.scansPerSec * seconds
  for (; owed.writes >= 1; owed.writes--) offer('writes', 'write', write)
  for (; owed.reads >= 1; owed.reads--) offer('reads', 'read', read)
  for (; owed.scans >= 1; owed.scans--) offer('scans', 'scan', scan)
}

/**
 * Follows the feed from `since` until the database closes. After a failure it resumes from
 * the last change it saw, as a consumer that saved its position would; one too old to resume
 * from starts again from the host's last change, as README says a consumer should (after
 * reading the data again, which counting needs not).
 */
async function follow (since: string): Promise<void> {
  let from = since === 'now' ? await db.lastPosition() : since
  position = from
  // The feed ends when the database closes; a failure before that resumes it.
  for (;;) {
    try {
      for await (const change of db.changes({ since: from })) {
        counts.changes++
        from = change.position
        position = from
      }
      return
    } catch (error) {
      if (closing) return
      fail('feed', error)
      await new Promise((resolve) => setTimeout(resolve, FEED_RETRY_MS))
      if ((error as { code?: unknown }).code === 'LEVEL_FEED_COMPACTED') from = await db.lastPosition()
    }
  }
}

function openDescriptors (): number | null {
  try {
    // Counts the descriptor readdirSync opens to read the list, too: the same one in every sample.
    return readdirSync('/proc/self/fd').length
  } catch {
    return null
  }
}

let loading: ReturnType<typeof setInterval> | null = null

function stopLoad (): void {
  if (loading !== null) clearInterval(loading)
  loading = null
}

async function preload (writes: number, concurrency: number): Promise<number> {
  let next = 0
  let failed = 0
  const worker = async (): Promise<void> => {
    // Each worker claims a write before it awaits, so that exactly `writes` are made.
    while (next < writes) {
      next++
      await write().catch(() => { failed++ })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return failed
}

function startLoad (): void {
  if (loading !== null) return
  lastTick = performance.now()
  loading = setInterval(() => { tick() }, TICK_MS)
  if (setup.follow !== null) follow(setup.follow).catch((error: unknown) => { fail('feed', error) })
}

async function drain (ms: number): Promise<void> {
  stopLoad()
  const deadline = performance.now() + ms
  // Each settled operation wakes this to look again.
  for (;;) {
    if (inFlight === 0 || performance.now() >= deadline) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(wake, Math.max(0, deadline - performance.now()))
      function wake (): void {
        clearTimeout(timer)
        settled.delete(wake)
        resolve()
      }
      settled.add(wake)
    })
  }
}

process.on('message', (command: SoakCommand) => {
  switch (command.type) {
    case 'sample': {
      // After a full collection the heap in use is what is still referenced: a leak shows
      // as it is, not hidden in the sawtooth of garbage the collector has not reached yet.
      collectGarbage?.()
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
      send({ type: 'sample', memory: { rss, heapUsed, heapTotal, external, arrayBuffers }, fds: openDescriptors(), leader: db.isLeader, counts, position })
      break
    }
    case 'preload':
      preload(command.writes, command.inFlight).then((failed) => { send({ type: 'preloaded', failed }) }, () => {})
      break
    case 'load':
      startLoad()
      break
    case 'role':
      send({ type: 'role', leader: db.isLeader })
      break
    case 'drain':
      drain(command.ms).then(() => { send({ type: 'drained', counts, inFlight }) }, () => {})
      break
    case 'close':
      closing = true
      stopLoad()
      db.close().then(() => { process.exit(0) }, () => { process.exit(1) })
      break
  }
})

db.cluster.on('error', (error: unknown) => { fail('cluster', error) })
db.open().then(() => {
  send({ type: 'ready', leader: db.isLeader })
}, (error: unknown) => {
  send({ type: 'open-failed', message: String(error) })
  process.disconnect()
})
