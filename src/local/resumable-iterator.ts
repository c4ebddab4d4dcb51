import { AbstractIterator, type AbstractLevel } from 'abstract-level'
import { BYTES, type Route } from './route.js'
import type { Session } from './session.js'

/** The range and direction of an iterator, as abstract-level hands them over: encoded. */
export interface IteratorRange {
  gt?: Buffer
  gte?: Buffer
  lt?: Buffer
  lte?: Buffer
  reverse?: boolean
}

type Entry = [key: Buffer | undefined, value: Buffer | undefined]
/** The database an iterator belongs to, as abstract-level's iterator sees it: bytes in, bytes out. */
export type IteratorOwner = AbstractLevel<Buffer, Buffer, Buffer>
type Inner = AbstractIterator<IteratorOwner, Buffer, Buffer>
type NextvCallback = (error: Error | null | undefined, entries?: Entry[]) => void

/**
 * An iterator that outlives its route (SPEC §12.6). It reads from an iterator on the current
 * route; when the route is lost, it opens one on the next route that starts strictly after
 * the last key it yielded (or at the target of a seek not yet read from), so every key is
 * yielded once, in order, forward and reverse. No snapshot survives a change of route.
 */
export class ResumableIterator extends AbstractIterator<IteratorOwner, Buffer, Buffer> {
  readonly #session: Session
  readonly #range: IteratorRange
  readonly #keys: boolean
  readonly #values: boolean
  #inner: { route: Route, iterator: Inner } | null = null
  /** The last key yielded since the last seek. */
  #last: Buffer | null = null
  /** A seek's target, until a key is read from it. */
  #seek: Buffer | null = null
  /** A strong iterator's fence (SPEC §14.1), until it holds: nothing is read before. */
  #fence: IteratorRange | null

  constructor (db: IteratorOwner, session: Session, options: IteratorRange & { keys?: boolean, values?: boolean, limit?: number }, strong = false) {
    super(db, options as ConstructorParameters<typeof AbstractIterator<IteratorOwner, Buffer, Buffer>>[1])
    this.#session = session
    this.#fence = strong ? defined(options) : null
    this.#range = { gt: options.gt, gte: options.gte, lt: options.lt, lte: options.lte, reverse: options.reverse === true }
    this.#keys = options.keys !== false
    this.#values = options.values !== false
  }

  _next (callback: (error?: Error | null, key?: Buffer, value?: Buffer) => void): void {
    this._nextv(1, {}, (error, entries) => {
      const entry = entries?.[0]
      if (error != null || entry === undefined) callback(error)
      else callback(null, entry[0], entry[1])
    })
  }

  _nextv (size: number, options: object, callback: NextvCallback): void {
    const fence = this.#fence
    if (fence !== null) {
      // On whichever route is current: every process of the host reads the same replica.
      this.#session.run<void>((route, done) => { route.fence(fence, done) }, (error) => {
        if (error != null) {
          callback(error)
          return
        }
        this.#fence = null
        this._nextv(size, options, callback)
      })
      return
    }
    this.#session.run<Array<[Buffer, Buffer]>>((route, done) => {
      this.#on(route).nextv(size, done as NextvCallback)
    }, (error, entries) => {
      if (error != null || entries === undefined) {
        callback(error)
        return
      }
      const last = entries[entries.length - 1]
      if (last !== undefined) {
        this.#last = last[0]
        this.#seek = null
      }
      callback(null, entries.map(([key, value]): Entry => [this.#keys ? key : undefined, this.#values ? value : undefined]))
    })
  }

  _seek (target: Buffer): void {
    this.#seek = target
    this.#last = null
    const inner = this.#inner
    if (inner !== null && inner.route === this.#session.route) inner.iterator.seek(target, BYTES)
  }

  _close (callback: (error?: Error) => void): void {
    const inner = this.#inner
    this.#inner = null
    if (inner === null) {
      process.nextTick(callback)
      return
    }
    // An iterator of a lost route may fail to close; there is nothing left to release then.
    inner.iterator.close(() => { callback() })
  }

  /** The iterator to read from on `route`: the current one, or a new one where this left off. */
  #on (route: Route): Inner {
    if (this.#inner?.route === route) return this.#inner.iterator
    this.#inner?.iterator.close(() => {})
    const iterator = route.db.iterator({ ...this.#resumeRange(), keys: true, values: this.#values, ...BYTES }) as unknown as Inner
    if (this.#seek !== null) iterator.seek(this.#seek, BYTES)
    this.#inner = { route, iterator }
    return iterator
  }

  /** The range still to read: past the last key yielded, within the original bounds. */
  #resumeRange (): IteratorRange {
    const { gt, gte, lt, lte, reverse } = this.#range
    const last = this.#last
    if (last === null) return defined({ gt, gte, lt, lte, reverse })
    return reverse === true ? defined({ gt, gte, lt: last, reverse }) : defined({ gt: last, lt, lte, reverse })
  }
}

/** abstract-level reads a range bound that is present but undefined as a bound: leave it out. */
function defined (range: IteratorRange): IteratorRange {
  const result: IteratorRange = {}
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    const value = range[bound]
    if (value !== undefined) result[bound] = value
  }
  result.reverse = range.reverse === true
  return result
}
