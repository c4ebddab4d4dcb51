import { assert } from '../core/index.js'

/**
 * Holds the process open while work is pending, and only then: an open, a write, a read or
 * an iterator step keeps the event loop alive until it settles, whatever timers and sockets
 * it waits on; an idle database holds nothing. Sockets and timers of the local layer are
 * unref'd; this one timer is ref'd while anything is held.
 */
export class KeepAlive {
  #holds = 0
  #timer: ReturnType<typeof setInterval> | null = null

  hold (): void {
    if (this.#holds++ > 0) return
    // Toggling ref on one long timer is cheaper than a new timer per busy spell.
    this.#timer ??= setInterval(() => {}, 2 ** 30)
    this.#timer.ref()
  }

  release (): void {
    assert(this.#holds > 0, 'KeepAlive released more often than held')
    if (--this.#holds === 0) this.#timer?.unref()
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#holds = 0
  }
}
