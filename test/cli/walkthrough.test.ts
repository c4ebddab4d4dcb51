/**
 * Goal: README's "Three machines" walkthrough is true as written, over a real network: its
 * configuration file, every command on the machine its prompt names, and every output shown.
 * Method: three network namespaces on one bridge (test/cli/netns.ts), each with its own
 * address and loopback; the README's config on each (its addresses mapped to the test's), a
 * `quorum-level serve` in each, the README's commands in order, the cut done at the switch.
 * Needs root or passwordless sudo, and fails (never skips) without.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { ReplicatorStatus } from '../../src/index.js'
import { type Result, run, Server, WAIT_MS } from './cli.js'
import { Network, type Privilege, privilege, removeTree } from './netns.js'

/** The machines as README names them, and as the test makes them. */
const README_NETWORK = '10.0.0.'
const TEST_NETWORK = '10.213.0.'
const MACHINES = 3

/** A peer unanswered for callTimeout (5 s), at most a ping interval (5 s) after the cut. */
const DISCONNECT_MS = 30_000
/** README promises about 15 s; more for a loaded machine. */
const RECONNECT_MS = 45_000

/** One command of the walkthrough: the machine its prompt names, and the output shown after it. */
interface Step {
  readonly machine: string
  readonly command: string
  readonly output: readonly string[]
}

/** The walkthrough's configuration file and its commands, from README. */
async function readWalkthrough (): Promise<{ config: string, steps: Step[] }> {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8')
  const section = readme.split('\n### Three machines\n')[1]?.split(/\n#{1,3} /)[0]
  assert.ok(section !== undefined, 'README has a "### Three machines" section')
  const configs: string[] = []
  const steps: Array<{ machine: string, command: string, output: string[] }> = []
  for (const [, language, body] of section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    if (language === 'json') {
      configs.push(body ?? '')
      continue
    }
    for (const line of (body ?? '').split('\n').slice(0, -1)) {
      const prompt = /^(\S+)\$ (.*)$/.exec(line)
      if (prompt !== null) steps.push({ machine: prompt[1] ?? '', command: prompt[2] ?? '', output: [] })
      else steps.at(-1)?.output.push(line)
    }
  }
  assert.equal(configs.length, 1, 'the walkthrough shows one configuration file')
  return { config: configs[0] ?? '', steps }
}

/** README's text with the test's addresses for README's. */
function translate (text: string): string {
  return text.replaceAll(README_NETWORK, TEST_NETWORK)
}

/**
 * Output lines as compared with README's: identities, round trips and lags differ from run to
 * run, the tombstone count may not be counted yet, and columns are as wide as what they hold.
 */
function normalize (lines: readonly string[]): string[] {
  return lines.map((line) => line
    .replace(/\b[0-9a-f]{32}\b/g, '<id>')
    .replace(/round trip (?:-|\S+ ms)/, 'round trip <ms>')
    .replace(/lag (?:-|\d+)/, 'lag <n>')
    .replace(/^tombstones: +(?:\d+|not counted yet), \d+ collected since the start$/, 'tombstones:  <n>, <n> collected since the start')
    .replace(/ {2,}/g, '  ')
    .trimEnd())
}

function linesOf (text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n')
}

test('README "Three machines": three namespaces, status, put and get across them, one cut off and back', { timeout: 240_000 }, async (t) => {
  // The one-line reason this cannot run, if it cannot, is the test's failure.
  const root: Privilege = await privilege()
  const { config, steps } = await readWalkthrough()
  const addresses = Array.from({ length: MACHINES }, (_, i) => `${TEST_NETWORK}${i + 1}`)
  const network = new Network(root, addresses)
  const dir = await mkdtemp(join(tmpdir(), 'quorum-level-walkthrough-'))
  const servers: Server[] = []
  t.after(async () => {
    try {
      await Promise.all(servers.map((server) => server.kill()))
    } finally {
      try {
        await network.destroy()
      } finally {
        await removeTree(root, dir)
      }
    }
  })
  await network.create()

  // A directory per machine: README's configuration file, with its own host, and the secret.
  const machineDirs: string[] = []
  const shown = JSON.parse(translate(config)) as Record<string, unknown>
  assert.equal(shown['host'], addresses[0], 'README\'s file is the first machine\'s')
  assert.equal(typeof shown['secretFile'], 'string', 'README\'s file names a secret file')
  const secret = `${randomBytes(32).toString('hex')}\n`
  for (const [i, address] of addresses.entries()) {
    const machineDir = join(dir, String.fromCharCode(97 + i))
    await mkdir(machineDir)
    await writeFile(join(machineDir, 'cluster.json'), JSON.stringify({ ...shown, host: address }, null, 2))
    await writeFile(join(machineDir, shown['secretFile'] as string), secret, { mode: 0o600 })
    machineDirs.push(machineDir)
  }

  /** README's next step must be `command` on machine `i`. */
  const next = (i: number, command: string): Step => {
    const step = steps.shift()
    assert.deepEqual(step && { machine: translate(step.machine), command: step.command }, { machine: addresses[i], command }, 'README\'s next step')
    assert.ok(step !== undefined)
    assert.match(command, /^quorum-level [^'"\\]+$/, 'a command the test splits at spaces')
    return step
  }
  /** `quorum-level serve` on machine `i`, as README's next step. */
  const serve = (i: number): Server => {
    const step = next(i, 'quorum-level serve --config cluster.json')
    assert.deepEqual(step.output, [], 'README shows no output for serve')
    const server = new Server(['--config', 'cluster.json'], machineDirs[i] as string, network.exec(i))
    servers.push(server)
    return server
  }
  /** A command on machine `i` in its directory, in the namespace. */
  const on = async (i: number, command: string): Promise<Result> => {
    return await run(command.split(' ').slice(1), machineDirs[i] as string, WAIT_MS, network.exec(i))
  }
  /** `command` on machine `i`, again every 250 ms while `until` rejects its result, for at most `ms`. */
  const poll = async (i: number, command: string, until: (result: Result) => boolean, ms: number): Promise<Result> => {
    const deadline = performance.now() + ms
    let result = await on(i, command)
    while (!until(result) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      result = await on(i, command)
    }
    return result
  }
  /**
   * README's next step, run on machine `i` (again while `until` rejects its result, for at most
   * `ms`); its output must be README's.
   */
  const walk = async (i: number, command: string, until = (_result: Result): boolean => true, ms = 0): Promise<Result> => {
    const step = next(i, command)
    const result = await poll(i, command, until, ms)
    assert.deepEqual(normalize(linesOf(result.stdout + result.stderr)), normalize(step.output.map(translate)), `the output of ${command} on ${addresses[i] ?? '?'}, as README shows it`)
    return result
  }
  /** Machine `i`'s status, polled until `wanted` holds; fails after `ms`. */
  const statusUntil = async (i: number, wanted: (status: ReplicatorStatus) => boolean, what: string, ms: number): Promise<ReplicatorStatus> => {
    const deadline = performance.now() + ms
    for (;;) {
      const result = await on(i, 'quorum-level status --json --config cluster.json')
      assert.equal(result.code, 0, result.stderr)
      const status = JSON.parse(result.stdout) as ReplicatorStatus
      if (wanted(status)) return status
      if (performance.now() > deadline) assert.fail(`${addresses[i] ?? '?'}: not ${what} within ${ms} ms; status: ${result.stdout}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  const peerOf = (status: ReplicatorStatus, j: number): ReplicatorStatus['peers'][number] | undefined => {
    return status.peers.find((peer) => peer.host === addresses[j])
  }

  // The first machine serves, on every interface; from the second, 127.0.0.1 is that machine's
  // own loopback, where nothing listens, while the first's address answers: the hosts can only
  // talk over the bridge.
  assert.equal(shown['listenHost'], '0.0.0.0', 'hosts listen on every interface, loopback too')
  const first = serve(0)
  await first.waitForLine(/serving /)
  const probe = "const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]); s.on('connect', () => { console.log('connected'); s.destroy() }); s.on('error', (error) => { console.log(error.code) })"
  const port = String(shown['port'])
  assert.equal((await network.run(1, [process.execPath, '-e', probe, '127.0.0.1', port])).stdout, 'ECONNREFUSED\n', 'another machine\'s 127.0.0.1 is not the first\'s')
  assert.equal((await network.run(1, [process.execPath, '-e', probe, addresses[0] as string, port])).stdout, 'connected\n', 'another machine reaches the first by its address')

  // The others serve; each host logs a connect for each peer, and its readiness.
  const rest = [serve(1), serve(2)]
  await Promise.all([first, ...rest].map(async (server, i) => {
    await server.waitForLine(/ready: writes can start/)
    for (const [j, address] of addresses.entries()) if (j !== i) await server.waitForLine(new RegExp(`peer ${address.replaceAll('.', '\\.')}:${port}: connect$`))
  }))

  // Status, a write on one machine, a strong read of it on another.
  assert.equal((await walk(0, 'quorum-level status --config cluster.json')).code, 0)
  assert.equal((await walk(0, 'quorum-level put city Lisbon --config cluster.json')).code, 0)
  assert.equal((await walk(1, 'quorum-level get city --consistency strong --config cluster.json')).code, 0)

  // README shows the third machine's copy as it was when cut off: with the write, which reached
  // it a moment after the put resolved (the put waited for one peer, not for both).
  const copied = await poll(2, 'quorum-level get city --config cluster.json', (result) => result.stdout === 'Lisbon\n', WAIT_MS)
  assert.equal(copied.stdout, 'Lisbon\n', 'the third machine applied the write before the cut')

  // The third machine's cable is pulled: the other two see it disconnected, it sees both so.
  let started = performance.now()
  await network.cut(2)
  const cut = await Promise.all([
    statusUntil(0, (status) => peerOf(status, 2)?.connected === false, 'showing the third disconnected', DISCONNECT_MS),
    statusUntil(1, (status) => peerOf(status, 2)?.connected === false, 'showing the third disconnected', DISCONNECT_MS),
    statusUntil(2, (status) => status.peers.every((peer) => !peer.connected), 'showing both peers disconnected', DISCONNECT_MS)
  ])
  t.diagnostic(`the cut seen on every machine after ${Math.round(performance.now() - started)} ms`)
  assert.deepEqual(cut.map((status) => status.ready), [true, true, false], 'the two are still ready, the third alone is not')
  assert.equal((await walk(0, 'quorum-level members list --config cluster.json')).code, 0)
  // Writes go on with two.
  assert.equal((await walk(1, 'quorum-level put city Oslo --config cluster.json')).code, 0)
  assert.equal((await walk(0, 'quorum-level get city --config cluster.json')).code, 0)
  // The third, alone: its write fails, its reads are its own copy from before the cut.
  assert.equal((await walk(2, 'quorum-level put city Paris --config cluster.json')).code, 1)
  assert.equal((await walk(2, 'quorum-level get city --config cluster.json')).code, 0)

  // Plugged back in: the third reconnects, is ready, and catches up on the write it missed.
  started = performance.now()
  await network.restore(2)
  await statusUntil(2, (status) => status.ready && status.peers.every((peer) => peer.connected), 'ready with both peers connected again', RECONNECT_MS)
  t.diagnostic(`the third machine ready again ${Math.round(performance.now() - started)} ms after it was plugged back in`)
  assert.equal((await walk(2, 'quorum-level get city --config cluster.json', (result) => result.stdout === 'Oslo\n', WAIT_MS)).code, 0)
  // Its failed write left nothing anywhere: the cluster's latest value is the one made without it.
  assert.equal((await on(0, 'quorum-level get city --consistency strong --config cluster.json')).stdout, 'Oslo\n')
  assert.deepEqual(steps, [], 'every step of README\'s walkthrough ran')

  // Every host stops cleanly.
  for (const server of servers) assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
})
