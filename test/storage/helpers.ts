/**
 * Shared by the storage tests: a real classic-level database in a temporary directory that
 * is removed after the test, the raw writer the tests inject, and a normalizer that makes
 * results comparable whatever byte array type (Buffer or Uint8Array) carried them.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { ClassicLevel } from 'classic-level'
import type { RawBatch } from '../../src/storage/store.js'

/** The database type the tests use: classic-level with its default (utf8) encodings. */
export type TestDb = ClassicLevel<string, string>

/**
 * A classic-level database in a fresh temporary directory. One `after` hook closes whichever
 * db is current and only then removes the directory, so the order of the two is fixed.
 */
export class TempDb {
  readonly location: string
  #db: TestDb

  private constructor (location: string, db: TestDb) {
    this.location = location
    this.#db = db
  }

  static async open (t: TestContext): Promise<TempDb> {
    const location = await mkdtemp(join(tmpdir(), 'quorum-level-storage-'))
    const db = new ClassicLevel(location)
    const temp = new TempDb(location, db)
    t.after(async () => {
      await temp.#db.close()
      await rm(location, { recursive: true, force: true })
    })
    await db.open()
    return temp
  }

  /** The current database handle. */
  get db (): TestDb {
    return this.#db
  }

  /** Closes the database and opens the same directory again, as a restarted process would. */
  async reopen (): Promise<TestDb> {
    await this.#db.close()
    this.#db = new ClassicLevel(this.location)
    await this.#db.open()
    return this.#db
  }
}

/** The raw writer of the tests: the db is not wrapped by a Replicator, so its own batch is raw. */
export function rawBatch (db: TestDb): RawBatch {
  return async (ops, { sync }) => {
    await db.batch<Uint8Array, Uint8Array>(
      ops.map((op) => op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : { type: 'del', key: op.key }),
      { keyEncoding: 'view', valueEncoding: 'view', sync }
    )
  }
}

/**
 * A deep copy with every byte array as a plain Uint8Array, so deepStrictEqual compares
 * bytes and not whether msgpackr or classic-level returned a Buffer. Own keys such as
 * `__proto__` stay own keys.
 */
export function normalize (value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (Array.isArray(value)) return value.map(normalize)
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalize(item)]))
  }
  return value
}

/** Bytes of a latin1 core key, as the tests' expectations write them. */
export function latin1 (key: string): Uint8Array {
  return Uint8Array.from(key, (char) => char.charCodeAt(0))
}
