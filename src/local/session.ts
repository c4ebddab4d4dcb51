import { CODES, createError } from '../errors.js'
import { Election, type ElectionOptions } from './election.js'
import { KeepAlive } from './keep-alive.js'
import type { Route } from './route.js'
import { type BatchOp, WriteIds } from './write-ids.js'

type Done<T> = (error?: Error | null, result?: T) => void

/** One operation from its call until it settles, across as many routes as it takes. */
interface Operation {
  readonly attempt: (route: Route, done: Done<unknown>) => void
  readonly settle: Done<unknown>
  /** The route it runs on now; null while it waits for one. */
  route: Route | null
}

export interface SessionOptions extends ElectionOptions {
  /** Runs an operation again when its route is lost; without it, the operation fails. */
  readonly retry: boolean
}

export interface SessionHooks {
  /** This process became its host's local leader. */
  readonly leader: () => void
  /** No route can be found any more; pending operations failed with `error`. */
  readonly fatal: (error: Error) => void
}

/**
 * One open of a QuorumLevel: its write ids, its way to the data (SPEC §12.1), and every
 * operation not yet settled. An operation whose route is lost before it settles runs again
 * on the next route, in the order operations were made, so a process's writes reach the
 * leader in one order, and write ids answer a write that did land as it was answered there.
 */
export class Session {
  readonly #election: Election
  readonly #retry: boolean
  readonly #hooks: SessionHooks
  readonly #keepAlive = new KeepAlive()
  readonly #writeIds = new WriteIds()
  /** Unsettled operations in the order they were made. */
  readonly #operations = new Set<Operation>()
  #route: Route | null = null
  #opening: Done<void> | null = null
  #drained: (() => void) | null = null

  constructor (options: SessionOptions, hooks: SessionHooks) {
    this.#retry = options.retry
    this.#hooks = hooks
    this.#election = new Election(options, {
      route: (route) => { this.#onRoute(route) },
      lost: (route) => { this.#onLost(route) },
      fatal: (error) => { this.#onFatal(error) }
    })
  }

  /** The way to the data now: null during a failover. */
  get route (): Route | null {
    return this.#route
  }

  open (callback: Done<void>): void {
    this.#opening = callback
    this.#keepAlive.hold()
    this.#election.start()
  }

  /**
   * Runs `attempt` on the current route, or on the next one if this one is lost before it
   * settles; `settle` gets the first outcome that does not come from a lost route.
   */
  run<T> (attempt: (route: Route, done: Done<T>) => void, settle: Done<T>): void {
    const operation: Operation = { attempt: attempt as Operation['attempt'], settle: settle as Done<unknown>, route: null }
    if (this.#operations.size === 0) this.#keepAlive.hold()
    this.#operations.add(operation)
    if (this.#route !== null) this.#start(operation, this.#route)
  }

  write (ops: readonly BatchOp[], callback: Done<void>): void {
    // The id is taken when the write is made, so ids grow in the order writes are made.
    const id = this.#writeIds.next()
    this.run<void>((route, done) => { route.write(ops, id, done) }, callback)
  }

  /** Lets every operation made so far settle, then leaves: disconnects, or resigns. */
  async close (): Promise<void> {
    if (this.#operations.size > 0) await new Promise<void>((resolve) => { this.#drained = resolve })
    await this.#election.stop()
    this.#route = null
    this.#keepAlive.stop()
  }

  #start (operation: Operation, route: Route): void {
    if (route.lost) return
    operation.route = route
    const done: Done<unknown> = (error, result) => {
      // Moved to another route meanwhile: that try answers.
      if (operation.route !== route) return
      if (error != null && route.isLoss(error)) {
        this.#election.drop(route)
        return
      }
      this.#settle(operation, error, result)
    }
    try {
      operation.attempt(route, done)
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #settle (operation: Operation, error: Error | null | undefined, result: unknown): void {
    if (!this.#operations.delete(operation)) return
    operation.route = null
    if (this.#operations.size === 0) {
      this.#keepAlive.release()
      this.#drained?.()
      this.#drained = null
    }
    operation.settle(error, result)
  }

  #onRoute (route: Route): void {
    this.#route = route
    if (route.kind === 'leader') this.#hooks.leader()
    const opening = this.#opening
    if (opening !== null) {
      this.#opening = null
      this.#keepAlive.release()
      opening()
    }
    for (const operation of this.#operations) {
      if (operation.route === null) this.#start(operation, route)
    }
  }

  #onLost (route: Route): void {
    if (this.#route === route) this.#route = null
    for (const operation of this.#operations) {
      if (operation.route !== route) continue
      if (this.#retry) operation.route = null
      else this.#settle(operation, createError('The local leader went away while the operation was pending', CODES.CONNECTION_LOST), undefined)
    }
  }

  #onFatal (error: Error): void {
    const opening = this.#opening
    if (opening !== null) {
      this.#opening = null
      this.#keepAlive.release()
      opening(error)
      return
    }
    for (const operation of [...this.#operations]) this.#settle(operation, error, undefined)
    this.#hooks.fatal(error)
  }
}
