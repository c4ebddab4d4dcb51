import type ModuleError from 'module-error'
import { CODES, createError } from '../errors.js'
import { isHostId } from './host-id.js'

/**
 * Shape checks shared by the wire validators. Each takes the untrusted value and the path
 * of the field it came from, and either returns the value with a precise type or throws
 * `LEVEL_PROTOCOL_ERROR` with a message naming that path. They never read anything they
 * have not checked first, and they never recurse on their own, so nesting is bounded by
 * the shape being checked rather than by the input.
 */

/** A validation failure: `LEVEL_PROTOCOL_ERROR`, naming the offending field. */
export function invalid (path: string, problem: string): ModuleError {
  return createError(`Invalid peer data: ${path} ${problem}`, CODES.PROTOCOL_ERROR)
}

/** An object with the prototype of `{}` or none: arrays, Maps, Dates, typed arrays and class instances are refused. */
export function expectPlainObject (value: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) throw invalid(path, `must be an object, not ${describe(value)}`)
  const prototype: unknown = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) throw invalid(path, `must be a plain object, not ${describe(value)}`)
  return value as Readonly<Record<string, unknown>>
}

/** A plain object whose own keys are exactly `names`: no more, no fewer. */
export function expectShape (value: unknown, path: string, names: readonly string[]): Readonly<Record<string, unknown>> {
  const object = expectPlainObject(value, path)
  for (const key of Reflect.ownKeys(object)) {
    if (typeof key !== 'string') throw invalid(path, 'has a symbol key')
    if (!names.includes(key)) throw invalid(`${path}.${key}`, 'is not a known field')
  }
  for (const name of names) {
    if (!Object.hasOwn(object, name)) throw invalid(`${path}.${name}`, 'is missing')
  }
  return object
}

/**
 * The discriminating field of a plain object (a message's `type`, a log entry's `kind`),
 * read before the rest of its shape, which depends on it.
 */
export function expectTag<T extends string> (value: unknown, path: string, field: string, allowed: readonly T[]): T {
  const object = expectPlainObject(value, path)
  if (!Object.hasOwn(object, field)) throw invalid(`${path}.${field}`, 'is missing')
  return expectLiteral(object[field], `${path}.${field}`, allowed)
}

/**
 * A plain object used as a dictionary: at most `max` own keys, all strings.
 *
 * @returns its own keys, enumerable or not, so that no entry escapes validation.
 */
export function expectDictionary (value: unknown, path: string, max: number): { readonly object: Readonly<Record<string, unknown>>, readonly keys: readonly string[] } {
  const object = expectPlainObject(value, path)
  const keys = Reflect.ownKeys(object)
  if (keys.length > max) throw invalid(path, `has ${keys.length} entries, over the limit of ${max}`)
  const names: string[] = []
  for (const key of keys) {
    if (typeof key !== 'string') throw invalid(path, 'has a symbol key')
    names.push(key)
  }
  return { object, keys: names }
}

/** A true array of at most `max` items. */
export function expectArray (value: unknown, path: string, max: number): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(path, `must be an array, not ${describe(value)}`)
  if (value.length > max) throw invalid(path, `has ${value.length} items, over the limit of ${max}`)
  return value
}

/** A safe integer of at least `min`: never a float, NaN, infinity, bigint or string. */
export function expectInteger (value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(path, `must be a safe integer, not ${describe(value)}`)
  if (value < min) throw invalid(path, `must be at least ${min}, not ${value}`)
  // Normalizes -0, which equals 0 but is not the same value to Object.is and deepStrictEqual.
  return value === 0 ? 0 : value
}

/** Exactly `true` or `false`: never 0, 1 or a string. */
export function expectBoolean (value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalid(path, `must be a boolean, not ${describe(value)}`)
  return value
}

/**
 * Bytes as a plain Uint8Array. A subclass (a Node Buffer) is accepted and re-viewed as a
 * plain Uint8Array over the same memory, so that no Buffer-only behaviour leaks inward.
 */
export function expectBytes (value: unknown, path: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(path, `must be bytes, not ${describe(value)}`)
  if (Object.getPrototypeOf(value) === Uint8Array.prototype) return value
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
}

/** One of the strings in `allowed`, compared exactly (case and all). */
function expectLiteral<T extends string> (value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(path, `must be one of ${allowed.map((item) => `'${item}'`).join(', ')}, not ${describe(value)}`)
  }
  return value as T
}

/** A host id that follows the rule in host-id.ts. */
export function expectHostId (value: unknown, path: string): string {
  if (!isHostId(value)) throw invalid(path, `must be a host id (1 to 64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit), not ${describe(value)}`)
  return value
}

/** A short description of an untrusted value for error messages: its kind, and its content only when short and printable. */
export function describe (value: unknown): string {
  if (value === null || value === undefined) return `${value}`
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : `${value}`
  if (typeof value === 'string') return value.length <= 32 && /^[\x20-\x7e]*$/.test(value) ? `the string '${value}'` : 'a string'
  if (typeof value !== 'object') return `a ${typeof value}`
  const prototype: unknown = Object.getPrototypeOf(value)
  if (prototype === Object.prototype || prototype === null) return 'an object'
  const name: unknown = (prototype as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && /^[A-Za-z0-9_$]{1,32}$/.test(name) ? `a ${name}` : 'an object'
}
