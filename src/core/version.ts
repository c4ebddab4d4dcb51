import type { Version } from './types.js'

/** Total order on versions: timestamp, then origin, then sequence number. */
export function compareVersions (a: Version, b: Version): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1
  return 0
}

/**
 * Whether a write at `incoming` replaces what is stored at `stored`. An equal version is the
 * same transaction: a later op of one batch on the same key replaces the earlier one.
 */
export function supersedes (incoming: Version, stored: Version | undefined): boolean {
  return stored === undefined || compareVersions(incoming, stored) >= 0
}
