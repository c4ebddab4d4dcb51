import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { QuorumLevel, type QuorumLevelOptions } from '../../src/index.js'
import { tempDir } from '../helpers/hosts.js'

/** How long a test waits for any one thing (an open, a write, a failover) before it fails. */
export const WAIT_MS = 15_000

/** What an operation reported: its value, or the code of its error. */
export type Outcome<T> = { ok: true, value: T } | { ok: false, code: string | undefined, message: string }

/** The QuorumLevel instances of one test, all in this process, all closed when it ends. */
export interface Instances {
  /** A fresh directory: the default location of `make`. */
  readonly location: string
  /**
   * A new instance. As any abstract-level database it starts opening by itself, so a test
   * that does not await its open sees it racing for leadership.
   */
  make: <K = string, V = string>(options?: QuorumLevelOptions<K, V>, location?: string) => QuorumLevel<K, V>
  /** Another fresh directory, removed when the test ends. */
  directory: () => Promise<string>
  /**
   * Ends something else the test started (a process, say) when the test ends: before the
   * instances are closed and the directories removed, so that nothing still uses them.
   */
  track: (end: () => Promise<void>) => void
}

/**
 * Instances for test `t`. When it ends, passed or failed, whatever was tracked is ended,
 * every instance is closed (a close that does not settle fails the test) and every directory
 * is removed. It is all one hook, so that one failing step cannot skip the others.
 */
export async function instances (t: TestContext): Promise<Instances> {
  const made: Array<{ close: () => Promise<void> }> = []
  const ends: Array<() => Promise<void>> = []
  const roots: string[] = []
  const directory = async (): Promise<string> => {
    const root = await tempDir()
    roots.push(root)
    return join(root, 'db')
  }
  const location = await directory()
  t.after(async () => {
    try {
      await Promise.allSettled(ends.map((end) => end()))
      await within(Promise.allSettled(made.map((db) => db.close())), WAIT_MS, 'closing the test\'s instances')
    } finally {
      await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true, maxRetries: 5 })))
    }
  })
  return {
    location,
    directory,
    track: (end) => { ends.push(end) },
    make: <K = string, V = string>(options: QuorumLevelOptions<K, V> = {}, where = location): QuorumLevel<K, V> => {
      const db = new QuorumLevel<K, V>(where, options)
      made.push(db)
      return db
    }
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: not settled within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** What `promise` reported, as a value: an operation's failure is an outcome, not a throw. */
export async function settle<T> (promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await promise }
  } catch (error) {
    const { code, message } = error as { code?: string, message?: string }
    return { ok: false, code, message: message ?? String(error) }
  }
}

/** Resolves when `db` becomes its host's leader; rejects after `ms`. */
export function leads (db: NodeJS.EventEmitter, ms = WAIT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const onLeader = (): void => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      db.off('leader', onLeader)
      reject(new Error(`no leader event within ${ms} ms`))
    }, ms)
    db.once('leader', onLeader)
  })
}

/** A write and what it reported. */
export interface Write<V> {
  readonly key: string
  readonly value: V
  readonly outcome: Outcome<unknown>
}

/**
 * A write's reported outcome must be the truth: a write that succeeded is in the database,
 * a write that failed failed with a `LEVEL_*` code and left nothing. `reader` is an open
 * instance that did not make the writes; every untrue outcome is listed in the failure.
 */
export async function assertOutcomesAreTrue<V> (reader: QuorumLevel<string, V>, writes: Array<Write<V>>): Promise<void> {
  const untrue: string[] = []
  for (const { key, value, outcome } of writes) {
    const stored = await within(settle(reader.get(key)), WAIT_MS, `reading ${key}`)
    if (outcome.ok) {
      if (!stored.ok) untrue.push(`${key}: reported written, but reads ${stored.code ?? stored.message}`)
      else assert.deepEqual(stored.value, value, `${key} holds what was written`)
    } else if (!/^LEVEL_/.test(outcome.code ?? '')) {
      untrue.push(`${key}: failed without a LEVEL_* code: ${outcome.message}`)
    } else if (stored.ok || stored.code !== 'LEVEL_NOT_FOUND') {
      untrue.push(`${key}: reported ${outcome.code ?? ''} (${outcome.message}), but reads ${stored.ok ? 'as written' : stored.code ?? stored.message}`)
    }
  }
  assert.deepEqual(untrue, [], `${untrue.length} of ${writes.length} outcomes are untrue`)
}
