// Only the surface quorum-level uses.
declare module 'backoff' {
  import type { EventEmitter } from 'node:events'

  interface Backoff extends EventEmitter {
    backoff: () => void
    reset: () => void
  }

  export function fibonacci (options: { initialDelay: number, maxDelay: number, randomisationFactor?: number }): Backoff
}
