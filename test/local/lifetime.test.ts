/**
 * Goal: a program using QuorumLevel lives exactly as long as it has work, as with any Node
 * I/O: pending work (an open, a write, a read, an iterator) keeps the process alive, an idle
 * database does not, and no process exits with an operation pending. Method: whole programs
 * (fixtures/program.ts) spawned on one temporary directory, many at once as rave-level's
 * multi-process test does; we check their exit codes, what each reported before exiting, and
 * the database a fresh instance reads afterwards.
 *
 * What a demanding user expects, and these tests hold QuorumLevel to: a program that writes
 * and never closes exits 0 once its write settled, as rave-level's children do (README
 * "Limits": without peers nothing holds the process open, a pending write always does), and
 * so does one that only opens, or only reads; the same program ending with `await db.close()`
 * exits 0 too; a program whose open or operation waits for another process to let go of the
 * lock stays alive, however long that takes within lockWait, and must never end with exit
 * code 13 ("unsettled top-level await") or with the operation silently dropped. An idle
 * leader exits even while other processes are its guests: they fail over (SPEC §12.1).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { type TestContext, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import type { QuorumLevel } from '../../src/index.js'
import type { ProgramEvent, ProgramOperation } from './fixtures/program.js'
import { WAIT_MS, instances, within } from './instances.js'

const SCRIPT = fileURLToPath(new URL('./fixtures/program.js', import.meta.url))
/** Long enough for a waiting program to retry for the lock many times (every 50 ms, SPEC §12.1). */
const ALIVE_WINDOW_MS = 600
const PROGRAMS = 10

interface Exit { code: number | null, signal: NodeJS.Signals | null }

/** One spawned program, its events as they arrive, and its exit. */
class Program {
  readonly events: ProgramEvent[] = []
  readonly #child: ChildProcess
  readonly #exit: Promise<Exit>
  readonly #waiters = new Set<() => void>()
  #stderr = ''

  constructor (args: string[]) {
    this.#child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => { this.#stderr += text })
    const lines = createInterface({ input: this.#child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => {
      this.events.push(JSON.parse(line) as ProgramEvent)
      for (const wake of this.#waiters) wake()
    })
    // Resolved only once stdout is drained too: the exit line is in `events` by then.
    this.#exit = new Promise((resolve) => this.#child.once('close', (code, signal) => { resolve({ code, signal }) }))
  }

  /** How it ended, or null if it is still running after `ms`. */
  async exit (ms: number): Promise<Exit | null> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<null>((resolve) => { timer = setTimeout(resolve, ms, null) })
    try {
      return await Promise.race([this.#exit, late])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Resolves on the first event named `name`; rejects after `ms`. */
  async waitFor (name: ProgramEvent['event'], ms = WAIT_MS): Promise<ProgramEvent> {
    const found = (): ProgramEvent | undefined => this.events.find((event) => event.event === name)
    let wake = (): void => {}
    const arrived = new Promise<ProgramEvent>((resolve) => {
      wake = () => {
        const event = found()
        if (event !== undefined) resolve(event)
      }
    })
    this.#waiters.add(wake)
    try {
      wake()
      return await within(arrived, ms, `program ${this.#child.pid ?? '?'}: a ${name} event (got ${this.describe()})`)
    } finally {
      this.#waiters.delete(wake)
    }
  }

  kill (): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
  }

  /** Its events and what it printed on stderr, for failure messages. */
  describe (): string {
    const events = this.events.map((event) => JSON.stringify(event)).join(' ') || 'no events'
    const stderr = this.#stderr.trim()
    return stderr === '' ? events : `${events}; stderr: ${stderr.split('\n').slice(0, 3).join(' | ')}`
  }
}

/** Programs of one test on a fresh directory, all killed when it ends. */
async function programs (t: TestContext): Promise<{ location: string, start: (args: string[]) => Program, reader: () => QuorumLevel, track: (end: () => Promise<void>) => void }> {
  const dbs = await instances(t)
  const started: Program[] = []
  dbs.track(async () => {
    for (const program of started) program.kill()
    await Promise.all(started.map((program) => program.exit(WAIT_MS)))
  })
  return {
    location: dbs.location,
    start: (args) => {
      const program = new Program(args)
      started.push(program)
      return program
    },
    reader: () => dbs.make(),
    track: dbs.track
  }
}

/** Asserts that `program` ended on its own with code 0, its operation settled as `settled` says. */
async function assertCleanExit (program: Program, settled: (event: ProgramEvent) => void): Promise<void> {
  const exit = await program.exit(WAIT_MS)
  assert.notEqual(exit, null, `it ends by itself once idle (${program.describe()})`)
  const exited = program.events.find((event) => event.event === 'exit')
  const pending = exited?.event === 'exit' ? exited.pending : 'unknown'
  const actual = { ...exit, pending }
  assert.deepEqual(actual, { code: 0, signal: null, pending: 0 }, `it ended with ${JSON.stringify(actual)}, not code 0 with nothing pending (${program.describe()})`)
  const result = program.events.find((event) => event.event === 'settled')
  assert.ok(result !== undefined, `its operation settled before it exited (${program.describe()})`)
  settled(result)
}

const wrote = (event: ProgramEvent): void => { assert.deepEqual(event, { event: 'settled', ok: true }) }

/** What each operation settles with on an empty database. */
const expected: Record<ProgramOperation, (event: ProgramEvent) => void> = {
  open: (event) => { assert.deepEqual(event, { event: 'settled', ok: true }) },
  put: wrote,
  get: (event) => { assert.equal(event.event === 'settled' && !event.ok ? event.code : event, 'LEVEL_NOT_FOUND') },
  keys: (event) => { assert.deepEqual(event, { event: 'settled', ok: true, result: [] }) },
  iterate: (event) => { assert.deepEqual(event, { event: 'settled', ok: true }) }
}

/** How tests name each operation. */
const named: Record<ProgramOperation, string> = { open: 'open()', put: 'put()', get: 'get()', keys: 'keys().all()', iterate: 'iterator.next()' }

for (const operation of ['open', 'put', 'get', 'keys', 'iterate'] as const) {
  test(`a program that only awaits ${named[operation]}, leaving the database open, exits 0 by itself once idle`, { timeout: 30_000 }, async (t) => {
    const { location, start } = await programs(t)
    await assertCleanExit(start([location, operation, 'leave', 'k', 'v']), expected[operation])
  })
}

test('a program that writes and closes its database exits 0 by itself', { timeout: 30_000 }, async (t) => {
  const { location, start, reader } = await programs(t)
  const program = start([location, 'put', 'close', 'k', 'v'])
  await assertCleanExit(program, wrote)
  assert.ok(program.events.some((event) => event.event === 'closed'))
  assert.equal(await within(reader().get('k'), WAIT_MS, 'reading back'), 'v')
})

for (const ending of ['close', 'leave'] as const) {
  const how = ending === 'close' ? 'closes its database' : 'leaves its database open'
  test(`${PROGRAMS} programs started at once, each writes one key and ${how}: all exit 0, all keys are there`, { timeout: 60_000 }, async (t) => {
    const { location, start, reader } = await programs(t)
    const entries = Array.from({ length: PROGRAMS }, (_, i): [string, string] => [String(i).padStart(5, '0'), String(Math.random())])
    const started = entries.map(([key, value]) => start([location, 'put', ending, key, value]))
    const failures: string[] = []
    for (const [i, program] of started.entries()) {
      await assertCleanExit(program, wrote).catch((error: Error) => { failures.push(`program ${i}: ${error.message.split('\n')[0] ?? ''}`) })
    }
    assert.deepEqual(failures, [])
    assert.equal(started.filter((program) => program.events.some((event) => event.event === 'leader')).length >= 1, true, 'someone led')
    assert.deepEqual(await within(reader().iterator().all(), WAIT_MS, 'reading back'), entries)
  })
}

for (const operation of ['open', 'put', 'get', 'keys', 'iterate'] as const) {
  test(`a pending ${named[operation]} keeps its program alive while another process holds the lock; it exits 0 once done`, { timeout: 30_000 }, async (t) => {
    const { location, start, track } = await programs(t)
    const holder = new ClassicLevel(location)
    await within(holder.open(), WAIT_MS, 'taking the lock')
    track(() => holder.close())
    const program = start([location, operation, 'leave', 'k', 'v', '60000'])
    await program.waitFor('started')
    // Nothing to wait for here but time: the program must not end while its work waits.
    const early = await program.exit(ALIVE_WINDOW_MS)
    assert.equal(early, null, `it stays alive while its ${operation} waits (it ended with ${JSON.stringify(early)}: ${program.describe()})`)
    await within(holder.close(), WAIT_MS, 'letting go of the lock')
    await assertCleanExit(program, expected[operation])
  })
}
