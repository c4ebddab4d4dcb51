import { enqueueApply } from './apply.js'
import { isCopyingIn } from './copy-in.js'
import type { NodeState } from './state.js'

/**
 * Tombstone collection (SPEC §6.5). A tombstone keeps an older write of its key from being
 * applied again; it may go once no older write can reach this host. Every member reports in
 * its syncs its durable clock and the highest of its own sequence numbers it had decided. Any
 * transaction it decides later has a higher `ts` than that clock; any it had decided, this host
 * holds once its marks reach the number. So once this host holds every member's reported
 * decisions, no commit at or below the lowest reported clock can still reach it: that clock
 * is a horizon, and tombstones at or below it are collected.
 */

/** The highest horizon this host may collect through now; 0 when a member's report is missing or not yet covered. */
export function collectionHorizon (s: NodeState): number {
  if (s.config.mutation === 'collect-past-horizon') return s.clock
  // A member counted but not met yet may hold anything.
  if (s.peers.length < s.peerCount) return 0
  let horizon = Infinity
  for (const member of [s.config.id, ...s.peers]) {
    const report = s.reports.get(member)
    if (report === undefined || s.marks.contiguous(member) < report.decided) return 0
    horizon = Math.min(horizon, report.clock)
  }
  return horizon
}

/** On the tick: starts a pass once the horizon has moved past the last pass's, at most every `collectIntervalMs`. */
export function onCollectTick (s: NodeState): void {
  const { collectIntervalMs } = s.config
  if (collectIntervalMs === 0 || s.collecting || s.closing || !s.storageOk || s.now - s.lastCollectAt < collectIntervalMs) return
  // Catch-up first: a full copy this host sends or receives needs the disk more than a pass.
  if (isCopyingIn(s) || [...s.snapshotsOut.values()].some((out) => !out.done)) return
  // The stored horizon was safe when written, and stays so: a pass after a restart finishes
  // what one before it may have left.
  const through = Math.max(collectionHorizon(s), s.horizon)
  if (through <= s.collectedThrough) return
  s.lastCollectAt = s.now
  s.collecting = true
  enqueueApply(s, { entries: [], collect: { through, after: null } })
}
