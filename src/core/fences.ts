import type { RequestId } from './effects.js'
import { SPANS_MAX, sendSync } from './catch-up.js'
import { type FenceAnswer, type NodeState, type StrongFence, send } from './state.js'
import { answersNeeded, fail, holdRange, refuses } from './strong-reads.js'
import type { HostId, KeyRange } from './types.js'
import { coversApplied, describeApplied } from './marks.js'

/**
 * Fences (SPEC §14.1), what a strong iterator waits for before it reads this host's replica:
 * enough peers to meet every write quorum tell which decisions they had applied once their
 * range was settled, and the fence holds until this host has applied all of those, and its
 * own range is settled. A read of the replica after that sees every write on the range that
 * was decided before the fence began.
 */

/** Starts a fence over `range` for `request`; answered by a `read-result` with no records. */
export function submitFence (s: NodeState, request: RequestId, range: KeyRange): void {
  if (refuses(s, request)) return
  startFence(s, request, range, s.now + s.config.writeTimeoutMs)
}

function startFence (s: NodeState, request: RequestId, range: KeyRange, deadline: number): void {
  const fence: StrongFence = { request, range, deadline, settled: false, answers: new Map(), asked: new Set(), syncedAt: s.now }
  s.fences.set(request, fence)
  holdRange(s, range, () => {
    fence.settled = true
  })
  for (const peer of s.connected) askFence(s, fence, peer)
}

/**
 * The membership changed (SPEC §15.5): answers from the peers of the one before may not meet
 * the quorums of this one, so each fence starts over, with its deadline.
 */
export function restartFences (s: NodeState): void {
  for (const fence of [...s.fences.values()]) startFence(s, fence.request, fence.range, fence.deadline)
}

/** A peer connected: open fences ask it too. */
export function onFencePeerConnected (s: NodeState, peer: HostId): void {
  for (const fence of s.fences.values()) askFence(s, fence, peer)
}

function askFence (s: NodeState, fence: StrongFence, peer: HostId): void {
  if (fence.asked.has(peer) || answersNeeded(s) === 0) return
  fence.asked.add(peer)
  send(s, peer, { type: 'fence', id: fence.request, range: fence.range })
}

/** A peer's fence: answered with this host's marks once its range is settled. */
export function onFenceRequest (s: NodeState, from: HostId, id: number, range: KeyRange): void {
  // A host that may have lost decisions answers nothing (SPEC §14), nor one outside its own membership (§15.5).
  if (s.recovery?.kind === 'asking' || !s.membership.members.includes(s.config.name)) return
  holdRange(s, range, () => {
    const applied = describeApplied(s.marks, SPANS_MAX)
    send(s, from, { type: 'fence-answer', id, marks: applied?.marks ?? null, above: applied?.above ?? null, epoch: s.membership.epoch })
  })
}

export function onFenceAnswer (s: NodeState, from: HostId, id: number, marks: FenceAnswer['marks'] | null, above: FenceAnswer['above'] | null, epoch: number): void {
  const fence = s.fences.get(id)
  if (fence === undefined || !fence.asked.has(from) || fence.answers.has(from)) return
  // From a later membership, whose quorums this host's may miss: the fence waits until this
  // host applies it, and starts over then (SPEC §15.5). Meanwhile, catch up with that peer.
  if (epoch > s.membership.epoch) {
    sendSync(s, from)
    return
  }
  if (marks === null || above === null) {
    finishFence(s, fence, 'too-large')
    return
  }
  fence.answers.set(from, { marks, above })
  // It holds what this host may lack: ask it now rather than at the next round-robin sync.
  if (!covers(s, { marks, above })) sendSync(s, from)
}

/** Whether this host has applied every decision the answer names. */
function covers (s: NodeState, answer: FenceAnswer): boolean {
  return coversApplied(s.marks, answer)
}

/**
 * Settles the fences that can be: done once this host's range is settled, enough peers
 * answered and it has applied what each of them had; failed at their deadline. While one
 * waits for entries, the peers it lags are asked again every `syncIntervalMs`. Called at the
 * end of every step, after held reads are released.
 */
export function pumpFences (s: NodeState): void {
  for (const fence of [...s.fences.values()]) {
    const answered = fence.answers.size >= answersNeeded(s)
    const lagging = s.config.mutation === 'fence-without-catch-up' ? [] : [...fence.answers].filter(([, answer]) => !covers(s, answer))
    if (fence.settled && answered && lagging.length === 0) {
      finishFence(s, fence, null)
      continue
    }
    if (s.now >= fence.deadline) {
      finishFence(s, fence, s.connected.size < answersNeeded(s) ? 'not-ready' : 'timeout')
      continue
    }
    if (lagging.length > 0 && s.now - fence.syncedAt >= s.config.syncIntervalMs) {
      fence.syncedAt = s.now
      for (const [peer] of lagging) if (s.connected.has(peer)) sendSync(s, peer)
    }
  }
}

export function onFencesClose (s: NodeState): void {
  for (const fence of [...s.fences.values()]) finishFence(s, fence, 'closed')
}

function finishFence (s: NodeState, fence: StrongFence, failure: Parameters<typeof fail>[2] | null): void {
  s.fences.delete(fence.request)
  if (failure === null) s.out.push({ type: 'read-result', request: fence.request, result: { ok: true, records: [] } })
  else fail(s, fence.request, failure)
}
