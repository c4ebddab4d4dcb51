import { AbstractIterator, type AbstractLevel } from 'abstract-level'

type Database = AbstractLevel<unknown, unknown, unknown>
type Callback = (error?: Error | null, ...results: unknown[]) => void

/** The private methods of an abstract-level 1 iterator, which abstract-level calls with encoded data. */
export interface PrivateIterator {
  _next: (callback: Callback) => void
  _nextv: (size: number, options: object, callback: Callback) => void
  _all: (options: object, callback: Callback) => void
  _seek: (target: unknown, options: object) => void
  /** The public close: it also detaches the iterator from its database, which would close it again. */
  close: (callback: (error?: Error) => void) => void
}

/**
 * A strong iterator of an abstract-level 1 database (SPEC §14.1): it waits for `fence`, then
 * reads the database's own iterator, opened only then, so that what it reads (and its
 * snapshot) includes every write on its range decided before it was made. It reads through
 * the inner iterator's private methods, which hand over encoded data: abstract-level decodes
 * around this one, as around the database's own.
 */
export class FencedIterator extends AbstractIterator<Database, unknown, unknown> {
  readonly #ready: Promise<PrivateIterator>
  #inner: PrivateIterator | null = null
  /** A seek made before the inner iterator exists, applied when it does. */
  #seek: { target: unknown, options: object } | null = null

  constructor (db: Database, options: object, fence: Promise<void>, open: () => PrivateIterator) {
    super(db, options as ConstructorParameters<typeof AbstractIterator<Database, unknown, unknown>>[1])
    this.#ready = fence.then(() => {
      const inner = open()
      if (this.#seek !== null) inner._seek(this.#seek.target, this.#seek.options)
      this.#inner = inner
      return inner
    })
    // A failed fence fails the first read; until then it is not an unhandled rejection.
    this.#ready.catch(() => {})
  }

  _next (callback: Callback): void {
    this.#ready.then((inner) => { inner._next(callback) }, callback)
  }

  _nextv (size: number, options: object, callback: Callback): void {
    this.#ready.then((inner) => { inner._nextv(size, options, callback) }, callback)
  }

  _all (options: object, callback: Callback): void {
    this.#ready.then((inner) => { inner._all(options, callback) }, callback)
  }

  _seek (target: unknown, options: object): void {
    if (this.#inner === null) this.#seek = { target, options }
    else this.#inner._seek(target, options)
  }

  _close (callback: (error?: Error) => void): void {
    // Closed before the fence held: whatever opens after is closed at once.
    this.#ready.then((inner) => { inner.close(callback) }, () => { callback() })
  }
}

/** The private methods of an abstract-level 2 or 3 iterator, which return promises. */
interface PromisePrivateIterator {
  _next: () => Promise<unknown>
  _nextv: (size: number, options: object) => Promise<unknown>
  _all: (options: object) => Promise<unknown>
  _seek: (target: unknown, options: object) => void
  close: () => Promise<void>
}

type IteratorClass = new (db: unknown, options: unknown) => object

/** The `AbstractIterator` class an iterator descends from: each major version of abstract-level has its own. */
export function abstractIteratorOf (iterator: object): IteratorClass {
  for (let proto: unknown = Object.getPrototypeOf(iterator); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const constructor = (proto as { constructor?: { name?: string } }).constructor
    if (constructor?.name === 'AbstractIterator') return constructor as unknown as IteratorClass
  }
  throw new TypeError('an abstract-level iterator descends from AbstractIterator')
}

/**
 * The same as {@link FencedIterator} for an abstract-level 2 or 3 database: a subclass of that
 * version's own `AbstractIterator`, made for it, driving its promise-returning private methods.
 */
export function fencedPromiseIterator (Base: IteratorClass, db: object, options: object, fence: Promise<void>, open: () => object): object {
  class Fenced extends Base {
    readonly #ready: Promise<PromisePrivateIterator>
    #inner: PromisePrivateIterator | null = null
    #seek: { target: unknown, options: object } | null = null

    constructor () {
      super(db, options)
      this.#ready = fence.then(() => {
        const inner = open() as PromisePrivateIterator
        if (this.#seek !== null) inner._seek(this.#seek.target, this.#seek.options)
        this.#inner = inner
        return inner
      })
      this.#ready.catch(() => {})
    }

    async _next (): Promise<unknown> {
      return await (await this.#ready)._next()
    }

    async _nextv (size: number, nextOptions: object): Promise<unknown> {
      return await (await this.#ready)._nextv(size, nextOptions)
    }

    async _all (allOptions: object): Promise<unknown> {
      return await (await this.#ready)._all(allOptions)
    }

    _seek (target: unknown, seekOptions: object): void {
      if (this.#inner === null) this.#seek = { target, options: seekOptions }
      else this.#inner._seek(target, seekOptions)
    }

    async _close (): Promise<void> {
      const inner = await this.#ready.catch(() => null)
      await inner?.close()
    }
  }
  return new Fenced()
}
