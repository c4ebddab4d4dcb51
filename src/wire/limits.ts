import { SPANS_MAX } from '../core/index.js'

/**
 * Named limits of the wire layer, each with its unit and the reason for its value
 * (TigerBeetle "put a limit on everything"). A peer that exceeds one is misbehaving or is
 * not a quorum-level host: its connection is closed with `LEVEL_FRAME_TOO_LARGE` or
 * `LEVEL_PROTOCOL_ERROR`. Senders must stay within the same limits, so a write that would
 * exceed one has to be refused locally before it is ever prepared.
 */

/** Bytes of the big-endian unsigned length that precedes every frame's payload. */
export const FRAME_HEADER_BYTES = 4

/**
 * The largest length a 4-byte header can announce, in bytes. `frameBytesMax` can never be
 * set above it.
 */
export const FRAME_BYTES_LIMIT = 0xffff_ffff

/**
 * Default largest frame payload, in bytes: 16 MiB. A frame is decoded whole, so this is the
 * memory one connection can make a host buffer, and it bounds the largest replicable
 * transaction (one `prepare` carries a whole user batch) and the largest value. 16 MiB holds
 * a batch of ~100,000 small ops or single values of several MiB, while a host with a
 * few dozen peers still bounds its buffers to a few hundred MiB. msgpack can expand in
 * memory (an empty map is one byte on the wire and tens in the heap), which is why the
 * smaller {@link HANDSHAKE_FRAME_BYTES_MAX} applies until a peer has authenticated.
 */
export const FRAME_BYTES_MAX_DEFAULT = 16 * 1024 * 1024

/**
 * Largest frame payload, in bytes, that a host should accept before the peer has proved it
 * knows the secret. A hello is under 200 bytes and its rpc answer under 100; 4 KiB leaves
 * room for a long host name while denying unauthenticated peers the memory of a full frame.
 */
export const HANDSHAKE_FRAME_BYTES_MAX = 4 * 1024

/**
 * Most ops in one op array (a `prepare`, a `commit`, or one commit log entry). The core groups
 * at most 1,024 ops per transaction by default, but never splits one user batch, so the
 * limit is the largest batch quorum-level replicates: ~100x the default group commit.
 */
export const OPS_PER_MESSAGE_MAX = 100_000

/** Most log entries in one `entries` message: 10x the core's default of 1,000. */
export const LOG_ENTRIES_PER_MESSAGE_MAX = 10_000

/** Most records in one `snapshot` chunk: 10x the core's default of 1,000. */
export const SNAPSHOT_RECORDS_PER_MESSAGE_MAX = 10_000

/**
 * Most origins in one marks object. Marks name every host that ever wrote, including hosts
 * since removed from `peers`; a thousand is far above any cluster 2PC suits.
 */
export const MARKS_ORIGINS_MAX = 1_024

/**
 * Most spans per origin in one `sync`, and most spans and prepared sequence numbers in one
 * `recovery` answer: the core's own bound, which it never exceeds.
 */
export const SPANS_PER_MESSAGE_MAX = SPANS_MAX

/** Longest host id, in characters (ASCII, so also bytes): room for a UUID or a DNS name part. */
export const HOST_ID_CHARS_MAX = 64

/** Longest announced host name or address, in characters: a full DNS name is at most 253. */
export const ADDRESS_HOST_CHARS_MAX = 255

/** Most arguments in one rpc call or answer: every method of the protocol takes at most 2. */
export const RPC_ARGS_MAX = 4

/** Bytes of a handshake nonce: 256 bits, so a nonce never repeats across any host's lifetime. */
export const NONCE_BYTES = 32

/** Bytes of a handshake proof: the output of HMAC-SHA-256. */
export const PROOF_BYTES = 32

/** Most members a membership names (SPEC §15), and most characters in a member's name (`host:port`). */
export const MEMBERS_MAX = 1_024
export const MEMBER_NAME_CHARS_MAX = ADDRESS_HOST_CHARS_MAX + 6
