import ModuleError from 'module-error'
import { CODES } from '../errors.js'

/**
 * Something the user gave the tool is wrong: an argument, an option, or the configuration
 * file. Nothing was started, and the same command cannot succeed until it is fixed, so the
 * tool says what and where in one line and exits 2 (a failure at run time exits 1).
 */
export class InputError extends ModuleError {
  /**
   * The command whose `--help` explains what it takes (`''` for the tool itself), or null
   * where usage is not the point (a configuration file).
   */
  readonly usageOf: string | null

  constructor (message: string, usageOf: string | null, cause?: Error) {
    super(message, { code: CODES.INVALID_OPTION, expected: true, ...(cause === undefined ? {} : { cause }) })
    this.usageOf = usageOf
  }
}
