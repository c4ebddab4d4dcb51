import { randomBytes } from 'node:crypto'
import type { WriteId } from '../core/index.js'
import { CODES, createError } from '../errors.js'

/** A write as the local layer carries it: keys and values already encoded. */
export type BatchOp =
  | { readonly type: 'put', readonly key: Buffer, readonly value: Buffer }
  | { readonly type: 'del', readonly key: Buffer }

/**
 * Names every write of one open database: a random writer and a counter from 1. A new open
 * gets a new writer, so the ids of two lives never collide (SPEC §12.5).
 */
export class WriteIds {
  readonly #writer = randomBytes(16).toString('hex')
  #counter = 0

  next (): WriteId {
    return { writer: this.#writer, counter: ++this.#counter }
  }
}

/**
 * many-level's protocol carries a batch's operations and nothing else, so a guest sends the
 * write id as one more operation, always the last: a put of this key whose value is
 * `<writer>:<counter>`. Only the last operation is read as a marker, so a user key that
 * happens to look like one, anywhere else in a batch, is data.
 */
const MARKER_KEY = Buffer.from([0xff, 0xff, 0x71, 0x6c, 0x77])
const WRITER_CHARS = /^[0-9a-f]{1,64}$/

/** The operations a guest sends for `ops` written under `id`. */
export function stampWriteId (ops: readonly BatchOp[], id: WriteId): BatchOp[] {
  return [...ops, { type: 'put', key: MARKER_KEY, value: Buffer.from(`${id.writer}:${id.counter}`) }]
}

/**
 * What the leader reads back from a guest's batch: the write id from its last operation,
 * and the operations to write. A batch without a marker (a plain many-level guest) has no id.
 * @throws {ModuleError} `LEVEL_NOT_SUPPORTED` for a marker that does not parse.
 */
export function readWriteId (ops: readonly BatchOp[]): { ops: readonly BatchOp[], id: WriteId | null } {
  const last = ops[ops.length - 1]
  if (last === undefined || last.type !== 'put' || !MARKER_KEY.equals(last.key)) return { ops, id: null }
  const text = last.value.toString('utf8')
  const colon = text.indexOf(':')
  const writer = text.slice(0, colon)
  const counter = Number(text.slice(colon + 1))
  if (colon === -1 || !WRITER_CHARS.test(writer) || !Number.isSafeInteger(counter) || counter < 1) {
    throw createError('Malformed write id', CODES.NOT_SUPPORTED)
  }
  return { ops: ops.slice(0, -1), id: { writer, counter } }
}
