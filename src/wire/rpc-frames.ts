import { RPC_ARGS_MAX } from './limits.js'
import { describe, expectArray, invalid } from './validate.js'

/**
 * A call from the peer, in rpc-stream's raw form `[method, args, id]`. `id` is -1 when the
 * caller wants no answer, else the id its answer must carry.
 */
interface RpcRequest {
  readonly kind: 'request'
  readonly method: string
  readonly args: unknown[]
  readonly id: number
}

/** An answer from the peer, in rpc-stream's raw form `[args, id]`; `args[0]` is the error. */
interface RpcResponse {
  readonly kind: 'response'
  readonly args: unknown[]
  readonly id: number
}

/** rpc-stream's "no callback" id: the request is a notification, with no answer. */
const NO_ANSWER_ID = -1

/**
 * Checks a decoded payload against the only two tuples rpc-stream's raw mode exchanges,
 * before rpc-stream sees it. rpc-stream reads a tuple's shape outside its try/catch (a bare
 * `1`, or `["put", null, 1]`, throws inside its stream and can crash the process), looks a
 * method up by name on its handler object, and logs rather than refuses an unknown answer
 * id; so the method must be one of `allowedMethods`, the args a true array, and the id a
 * safe integer (from 1, or -1 for a request that wants no answer). Whether a response id
 * belongs to a pending call, and what the args contain, is for the caller to check: only
 * it knows its calls and its methods' arguments.
 *
 * @returns a fresh tuple description; `args` is the decoded array itself (not a copy).
 * @throws `LEVEL_PROTOCOL_ERROR` naming what is wrong.
 */
export function parseRpcFrame (value: unknown, allowedMethods: ReadonlySet<string>): RpcRequest | RpcResponse {
  const tuple = expectArray(value, 'rpc frame', 3)
  if (tuple.length === 3) {
    const [method, args, id] = tuple
    if (typeof method !== 'string') throw invalid('rpc request method', `must be a string, not ${describe(method)}`)
    // has() on a Set never consults the prototype chain, unlike a lookup on rpc-stream's object.
    if (!allowedMethods.has(method)) throw invalid('rpc request method', `${describe(method)} is not allowed here`)
    return {
      kind: 'request',
      method,
      args: argsFromWire(args, 'rpc request args'),
      id: idFromWire(id, 'rpc request id', true)
    }
  }
  if (tuple.length === 2) {
    const [args, id] = tuple
    return { kind: 'response', args: argsFromWire(args, 'rpc response args'), id: idFromWire(id, 'rpc response id', false) }
  }
  throw invalid('rpc frame', `must be [method, args, id] or [args, id], not an array of ${tuple.length}`)
}

function argsFromWire (value: unknown, path: string): unknown[] {
  // A sparse array from msgpack cannot occur (every item is decoded), so a true array of
  // bounded length is all rpc-stream needs: it calls args.slice, concat and apply.
  return expectArray(value, path, RPC_ARGS_MAX) as unknown[]
}

function idFromWire (value: unknown, path: string, mayBeNoAnswer: boolean): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(path, `must be a safe integer, not ${describe(value)}`)
  if (value >= 1 || (mayBeNoAnswer && value === NO_ANSWER_ID)) return value
  throw invalid(path, mayBeNoAnswer ? `must be at least 1, or -1, not ${value}` : `must be at least 1, not ${value}`)
}
