import type { DurableState } from '../core/index.js'

/** How far a host's own log had come, as last seen durable. */
export interface Progress {
  /** The highest own sequence number reserved. */
  readonly reserved: number
  /** The host's contiguous mark of its own log: every own number up to it is decided. */
  readonly decided: number
}

/**
 * Progress no database reaches: noted when a start finds storage gone back, so that every
 * start asks its peers until the host trusts its own log again and notes real progress.
 */
export const DISTRUSTED: Progress = { reserved: Number.MAX_SAFE_INTEGER, decided: Number.MAX_SAFE_INTEGER }

/**
 * Tells whether a database still holds everything it once reported durable (SPEC §5.4). A
 * database can silently go back in time: a power loss drops the writes that were not synced,
 * and a restore from a copy drops everything since the copy. A host that went back must not
 * trust its own log, so the witness keeps a note of the host's progress outside the database
 * and compares it at the next start. Any doubt reads as "not intact": that only makes the
 * host ask its peers before it decides anything.
 */
export interface DurabilityWitness {
  /** Whether storage is intact, given what it holds now. `synced`: every batch was synced. */
  check (hostId: string, durable: Omit<DurableState, 'intact'>, synced: boolean): Promise<boolean>
  /** Notes progress that is durable now. Called after every batch; may lag and coalesce. */
  note (hostId: string, progress: Progress): void
  /** Writes what was noted, and resolves once it is written. Called at close. */
  flush (): Promise<void>
}

/** What a witness last noted of a host, and whether the database still holds at least that. */
export function holdsNoted (hostId: string, durable: Omit<DurableState, 'intact'>, noted: Progress | null): boolean {
  const progress = { reserved: durable.reserved, decided: durable.marks[hostId] ?? 0 }
  // A database that never decided anything has nothing to lose.
  if (noted === null) return progress.reserved === 0 && progress.decided === 0 && durable.above.length === 0
  return progress.reserved >= noted.reserved && progress.decided >= noted.decided
}
