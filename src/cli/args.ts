import { COMMANDS, type CommandSpec, type OptionSpec } from './commands.js'
import { InputError } from './input-error.js'

/** What a command line asks for: help (of the tool, a group or a command), the version, or a command. */
type Request =
  | { readonly kind: 'help', readonly topic: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run', readonly args: Args }

/** A command line checked against its command's spec: its arguments and options, by name. */
export class Args {
  readonly command: CommandSpec
  readonly #positionals: readonly string[]
  readonly #options: ReadonlyMap<string, string | true>

  constructor (command: CommandSpec, positionals: readonly string[], options: ReadonlyMap<string, string | true>) {
    this.command = command
    this.#positionals = positionals
    this.#options = options
  }

  /** The argument named `name` in the spec (`key`): the parser made sure it is there. */
  arg (name: string): string {
    const value = this.#positionals[this.command.args.indexOf(name)]
    if (value === undefined) throw new InputError(`missing <${name}>`, this.command.name)
    return value
  }

  string (name: string): string | undefined {
    const value = this.#options.get(name)
    return typeof value === 'string' ? value : undefined
  }

  flag (name: string): boolean {
    return this.#options.get(name) === true
  }

  /** The value of an option with `choices`, which the parser checked, or `fallback`. */
  choice<T extends string> (name: string, choices: readonly T[], fallback: T): T {
    const value = this.string(name)
    return choices.find((choice) => choice === value) ?? fallback
  }

  /** An option's value as a whole number of at least `min`, or undefined if not given. */
  integer (name: string, min: number): number | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    const number = /^\d+$/.test(value) ? Number(value) : NaN
    if (!Number.isSafeInteger(number) || number < min) throw new InputError(`--${name} must be a whole number from ${min}, not "${value}"`, this.command.name)
    return number
  }
}

/**
 * Checks `argv` (without node and the script) against the commands: each option must be one
 * the command takes, given once, with a value if it takes one and one of its choices if it
 * has them; each argument must be there, and no more. `--` ends the options: what follows
 * is arguments, even if it starts with a dash. `--help` anywhere before it asks for help.
 */
export function parseCommandLine (argv: readonly string[]): Request {
  const [first, ...rest] = argv
  if (first === undefined) throw new InputError('missing command', '')
  if (first === '--help' || first === '-h') return { kind: 'help', topic: '' }
  if (first === '--version') return { kind: 'version' }
  if (first.startsWith('-')) throw new InputError(`unknown option ${first}`, '')
  const group = COMMANDS.filter((command) => command.name.startsWith(`${first} `))
  if (group.length > 0) {
    const [sub, ...subRest] = rest
    if (sub === undefined) throw new InputError(`missing command after ${first}`, first)
    if (sub === '--help' || sub === '-h') return { kind: 'help', topic: first }
    const command = group.find((candidate) => candidate.name === `${first} ${sub}`)
    if (command === undefined) throw new InputError(`unknown command ${first} ${sub}`, first)
    return parseCommand(command, subRest)
  }
  const command = COMMANDS.find((candidate) => candidate.name === first)
  if (command === undefined) throw new InputError(`unknown command ${first}`, '')
  return parseCommand(command, rest)
}

function parseCommand (command: CommandSpec, argv: readonly string[]): Request {
  const end = argv.indexOf('--')
  const before = end === -1 ? argv : argv.slice(0, end)
  if (before.includes('--help') || before.includes('-h')) return { kind: 'help', topic: command.name }
  const positionals: string[] = []
  const options = new Map<string, string | true>()
  // Typed so, it narrows what follows a call, as a throw would.
  const fail: (message: string) => never = (message) => { throw new InputError(message, command.name) }
  for (let i = 0; i < before.length; i++) {
    const word = before[i] as string
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word)
      continue
    }
    const equals = word.indexOf('=')
    const name = word.startsWith('--') ? word.slice(2, equals === -1 ? undefined : equals) : ''
    const option: OptionSpec | undefined = command.options.find((candidate) => candidate.name === name)
    if (option === undefined) fail(`unknown option ${equals === -1 ? word : word.slice(0, equals)}`)
    if (options.has(option.name)) fail(`--${option.name} is given twice`)
    if (option.value === undefined) {
      if (equals !== -1) fail(`--${option.name} takes no value`)
      options.set(option.name, true)
      continue
    }
    const value = equals === -1 ? before[++i] : word.slice(equals + 1)
    if (value === undefined) fail(`--${option.name} needs a value: --${option.name} <${option.value}>`)
    if (option.choices !== undefined && !option.choices.includes(value)) {
      fail(`--${option.name} must be one of ${option.choices.join(', ')}, not "${value}"`)
    }
    options.set(option.name, value)
  }
  if (end !== -1) positionals.push(...argv.slice(end + 1))
  const missing = command.args[positionals.length]
  if (missing !== undefined) fail(`missing <${missing}>`)
  const extra = positionals[command.args.length]
  if (extra !== undefined) fail(`unexpected argument "${extra}"`)
  return { kind: 'run', args: new Args(command, positionals, options) }
}
