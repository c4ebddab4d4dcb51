/**
 * Holds a host's local reads while a full copy is applied to its data, page by page (SPEC
 * §6.3), and while the Replicator starts (a copy cut short by a stop is finished first).
 * Reads arriving meanwhile wait, and go on once it opens; none ever sees half a copy.
 */
export class ReadGate {
  #waiting: Promise<void> | null = null
  #release: (() => void) | null = null

  /** Null while open: reads go at once. Otherwise, settles when they may. */
  get waiting (): Promise<void> | null {
    return this.#waiting
  }

  hold (): void {
    this.#waiting ??= new Promise((resolve) => { this.#release = resolve })
  }

  open (): void {
    const release = this.#release
    this.#waiting = null
    this.#release = null
    release?.()
  }
}
