import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePorts } from '../../src/cli/free-ports.js'

/** The built command, run as its users run it: `node dist/src/cli/quorum-level.js ...`. */
const SCRIPT = fileURLToPath(new URL('../../src/cli/quorum-level.js', import.meta.url))

/** How long a test waits for any one thing: a command to exit, a log line to show. */
export const WAIT_MS = 20_000

/** How a command ended, and what it printed. */
export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The command line that runs `quorum-level ...args`, after `prefix`: a command that runs
 * another, such as `ip netns exec <name>` to run it in a network namespace.
 */
function commandLine (prefix: readonly string[], args: readonly string[]): [string, string[]] {
  const [command = process.execPath, ...rest] = [...prefix, process.execPath, SCRIPT, ...args]
  return [command, rest]
}

/**
 * Runs `quorum-level ...args` in `cwd` to its end, after `prefix` if given; killed (and the
 * test failed) after `ms`.
 */
export async function run (args: readonly string[], cwd: string, ms = WAIT_MS, prefix: readonly string[] = []): Promise<Result> {
  return await runToEnd(commandLine(prefix, args), { cwd, ms, name: `quorum-level ${args.join(' ')}` })
}

/**
 * Runs `file` with `args` to its end and resolves with how it ended and what it printed;
 * rejects if it cannot start, or is killed after `ms` (its stderr so far in the message).
 */
export function runToEnd ([file, args]: readonly [string, readonly string[]], options: { readonly cwd?: string, readonly ms: number, readonly name: string }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${options.name}: not done within ${options.ms} ms; stderr: ${stderr}`))
    }, options.ms)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** A `quorum-level serve` process (after `prefix`, as `run`'s), its stderr kept line by line. */
export class Server {
  readonly lines: string[] = []
  readonly #child: ChildProcess
  readonly #exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  readonly #waiters = new Set<() => void>()

  constructor (args: readonly string[], cwd: string, prefix: readonly string[] = []) {
    this.#child = spawn(...commandLine(prefix, ['serve', ...args]), { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
    this.#exit = new Promise((resolve) => { this.#child.once('exit', (code, signal) => { resolve({ code, signal }) }) })
    let partial = ''
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      this.lines.push(...parts)
      for (const wake of this.#waiters) wake()
    })
  }

  /** The first line of its log that matches `pattern`; rejects after `ms`, or if it exits first. */
  waitForLine (pattern: RegExp, ms = WAIT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | null, line?: string): void => {
        clearTimeout(timer)
        this.#waiters.delete(find)
        if (error === null) resolve(line as string)
        else reject(error)
      }
      const find = (): void => {
        const line = this.lines.find((candidate) => pattern.test(candidate))
        if (line !== undefined) done(null, line)
      }
      const timer = setTimeout(() => { done(new Error(`serve logged no line matching ${String(pattern)} within ${ms} ms; it logged:\n${this.lines.join('\n')}`)) }, ms)
      this.#exit.then(({ code, signal }) => {
        find()
        done(new Error(`serve exited (${code ?? signal ?? '?'}) before logging a line matching ${String(pattern)}; it logged:\n${this.lines.join('\n')}`))
      }, () => {})
      this.#waiters.add(find)
      find()
    })
  }

  /** Sends `signal` and resolves with how it exited; SIGKILLed (and rejected) after `ms`. */
  async stop (signal: NodeJS.Signals = 'SIGTERM', ms = WAIT_MS): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    this.#child.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.kill().catch(() => {})
        reject(new Error(`serve did not exit within ${ms} ms of ${signal}; it logged:\n${this.lines.join('\n')}`))
      }, ms)
    })
    try {
      return await Promise.race([this.#exit, late])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Ends it for good, whatever it is doing, and waits for that. */
  async kill (): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
    await this.#exit
  }
}

/** A temporary directory for one test, and the servers it started: all gone when it ends. */
export interface Scratch {
  readonly dir: string
  /** Starts `quorum-level serve ...args` in the directory; it is killed when the test ends. */
  serve: (args: readonly string[]) => Server
  /** Writes `name` in the directory: an object as JSON, a string as it is. Returns its path. */
  write: (name: string, content: unknown) => Promise<string>
}

export async function scratch (t: TestContext): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'quorum-level-cli-'))
  const servers: Server[] = []
  t.after(async () => {
    try {
      await Promise.all(servers.map((server) => server.kill()))
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 5 })
    }
  })
  return {
    dir,
    serve: (args) => {
      const server = new Server(args, dir)
      servers.push(server)
      return server
    },
    write: async (name, content) => {
      const path = join(dir, name)
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
      return path
    }
  }
}

/**
 * Configuration files `host1.json`... for `count` hosts on 127.0.0.1 with one shared member
 * list (each host finds itself in it), data in `data1`..., quick reconnection; `extra(i)`
 * adds or replaces fields of host i (from 0). Returns the files' names and the ports.
 */
export async function writeCluster (scratchpad: Scratch, count: number, extra: (i: number) => Record<string, unknown> = () => ({})): Promise<{ configs: string[], ports: number[] }> {
  const ports = await freePorts(count)
  const configs: string[] = []
  for (const [i, port] of ports.entries()) {
    const name = `host${i + 1}.json`
    await scratchpad.write(name, {
      location: `./data${i + 1}`,
      host: '127.0.0.1',
      port,
      peers: ports.map((member) => `127.0.0.1:${member}`),
      reconnectMsMin: 20,
      reconnectMsMax: 200,
      ...extra(i)
    })
    configs.push(name)
  }
  return { configs, ports }
}

/** A command that must succeed: its stdout, after checking it exited 0 and said nothing on stderr. */
export function ok (result: Result): string {
  assert.equal(result.stderr, '', 'nothing on stderr')
  assert.equal(result.code, 0, 'exit 0')
  return result.stdout
}
