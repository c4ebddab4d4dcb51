/**
 * What a Replicator takes by default in a browser, where this module replaces node.ts: no
 * transport (a page dials with `webSocketTransport()`), no way to accept peers, and a
 * witness in `localStorage`.
 */
import type { Transport } from '../transport/dialer.js'
import type { Listen } from '../transport/listen.js'
import type { DurabilityWitness } from '../storage/durability.js'
import { StorageWitness } from '../storage/browser-witness.js'

export const defaultTransport: Transport | null = null
export const defaultListen: Listen | null = null
export const defaultWitness: DurabilityWitness = new StorageWitness()
