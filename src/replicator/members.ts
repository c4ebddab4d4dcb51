import type { Membership, MembershipChange } from '../core/index.js'
import { CODES, createError } from '../errors.js'
import type { PeerAddress } from '../transport/peer-connection.js'
import { checkAddress } from './options.js'

/** A membership as the Replicator reports it: members as `host:port` names (SPEC §15). */
export interface MembershipReport {
  /** 0 until the first change; each change adds one. */
  readonly epoch: number
  readonly members: readonly string[]
  readonly minConsensus: number
}

/** A membership change as users ask for it: `add` or `remove` one host, and or set `minConsensus`. */
export interface MembersChange {
  readonly add?: PeerAddress | string
  readonly remove?: PeerAddress | string
  readonly minConsensus?: number
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1'])

/**
 * A host's name in memberships: `host:port` as it announces itself, the host in lower case
 * and the loopback names as one, so that every host names a member alike.
 */
export function memberName (address: PeerAddress): string {
  const host = address.host.toLowerCase()
  return `${LOOPBACK.has(host) ? '127.0.0.1' : host}:${address.port}`
}

/** The address a member's name stands for; null for a peer counted but never named (`?1`...). */
export function addressOfMember (name: string): PeerAddress | null {
  const colon = name.lastIndexOf(':')
  const port = Number(name.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535) return null
  return { host: name.slice(0, colon), port }
}

/** A user's change as the core takes it, every field checked: `LEVEL_INVALID_OPTION` otherwise. */
export function coreChange (change: unknown): MembershipChange {
  if (typeof change !== 'object' || change === null) throw invalid('a membership change must be { add, remove, minConsensus }')
  const { add, remove, minConsensus, ...rest } = change as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0) throw invalid(`a membership change has no field ${unknown.join(', ')}`)
  if (minConsensus !== undefined && (!Number.isInteger(minConsensus) || (minConsensus as number) < 0)) throw invalid('minConsensus must be a non-negative integer')
  return {
    ...(add === undefined ? {} : { add: nameOf(add, 'add') }),
    ...(remove === undefined ? {} : { remove: nameOf(remove, 'remove') }),
    ...(minConsensus === undefined ? {} : { minConsensus: minConsensus as number })
  }
}

export function report (membership: Membership): MembershipReport {
  return { epoch: membership.epoch, members: [...membership.members], minConsensus: membership.minConsensus }
}

function nameOf (value: unknown, field: string): string {
  if (typeof value === 'string') {
    const address = addressOfMember(value)
    if (address === null) throw invalid(`${field} must be "host:port" or { host, port }, not ${JSON.stringify(value)}`)
    return memberName(address)
  }
  return memberName(checkAddress(value, field))
}

function invalid (message: string): Error {
  return createError(message, CODES.INVALID_OPTION, { expected: true })
}
