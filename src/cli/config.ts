import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { CODES } from '../errors.js'
import type { QuorumLevelOptions } from '../quorum-level.js'
import { resolveOptions } from '../replicator/options.js'
import type { PeerAddress } from '../transport/peer-connection.js'
import { InputError } from './input-error.js'

/** A host's configuration file, read and checked. */
interface HostConfig {
  /** The data directory, absolute. */
  readonly location: string
  /** What `serve` opens the database with. */
  readonly options: QuorumLevelOptions
}

/**
 * Options that are plain data, passed through as they are: quorum-level itself checks them
 * when `serve` opens the database, and here before (so that a bad one names the file).
 */
const PASSED_THROUGH = ['failAfter', 'writeTimeout', 'callTimeout', 'sync', 'logRetention', 'logRetentionBytes', 'tombstoneInterval', 'feedRetention', 'frameBytesMax', 'reconnectMsMin', 'reconnectMsMax', 'tickInterval'] as const

/** Every field a configuration file may hold. */
const FIELDS = new Set<string>(['location', 'host', 'port', 'listenHost', 'peers', 'minConsensus', 'secret', 'secretFile', 'retry', 'lockWait', ...PASSED_THROUGH])

const PORT_RULE = 'an integer from 1 to 65535'
const PEER_RULE = '"host:port" or { "host", "port" }'
/** How much of a bad value a message quotes. */
const QUOTED_CHARS_MAX = 40

/**
 * Reads the configuration file at `file` (named in messages as given): JSON, with the fields
 * in README "Command line". `location` and `secretFile` are relative to the file's directory.
 * Every problem is an {@link InputError} naming the file and the field.
 */
export async function loadConfig (file: string): Promise<HostConfig> {
  const path = resolve(file)
  const here = dirname(path)
  const fail = (message: string, cause?: Error): never => { throw new InputError(`${file}: ${message}`, null, cause) }
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as { code?: string }).code
    return fail(code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(error)})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    return fail(`not valid JSON: ${(error as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`must hold a JSON object, not ${quote(raw)}`)
  const fields = raw as Record<string, unknown>
  for (const name of Object.keys(fields)) {
    if (!FIELDS.has(name)) fail(`unknown field "${name}"`)
  }
  const field = (name: string): unknown => Object.hasOwn(fields, name) ? fields[name] : undefined

  const location = field('location')
  if (location === undefined) fail('"location" is required: the data directory, relative to this file')
  if (typeof location !== 'string' || location === '') return fail(`"location" must be a non-empty string, not ${quote(location)}`)

  // Each field is checked as it is copied in; the last checks are the library's, below.
  const options: Record<string, unknown> = {}
  for (const name of ['host', 'listenHost']) {
    const value = field(name)
    if (value === undefined) continue
    if (typeof value !== 'string' || value === '') fail(`"${name}" must be a non-empty string, not ${quote(value)}`)
    options[name] = value
  }
  const port = field('port')
  if (port !== undefined) {
    if (!isPort(port)) fail(`"port" must be ${PORT_RULE}, not ${quote(port)}`)
    options['port'] = port
  }
  const peers = field('peers')
  if (peers !== undefined) {
    if (!Array.isArray(peers)) fail(`"peers" must be an array of ${PEER_RULE}, not ${quote(peers)}`)
    options['peers'] = (peers as unknown[]).map((peer, i) => parsePeer(peer, `peers[${i}]`, fail))
  }
  const minConsensus = field('minConsensus')
  if (minConsensus !== undefined) {
    if (!Number.isSafeInteger(minConsensus) || (minConsensus as number) < 0) fail(`"minConsensus" must be an integer from 0, not ${quote(minConsensus)}`)
    options['minConsensus'] = minConsensus
  }
  const secret = field('secret')
  const secretFile = field('secretFile')
  if (secret !== undefined && secretFile !== undefined) fail('"secret" and "secretFile" are both given: give one')
  if (secret !== undefined) {
    if (typeof secret !== 'string' || secret === '') fail('"secret" must be a non-empty string')
    options['secret'] = secret
  }
  if (secretFile !== undefined) {
    if (typeof secretFile !== 'string' || secretFile === '') fail(`"secretFile" must be a non-empty string, not ${quote(secretFile)}`)
    options['secret'] = await readSecret(resolve(here, secretFile as string), fail)
  }
  const retry = field('retry')
  if (retry !== undefined) {
    if (typeof retry !== 'boolean') fail(`"retry" must be true or false, not ${quote(retry)}`)
    options['retry'] = retry
  }
  const lockWait = field('lockWait')
  if (lockWait !== undefined) {
    if (!Number.isSafeInteger(lockWait) || (lockWait as number) < 0) fail(`"lockWait" must be an integer from 0 (milliseconds), not ${quote(lockWait)}`)
    options['lockWait'] = lockWait
  }
  for (const name of PASSED_THROUGH) {
    const value = field(name)
    if (value !== undefined) options[name] = value
  }
  try {
    // The library's own checks, now rather than when serve has taken the lock.
    resolveOptions(options as QuorumLevelOptions)
  } catch (error) {
    if ((error as { code?: string }).code !== CODES.INVALID_OPTION) throw error
    fail((error as Error).message, error as Error)
  }
  return { location: resolve(here, location), options: options as QuorumLevelOptions }
}

function isPort (value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65_535
}

/** A peer given as `"host:port"` (`"[::1]:7000"` for IPv6) or `{ "host", "port" }`. */
function parsePeer (peer: unknown, name: string, fail: (message: string) => never): PeerAddress {
  if (typeof peer === 'string') {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(peer)
    const port = match === null ? NaN : Number(match[3])
    const host = match?.[1] ?? match?.[2]
    if (host === undefined || !isPort(port)) return fail(`"${name}" must be ${PEER_RULE}, with a port ${PORT_RULE}, not ${quote(peer)}`)
    return { host, port }
  }
  if (typeof peer !== 'object' || peer === null || Array.isArray(peer)) return fail(`"${name}" must be ${PEER_RULE}, not ${quote(peer)}`)
  const { host, port, ...rest } = peer as Record<string, unknown>
  const [unknown] = Object.keys(rest)
  if (unknown !== undefined) fail(`"${name}" has an unknown field "${unknown}"`)
  if (typeof host !== 'string' || host === '') fail(`"${name}.host" must be a non-empty string, not ${quote(host)}`)
  if (!isPort(port)) fail(`"${name}.port" must be ${PORT_RULE}, not ${quote(port)}`)
  return { host: host as string, port: port as number }
}

async function readSecret (path: string, fail: (message: string) => never): Promise<string> {
  let secret: string
  try {
    secret = await readFile(path, 'utf8')
  } catch (error) {
    return fail(`"secretFile": cannot read ${path} (${(error as { code?: string }).code ?? String(error)})`)
  }
  // Editors end a file with a newline; the secret is what comes before it.
  secret = secret.replace(/(?:\r?\n)+$/, '')
  if (secret === '') fail(`"secretFile": ${path} holds no secret`)
  return secret
}

/** A value as a message quotes it: as JSON, cut short. */
function quote (value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value)
  return text.length > QUOTED_CHARS_MAX ? `${text.slice(0, QUOTED_CHARS_MAX - 1)}…` : text
}
