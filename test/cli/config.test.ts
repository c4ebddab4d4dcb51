/**
 * Goal: a bad configuration file is refused before anything starts, in one line that names
 * the file and the field, with exit 2. Method: one file per fault in a temporary directory,
 * each given to `quorum-level serve` (and one to a client command), run as its own process;
 * the exact line is checked, so a message that stops naming its field fails the test.
 */
import assert from 'node:assert/strict'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePorts } from '../../src/cli/free-ports.js'
import { run, scratch } from './cli.js'

/** A valid host with no peers: each case below breaks one thing of it. */
const BASE = { location: './data', host: '127.0.0.1', port: 7000 }

/** Each case: the file's content (an object as JSON, a string as it is), and the line expected after `quorum-level: cluster.json: `. */
const CASES: ReadonlyArray<readonly [string, unknown, string | RegExp]> = [
  ['bad JSON', '{ "location": "./data", }', /^not valid JSON: .+$/],
  ['not an object', '[1, 2]', 'must hold a JSON object, not [1,2]'],
  ['an unknown field', { ...BASE, prot: 7000 }, 'unknown field "prot"'],
  ['location missing', { host: '127.0.0.1', port: 7000 }, '"location" is required: the data directory, relative to this file'],
  ['location not a string', { ...BASE, location: 7 }, '"location" must be a non-empty string, not 7'],
  ['port a string', { ...BASE, port: '7000x' }, '"port" must be an integer from 1 to 65535, not "7000x"'],
  ['port out of range', { ...BASE, port: 70000 }, '"port" must be an integer from 1 to 65535, not 70000'],
  ['host empty', { ...BASE, host: '' }, '"host" must be a non-empty string, not ""'],
  ['peers not an array', { ...BASE, peers: '127.0.0.1:7001' }, '"peers" must be an array of "host:port" or { "host", "port" }, not "127.0.0.1:7001"'],
  ['a peer without a port', { ...BASE, peers: ['127.0.0.1:7000', '127.0.0.1'] }, '"peers[1]" must be "host:port" or { "host", "port" }, with a port an integer from 1 to 65535, not "127.0.0.1"'],
  ['a peer object with a bad port', { ...BASE, peers: [{ host: '127.0.0.1', port: 'x' }] }, '"peers[0].port" must be an integer from 1 to 65535, not "x"'],
  ['a peer object with an unknown field', { ...BASE, peers: [{ host: '127.0.0.1', port: 7001, weight: 2 }] }, '"peers[0]" has an unknown field "weight"'],
  ['minConsensus a string', { ...BASE, peers: ['127.0.0.1:7001'], minConsensus: '1' }, '"minConsensus" must be an integer from 0, not "1"'],
  ['minConsensus above the peers (the library\'s check)', { ...BASE, peers: ['127.0.0.1:7000', '127.0.0.1:7001'], minConsensus: 2 }, 'minConsensus must be an integer from 0 to the number of peers (1) (LEVEL_INVALID_OPTION)'],
  ['writeTimeout not a number (the library\'s check)', { ...BASE, writeTimeout: 'soon' }, 'writeTimeout must be a positive integer (LEVEL_INVALID_OPTION)'],
  ['secret and secretFile both', { ...BASE, secret: 'a', secretFile: 'secret.txt' }, '"secret" and "secretFile" are both given: give one'],
  ['a missing secretFile', { ...BASE, secretFile: 'nowhere.txt' }, /^"secretFile": cannot read \/.*\/nowhere\.txt \(ENOENT\)$/]
]

test('bad configuration files: one line naming the file and the field, exit 2, nothing started', { timeout: 120_000 }, async (t) => {
  const pad = await scratch(t)
  for (const [what, content, expected] of CASES) {
    await pad.write('cluster.json', content)
    const result = await run(['serve', '--config', 'cluster.json'], pad.dir)
    assert.equal(result.code, 2, `${what}: exit 2 (stderr: ${result.stderr})`)
    assert.equal(result.stdout, '', what)
    const [line, ...more] = result.stderr.split('\n')
    assert.deepEqual(more, [''], `${what}: one line`)
    assert.ok(line?.startsWith('quorum-level: cluster.json: '), `${what}: names the file: ${line ?? ''}`)
    const message = (line ?? '').slice('quorum-level: cluster.json: '.length)
    if (typeof expected === 'string') assert.equal(message, expected, what)
    else assert.match(message, expected, what)
  }
  // serve made nothing of any of them.
  await assert.rejects(access(join(pad.dir, 'data')), { code: 'ENOENT' })
})

test('a missing configuration file, to serve and to a client command: named, exit 2', { timeout: 30_000 }, async (t) => {
  const pad = await scratch(t)
  for (const command of [['serve'], ['status'], ['get', 'k']]) {
    const result = await run([...command, '--config', 'missing.json'], pad.dir)
    assert.deepEqual(result, { code: 2, signal: null, stdout: '', stderr: 'quorum-level: missing.json: no such file\n' }, command.join(' '))
  }
})

test('a valid configuration: location and secretFile are relative to the file, the secret\'s newline trimmed', { timeout: 30_000 }, async (t) => {
  const pad = await scratch(t)
  const ports = await freePorts(2)
  const peers = ports.map((port) => ({ host: '127.0.0.1', port }))
  // Host 1's file is in a directory of its own; its secret file ends with a newline, as
  // editors leave it; host 2 gives the same secret inline. They connect only if it was trimmed.
  await pad.write('secret.txt', 'the secret\n')
  await pad.write('one/cluster.json', { location: '../data1', secretFile: '../secret.txt', host: '127.0.0.1', port: ports[0], peers, sync: true, retry: true, lockWait: 500, reconnectMsMin: 20 })
  await pad.write('two.json', { location: 'data2', secret: 'the secret', host: '127.0.0.1', port: ports[1], peers, reconnectMsMin: 20 })
  const one = pad.serve(['--config', 'one/cluster.json'])
  const two = pad.serve(['--config', 'two.json'])
  const serving = await one.waitForLine(/serving /)
  assert.ok(serving.endsWith(` serving ${join(pad.dir, 'data1')}`), serving)
  await one.waitForLine(new RegExp(`peer 127\\.0\\.0\\.1:${ports[1] ?? ''}: connect$`))
  await two.waitForLine(new RegExp(`peer 127\\.0\\.0\\.1:${ports[0] ?? ''}: connect$`))
  for (const server of [one, two]) assert.deepEqual(await server.stop(), { code: 0, signal: null })
})
