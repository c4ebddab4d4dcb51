import { COMMANDS, type CommandSpec, HELP_OPTION, type OptionSpec } from './commands.js'

const EXIT_CODES = 'Exit codes: 0 done; 1 failed at run time (a write the cluster did not commit, a missing key, no host serving the directory); 2 wrong arguments or configuration.'

/** The help of the tool (`''`), of a group of commands (`members`), or of one command. */
export function helpText (topic: string): string {
  const command = COMMANDS.find((candidate) => candidate.name === topic)
  if (command !== undefined) return commandHelp(command)
  const commands = topic === '' ? COMMANDS : COMMANDS.filter((candidate) => candidate.name.startsWith(`${topic} `))
  return [
    `Usage: quorum-level ${topic === '' ? '' : `${topic} `}<command> [options]`,
    '',
    ...(topic === '' ? ['One LevelDB database shared by many processes on several hosts: run a host with serve, then', 'read, write and watch it from any process of that host.', ''] : []),
    'Commands:',
    ...columns(commands.map((candidate) => [`${candidate.name}${candidate.args.map((arg) => ` <${arg}>`).join('')}`, candidate.summary])),
    '',
    `Every command takes --help.${topic === '' ? ' --version prints the version.' : ''}`,
    ...wrap(EXIT_CODES)
  ].join('\n')
}

function commandHelp (command: CommandSpec): string {
  return [
    `Usage: quorum-level ${command.name}${command.args.map((arg) => ` <${arg}>`).join('')} [options]`,
    '',
    ...wrap(command.description),
    '',
    'Options:',
    ...columns([...command.options, HELP_OPTION].map((option) => [optionUsage(option), option.summary])),
    '',
    command.examples.length === 1 ? 'Example:' : 'Examples:',
    ...command.examples.map((example) => `  ${example}`),
    '',
    ...wrap(EXIT_CODES)
  ].join('\n')
}

function optionUsage (option: OptionSpec): string {
  const short = option === HELP_OPTION ? '-h, ' : ''
  return `${short}--${option.name}${option.value === undefined ? '' : ` <${option.value}>`}`
}

/** Two columns, indented, the second lined up. */
function columns (rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)
}

/** A paragraph in lines of at most 90 characters. */
function wrap (text: string): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > 90) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines
}
