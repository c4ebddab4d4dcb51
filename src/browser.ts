/**
 * The browser entry (package.json's `browser` condition, bundled by scripts/bundle.js): the
 * Replicator over any abstract-level database (browser-level, memory-level), dialing its
 * peers with the page's WebSocket. QuorumLevel and the Node transports are Node only.
 */
export { Replicator } from './replicator/replicator.js'
export type { ReplicatedDatabase, ReplicatorEvents } from './replicator/replicator.js'
export type { ReplicatorOptions } from './replicator/options.js'
export type { DurabilityWitness, Progress } from './storage/durability.js'
export { StorageWitness } from './storage/browser-witness.js'
export type { NoteStorage } from './storage/browser-witness.js'
export type { PeerAddress } from './transport/peer-connection.js'
export type { Transport } from './transport/dialer.js'
export { webSocketTransport } from './transport/browser-websocket.js'
export type { BrowserWebSocketTransportOptions } from './transport/browser-websocket.js'
export { CODES } from './errors.js'
export type { ErrorCode } from './errors.js'
