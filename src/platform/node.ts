/**
 * What a Replicator takes by default in Node: TCP both ways, and a witness file in the
 * temporary directory. The browser bundle swaps this module for browser.ts.
 */
import type { Transport } from '../transport/dialer.js'
import type { Listen } from '../transport/listen.js'
import { tcpListen, tcpTransport } from '../transport/tcp.js'
import { type DurabilityWitness, FileWitness } from '../storage/witness.js'

export const defaultTransport: Transport | null = tcpTransport
export const defaultListen: Listen | null = tcpListen
/** One witness for the process: it coalesces notes across Replicators. */
export const defaultWitness: DurabilityWitness = new FileWitness()
