/**
 * Goal: the command never leads from a client, and `serve` comes and goes cleanly: a client
 * command where no host serves the directory fails in one line and leaves the directory as it
 * was (unlocked, not even made); a second `serve` joins the host and takes over when the
 * first stops; SIGTERM and SIGINT close the database and exit 0. Method: real `quorum-level`
 * processes in a temporary directory; whether the directory is free is asked of classic-level
 * and QuorumLevel themselves, which can open it only then.
 */
import assert from 'node:assert/strict'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { QuorumLevel } from '../../src/index.js'
import { WAIT_MS, run, scratch } from './cli.js'

/** Every client command, with what it needs besides the directory. */
const CLIENT_COMMANDS: ReadonlyArray<readonly string[]> = [['status'], ['members', 'list'], ['get', 'k'], ['put', 'k', 'v'], ['del', 'k'], ['ls'], ['metrics']]

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T> (promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not done within ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

test('client commands where no host serves: one clear line, exit 1, the directory left alone', { timeout: 60_000 }, async (t) => {
  const pad = await scratch(t)
  // A database made and closed by classic-level: there, but nobody serves it.
  const location = join(pad.dir, 'data')
  const made = new ClassicLevel(location)
  await within(made.open(), 'making the directory')
  await made.close()
  for (const command of CLIENT_COMMANDS) {
    const result = await run([...command, '--location', 'data', '--wait', '300'], pad.dir)
    assert.equal(result.code, 1, command.join(' '))
    assert.equal(result.stdout, '', command.join(' '))
    assert.equal(result.stderr, `quorum-level: No quorum-level host serves ${location} (waited 300 ms for its leader; this process does not lead): start one, e.g. with \`quorum-level serve\` (LEVEL_NOT_READY)\n`, command.join(' '))
  }
  // Nothing holds the lock, and nothing was written: classic-level opens it and finds it empty.
  const after = new ClassicLevel(location)
  await within(after.open(), 'classic-level opening the directory')
  assert.deepEqual(await after.keys().all(), [])
  await after.close()
  // A directory that does not exist is not made.
  const nowhere = await run(['put', 'k', 'v', '--location', 'nowhere', '--wait', '0'], pad.dir)
  assert.equal(nowhere.code, 1)
  await assert.rejects(access(join(pad.dir, 'nowhere')), { code: 'ENOENT' })
})

test('serve ends on SIGTERM: exit 0, the database closed, its data there for the next to open', { timeout: 60_000 }, async (t) => {
  const pad = await scratch(t)
  await pad.write('solo.json', { location: 'data' })
  const server = pad.serve(['--config', 'solo.json'])
  await server.waitForLine(/serving /)
  assert.equal((await run(['put', 'k', 'v', '--config', 'solo.json'], pad.dir)).code, 0)
  assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
  // The Replicator logged its close (the database's), then serve its own end.
  assert.deepEqual(server.lines.slice(-3).map((line) => line.replace(/^\S+ /, '')), ['info  SIGTERM: closing the database', 'info  closed', 'info  database closed'])
  // It let go of everything: a QuorumLevel process opens the directory and leads it.
  const db = new QuorumLevel(join(pad.dir, 'data'), { lockWait: 1_000 })
  try {
    await within(db.open(), 'QuorumLevel opening the directory')
    assert.equal(db.isLeader, true)
    assert.equal(await db.get('k'), 'v')
  } finally {
    await within(db.close(), 'closing it')
  }
})

test('a second serve joins the host, takes over on SIGINT of the first, and serves the clients', { timeout: 60_000 }, async (t) => {
  const pad = await scratch(t)
  await pad.write('solo.json', { location: 'data' })
  const first = pad.serve(['--config', 'solo.json', '--log-format', 'json'])
  await first.waitForLine(/"event":"serve"/)
  const second = pad.serve(['--config', 'solo.json', '--log-format', 'json'])
  const joined = JSON.parse(await second.waitForLine(/"event":"serve"/)) as { level: string, message: string, time: number }
  assert.equal(joined.level, 'info')
  assert.match(joined.message, /joined its host as a process/)
  assert.equal((await run(['put', 'before', '1', '--config', 'solo.json'], pad.dir)).code, 0)
  assert.deepEqual(await first.stop('SIGINT'), { code: 0, signal: null })
  const led = JSON.parse(await second.waitForLine(/"event":"leader"/)) as { message: string }
  assert.equal(led.message, 'this process leads its host now')
  assert.equal((await run(['put', 'after', '2', '--config', 'solo.json'], pad.dir)).code, 0)
  assert.equal((await run(['ls', '--config', 'solo.json'], pad.dir)).stdout, 'after\t2\nbefore\t1\n')
  // Every line of both logs is one JSON record.
  for (const line of [...first.lines, ...second.lines]) assert.equal(typeof (JSON.parse(line) as { event: unknown }).event, 'string')
  assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null })
})
