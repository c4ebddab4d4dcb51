/**
 * Goal: the command explains itself and refuses a wrong command line plainly: `--help` of the
 * tool and of every command prints usage on stdout with exit 0; an unknown command or option,
 * a missing argument or value, a bad value, one line on stderr with exit 2 and no stack.
 * Method: `quorum-level` run as a process for each case; none reaches a database.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { test } from 'node:test'
import { COMMANDS } from '../../src/cli/commands.js'
import { run } from './cli.js'

const HERE = tmpdir()

test('--help of the tool lists every command; -h too', { timeout: 30_000 }, async () => {
  for (const flag of ['--help', '-h']) {
    const result = await run([flag], HERE)
    assert.equal(result.code, 0)
    assert.equal(result.stderr, '')
    assert.match(result.stdout, /^Usage: quorum-level <command> \[options\]\n/)
    for (const command of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${command.name}\\b`, 'm'))
    assert.match(result.stdout, /Exit codes: 0 done; 1 failed at run time/)
  }
})

test('--help of each command: its usage, every option it takes, exit 0', { timeout: 60_000 }, async () => {
  for (const command of COMMANDS) {
    const result = await run([...command.name.split(' '), '--help'], HERE)
    assert.equal(result.code, 0, command.name)
    assert.equal(result.stderr, '', command.name)
    assert.ok(result.stdout.startsWith(`Usage: quorum-level ${command.name}${command.args.map((arg) => ` <${arg}>`).join('')} [options]\n`), result.stdout)
    for (const option of command.options) assert.match(result.stdout, new RegExp(`^  --${option.name}\\b`, 'm'), `${command.name} --${option.name}`)
  }
  const group = await run(['members', '--help'], HERE)
  assert.equal(group.code, 0)
  assert.match(group.stdout, /^ {2}members list +this host and each configured peer/m)
  for (const name of ['add', 'remove', 'min-consensus']) assert.match(group.stdout, new RegExp(`^ {2}members ${name} `, 'm'))
})

test('--version prints the package version', { timeout: 30_000 }, async () => {
  const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  assert.deepEqual(await run(['--version'], HERE), { code: 0, signal: null, stdout: `${version}\n`, stderr: '' })
})

/** Each wrong command line and the one line it gets. */
const WRONG: ReadonlyArray<readonly [readonly string[], string]> = [
  [[], 'missing command (see quorum-level --help)'],
  [['--foo'], 'unknown option --foo (see quorum-level --help)'],
  [['frobnicate'], 'unknown command frobnicate (see quorum-level --help)'],
  [['status', '--foo'], 'unknown option --foo (see quorum-level status --help)'],
  [['status', '--foo=1'], 'unknown option --foo (see quorum-level status --help)'],
  [['ls', '-x'], 'unknown option -x (see quorum-level ls --help)'],
  [['members'], 'missing command after members (see quorum-level members --help)'],
  [['members', 'add'], 'missing <address> (see quorum-level members add --help)'],
  [['members', 'join'], 'unknown command members join (see quorum-level members --help)'],
  [['get', '--location', 'data'], 'missing <key> (see quorum-level get --help)'],
  [['put', 'k', '--location', 'data'], 'missing <value> (see quorum-level put --help)'],
  [['del', 'a', 'b', '--location', 'data'], 'unexpected argument "b" (see quorum-level del --help)'],
  [['get', 'k', '--location'], '--location needs a value: --location <dir> (see quorum-level get --help)'],
  [['get', 'k', '--location', 'a', '--location', 'b'], '--location is given twice (see quorum-level get --help)'],
  [['get', 'k', '--consistency', 'eventual', '--location', 'data'], '--consistency must be one of local, strong, not "eventual" (see quorum-level get --help)'],
  [['ls', '--limit', 'ten', '--location', 'data'], '--limit must be a whole number from 0, not "ten" (see quorum-level ls --help)'],
  [['ls', '--keys-only=yes', '--location', 'data'], '--keys-only takes no value (see quorum-level ls --help)'],
  [['status'], 'missing --config <file> or --location <dir> (see quorum-level status --help)'],
  [['status', '--config', 'c.json', '--location', 'data'], 'give --config or --location, not both (see quorum-level status --help)'],
  [['serve'], 'missing --config <file> (see quorum-level serve --help)'],
  [['serve', '--location', 'data'], 'unknown option --location (see quorum-level serve --help)'],
  [['put', 'k', '{nope', '--value-encoding', 'json', '--location', 'data'], '<value> is not JSON: {nope (see quorum-level put --help)'],
  [['get', 'abc', '--key-encoding', 'hex', '--location', 'data'], '<key> is not hex (pairs of 0-9 and a-f): abc (see quorum-level get --help)']
]

test('wrong command lines: one line on stderr, exit 2, nothing on stdout', { timeout: 60_000 }, async () => {
  // One at a time: the machine's cores are shared.
  for (const [args, message] of WRONG) {
    assert.deepEqual(await run(args, HERE), { code: 2, signal: null, stdout: '', stderr: `quorum-level: ${message}\n` }, `quorum-level ${args.join(' ')}`)
  }
})

test('-- ends the options: a key that starts with a dash is a key', { timeout: 30_000 }, async () => {
  // It gets as far as looking for the host: the key was taken as one.
  const result = await run(['get', '--location', 'nowhere', '--wait', '0', '--', '--help'], HERE)
  assert.equal(result.code, 1)
  assert.match(result.stderr, /^quorum-level: No quorum-level host serves .*\(LEVEL_NOT_READY\)\n$/)
})
