import { HOST_ID_CHARS_MAX } from './limits.js'

/**
 * The rule for a host id (a cluster identity) anywhere on the wire: 1 to 64 characters of
 * `A-Z a-z 0-9 . _ : -`, the first a letter or a digit. Host ids become object keys in
 * marks, log lines and file names, so the alphabet is kept small; the first character rules
 * out `__proto__` (and msgpackr's `__proto_` renaming of it) and names that read as flags.
 */
const HOST_ID_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${HOST_ID_CHARS_MAX - 1}}$`)

/** Whether `value` is a string that follows the {@link HOST_ID_PATTERN} rule. */
export function isHostId (value: unknown): value is string {
  return typeof value === 'string' && HOST_ID_PATTERN.test(value)
}
