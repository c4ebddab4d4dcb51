import type { LogRecord } from '../replicator/logger.js'
import type { PeerReport, ReplicatorStatus } from '../replicator/status.js'
import type { MembershipReport } from '../replicator/members.js'
import type { PeerAddress } from '../transport/peer-connection.js'
import type { Encoding } from './commands.js'
import { InputError } from './input-error.js'

/** How `serve` writes its log records. */
export type LogFormat = 'text' | 'json'

/** One member of the cluster as `members list` shows it. */
interface Member {
  readonly address: string | null
  readonly id: string | null
  /** This host, the one whose status it is. */
  readonly self: boolean
  /** Whether this host is connected to it now; null for this host itself. */
  readonly connected: boolean | null
}

/** A log record as one line, without its newline: readable, or JSON. */
export function formatLogRecord (record: LogRecord, format: LogFormat): string {
  if (format === 'json') return JSON.stringify(record)
  const code = record.code === undefined ? '' : ` (${record.code})`
  return `${new Date(record.time).toISOString()} ${record.level.padEnd(5)} ${oneLine(record.message)}${code}`
}

/** What `status` prints: the host, then one line per peer. */
export function formatStatus (status: ReplicatorStatus): string {
  const { writes } = status
  const connected = status.peers.filter((peer) => peer.connected).length
  const lines = table([
    ['id:', status.id ?? '-'],
    ['address:', addressOf(status.address) ?? '-'],
    ['state:', status.state],
    ['ready:', status.ready ? 'yes' : 'no'],
    ['recovery:', status.recovery ?? 'none'],
    ['minConsensus:', `${status.minConsensus} of ${status.peers.length} peer${status.peers.length === 1 ? '' : 's'}`],
    ['membership:', `epoch ${status.membership.epoch}, ${status.membership.members.length} member${status.membership.members.length === 1 ? '' : 's'}`],
    ['catch-up:', status.catchUp.behind === 0 ? 'caught up' : `${status.catchUp.behind} decisions behind`],
    ['full copy:', fullCopyLine(status.fullCopy.receiving)],
    ['tombstones:', `${status.tombstones === null ? 'not counted yet' : String(status.tombstones.count)}, ${status.collection.collected} collected since the start`],
    ['writes:', `queued ${writes.queued}, active ${writes.active}, committing ${writes.committing}, confirming ${writes.confirming}, aborting ${writes.aborting}`],
    ['prepared:', `${status.prepared}, locks ${status.locks}, strong reads ${status.strongReads}`],
    ['peers:', `${status.peers.length}, ${connected} connected`]
  ])
  const peers = table(status.peers.map((peer) => [
    `  ${addressOf(peer) ?? '-'}`,
    `id ${peer.id ?? '-'}`,
    peer.connected ? 'connected' : 'disconnected',
    `round trip ${peer.roundTripMs === null ? '-' : `${peer.roundTripMs} ms`}`,
    `lag ${lagOf(peer)}`
  ]))
  return [...lines, ...peers].join('\n')
}

/** The members in `status`: this host first, then each configured peer. */
export function membersOf (status: ReplicatorStatus): Member[] {
  return [
    { address: addressOf(status.address), id: status.id, self: true, connected: null },
    ...status.peers.map((peer) => ({ address: addressOf(peer), id: peer.id, self: false, connected: peer.connected }))
  ]
}

/** What `members list` prints: a table with a header. */
export function formatMembers (members: readonly Member[]): string {
  return table([
    ['ADDRESS', 'ID', 'STATE'],
    ...members.map((member) => [
      member.address ?? '(none)',
      member.id ?? '-',
      member.self ? 'this host' : member.connected === true ? 'connected' : 'disconnected'
    ])
  ]).join('\n')
}

/** A membership as the `members` changes print it. */
export function formatMembership (membership: MembershipReport): string {
  return table([
    ['epoch:', String(membership.epoch)],
    ['members:', membership.members.join(', ')],
    ['minConsensus:', String(membership.minConsensus)]
  ]).join('\n')
}

/** A key or a value read back, as it is printed in `encoding`. */
export function showData (data: unknown, encoding: Encoding): string {
  return encoding === 'json' ? JSON.stringify(data) : String(data)
}

/**
 * The one line the tool prints for a failure, after `quorum-level: `. A database that failed
 * to open says why in its cause, and that is what is shown. Input errors carry no code
 * unless a library check caused them; everything else ends with its code.
 */
export function formatError (error: unknown): string {
  if (error instanceof InputError) {
    const code = codeOf(error.cause)
    const usage = error.usageOf === null ? '' : ` (see quorum-level ${error.usageOf === '' ? '' : `${error.usageOf} `}--help)`
    return `${oneLine(error.message)}${code === undefined ? '' : ` (${code})`}${usage}`
  }
  let shown = error
  while (codeOf(shown) === 'LEVEL_DATABASE_NOT_OPEN' && codeOf((shown as { cause?: unknown }).cause) !== undefined) {
    shown = (shown as { cause?: unknown }).cause
  }
  const message = shown instanceof Error ? shown.message : String(shown)
  const code = codeOf(shown)
  return `${oneLine(message)}${code === undefined ? '' : ` (${code})`}`
}

function codeOf (error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

function addressOf (address: PeerAddress | null): string | null {
  if (address === null) return null
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}

/** A peer's lag summed over origins: how many decisions it misses that this host applied. */
function lagOf (peer: PeerReport): string {
  if (peer.lag === null) return '-'
  return String(Object.values(peer.lag).reduce((sum, lag) => sum + lag, 0))
}

/** Rows with their columns padded to line up (the last one is not). */
function table (rows: ReadonlyArray<readonly string[]>): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length) })
  return rows.map((row) => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join('  '))
}

/** Messages are printed one a line, whatever they hold. */
function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

function fullCopyLine (copy: ReplicatorStatus['fullCopy']['receiving']): string {
  if (copy === null) return 'none'
  if (copy.applying) return `applying the copy from ${copy.from} (local reads wait)`
  return `receiving from ${copy.from}: ${copy.records} records so far`
}
