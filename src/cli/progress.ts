import type { ReplicatorStatus } from '../replicator/status.js'

/**
 * The progress line `serve` keeps on a terminal while its host catches up or receives a full
 * copy. Catch-up has a total (how far behind it was when this stretch began), a full copy
 * has none ahead of time (README, Status), so it counts what came.
 */
export class ProgressLine {
  /** How far behind the host was when the current stretch of catching up began. */
  #behindAtStart = 0

  /** The line for `status`, or null when there is nothing to show. */
  render (status: ReplicatorStatus): string | null {
    const copy = status.fullCopy.receiving
    if (copy?.applying === true) return `full copy from ${copy.from}: applying its ${count(copy.parts)} chunks, local reads wait`
    if (copy !== null) return `full copy from ${copy.from}: ${count(copy.records)} records in ${count(copy.parts)} chunks so far`
    const { behind } = status.catchUp
    if (behind === 0) {
      this.#behindAtStart = 0
      return null
    }
    if (behind > this.#behindAtStart) this.#behindAtStart = behind
    const done = (this.#behindAtStart - behind) / this.#behindAtStart
    const width = 24
    const filled = Math.round(done * width)
    return `catching up [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(done * 100)}%, ${count(behind)} of ${count(this.#behindAtStart)} decisions to go`
  }
}

function count (n: number): string {
  return n.toLocaleString('en-US')
}
