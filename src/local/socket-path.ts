import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Unix socket paths are short (108 bytes on Linux, 104 on macOS, counting the terminator).
 * Within this, the socket lives in the data directory; beyond, in the temporary directory
 * under a name derived from the directory's absolute path, so every process finds the same.
 */
const SOCKET_PATH_BYTES_MAX = 100

/** Where a host's local leader listens (SPEC §12.2). */
export interface SocketPaths {
  /** many-level's protocol, for guests' operations. */
  readonly leader: string
  /** Replicator events, relayed to guests. */
  readonly events: string
}

/** The sockets of the database at `location` (absolute). */
export function socketPaths (location: string): SocketPaths {
  return { leader: socketPath(location, 'leader'), events: socketPath(location, 'events') }
}

function socketPath (location: string, name: string): string {
  if (process.platform === 'win32') return `\\\\.\\pipe\\quorum-level\\${location}\\${name}`
  const inside = join(location, `quorum-level-${name}.sock`)
  if (Buffer.byteLength(inside) <= SOCKET_PATH_BYTES_MAX) return inside
  const digest = createHash('sha256').update(location).digest('hex').slice(0, 32)
  return join(tmpdir(), `quorum-level-${digest}-${name}.sock`)
}
