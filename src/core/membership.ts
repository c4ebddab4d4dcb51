import type { HostId, Key, Op } from './types.js'

/**
 * Who the cluster is, at one epoch (SPEC §15). Members are named as their hosts announce
 * themselves (`host:port` in the Replicator, the identity in the simulator): a name, not an
 * identity, so that a member can be added before anyone has met it.
 */
export interface Membership {
  /** 0 for the membership a host starts with from its options; each change adds one. */
  readonly epoch: number
  /** Every member, this host included, sorted. */
  readonly members: readonly string[]
  /** Peers (members other than the origin) that must vote yes and acknowledge a write. */
  readonly minConsensus: number
}

/** One change at a time: a member added or removed, or `minConsensus` set, or both. */
export interface MembershipChange {
  readonly add?: string | undefined
  readonly remove?: string | undefined
  readonly minConsensus?: number | undefined
}

/**
 * What a host must have applied before it applies a membership change: everything the
 * change's voters had applied, or had decided, when they voted (SPEC §15.3). Marks and spans
 * above them, per origin, as a `sync` names them.
 */
export interface AppliedBefore {
  readonly marks: Readonly<Record<HostId, number>>
  readonly above: Readonly<Record<HostId, ReadonlyArray<readonly [number, number]>>>
}

/**
 * The key a membership change writes: inside the reserved range, which no user write reaches,
 * so the change travels as an ordinary transaction (its prepare record, its log entry, catch-up)
 * and holds this key's lock, which serializes two proposals at any host that sees both.
 */
export const MEMBERSHIP_KEY: Key = '\xff\xffqlmembership'

/** Whether `ops` are a membership change's. */
export function isMembershipOps (ops: readonly Op[]): boolean {
  return ops.length === 1 && ops[0]?.key === MEMBERSHIP_KEY
}

export function peerCountOf (membership: Membership, self: string): number {
  return membership.members.length - (membership.members.includes(self) ? 1 : 0)
}

/** The smallest `minConsensus` whose quorums intersect among `peerCount + 1` members. */
export function smallestMajority (peerCount: number): number {
  return Math.floor((peerCount + 1) / 2)
}

/**
 * The membership `change` leads to from `current`, or why it cannot: one member added or
 * removed at most, never the proposer itself, and a `minConsensus` that keeps every two
 * quorums intersecting. Left out, `minConsensus` stays if it still does, else becomes the
 * smallest that does. A change that is already true leads to `current` itself.
 */
export function planChange (current: Membership, self: string, change: MembershipChange): { ok: true, next: Membership } | { ok: false, reason: string } {
  const { add, remove } = change
  if (add !== undefined && remove !== undefined) return { ok: false, reason: 'one change at a time: add or remove, not both' }
  if (add === undefined && remove === undefined && change.minConsensus === undefined) return { ok: false, reason: 'a change adds, removes, or sets minConsensus' }
  if (remove === self) return { ok: false, reason: `${self} cannot remove itself: ask another member` }
  let members = [...current.members]
  if (add !== undefined && !members.includes(add)) members.push(add)
  if (remove !== undefined) members = members.filter((member) => member !== remove)
  members.sort()
  const peerCount = members.length - (members.includes(self) ? 1 : 0)
  let minConsensus = change.minConsensus ?? current.minConsensus
  if (change.minConsensus === undefined && (minConsensus > peerCount || !intersects(minConsensus, peerCount))) minConsensus = smallestMajority(peerCount)
  if (!Number.isInteger(minConsensus) || minConsensus < 0 || minConsensus > peerCount) {
    return { ok: false, reason: `minConsensus must be an integer from 0 to ${peerCount}, the peers of ${members.length} members` }
  }
  if (!intersects(minConsensus, peerCount)) {
    return { ok: false, reason: `minConsensus ${minConsensus} of ${members.length} members lets two quorums miss each other: at least ${smallestMajority(peerCount)}` }
  }
  const same = members.length === current.members.length && members.every((member, i) => member === current.members[i]) && minConsensus === current.minConsensus
  return { ok: true, next: same ? current : { epoch: current.epoch + 1, members, minConsensus } }
}

/**
 * How many yes votes a membership change needs (SPEC §15.2): enough that its quorum meets
 * every write quorum (`peerCount − minConsensus`, as a strong read's), and a majority, so that
 * it meets every other change's. Not `minConsensus` itself: with every peer in every write
 * quorum, a member gone for good could then never be removed.
 */
export function changeQuorum (current: Membership, peerCount: number): number {
  return Math.max(peerCount - current.minConsensus, smallestMajority(peerCount))
}

function intersects (minConsensus: number, peerCount: number): boolean {
  return 2 * (minConsensus + 1) > peerCount + 1
}

/** A membership change as the value its transaction writes: what every host decodes alike. */
export function encodeChange (membership: Membership, before: readonly AppliedBefore[] | null): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ membership, before }))
}

/** A decoded change: `before` is null in the prepare, and set in the commit entry. */
export interface DecodedChange {
  readonly membership: Membership
  readonly before: readonly AppliedBefore[] | null
}

/** The change a value holds; the wire checked its shape (`parseChange`) before the core sees it. */
export function decodeChange (value: Uint8Array): DecodedChange {
  return JSON.parse(new TextDecoder().decode(value)) as DecodedChange
}
