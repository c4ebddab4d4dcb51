/**
 * Machines for tests that need separate network stacks on one computer: each machine is a
 * network namespace with its own loopback and one interface, `eth0`, whose other end is a port
 * of a bridge in one more namespace, the switch. Nothing is made in the root namespace: its
 * firewall and bridge settings cannot get in the way, and removing the namespaces removes
 * every link with them. Making namespaces needs root, or passwordless sudo.
 */
import { constants } from 'node:fs'
import { access, rm } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { type Result, runToEnd } from './cli.js'

/** How long any one `ip`, `kill` or `sudo` command may take: they return at once when well. */
const COMMAND_MS = 10_000

/** How long the processes killed in a namespace may take to be gone before it is removed. */
const GONE_MS = 10_000

/** Where `ip` lives beside `PATH`: a user's `PATH` often lacks the sbin directories. */
const IP_DIRECTORIES = ['/usr/sbin', '/sbin', '/usr/bin', '/bin']

/** Namespaces this helper makes: `ql-<pid of the test process>-<machine letter or sw>`. */
const OURS = /^ql-(\d+)-(?:sw|[a-z])$/

/** How commands run as root here, and where `ip` is. */
export interface Privilege {
  /** Put before a command to run it as root: nothing as root, `sudo -n` otherwise. */
  readonly prefix: readonly string[]
  readonly ip: string
}

/**
 * Whether this process can make namespaces: it is root, or `sudo -n` works; and `ip` (Debian's
 * iproute2) is installed. Throws a one-line error saying what is missing.
 */
export async function privilege (): Promise<Privilege> {
  let prefix: string[] = []
  if (process.getuid?.() !== 0) {
    const sudo = await command(['sudo', '-n', 'true']).catch(() => null)
    if (sudo?.code !== 0) throw unmet('this test needs root, or passwordless sudo (sudo -n), to make network namespaces: run it as root')
    prefix = ['sudo', '-n']
  }
  const ip = await findIp()
  if (ip === null) throw unmet('this test needs the ip command (Debian\'s iproute2), which is not installed: apt-get install iproute2')
  return { prefix, ip }
}

/** A missing precondition: its one line is all the test's failure shows, without a stack into this helper. */
function unmet (message: string): Error {
  const error = new Error(message)
  error.stack = `Error: ${message}`
  return error
}

/** Removes a directory the test made, with root's rights if processes run as root wrote in it. */
export async function removeTree (privilege: Privilege, path: string): Promise<void> {
  if (privilege.prefix.length === 0) await rm(path, { recursive: true, force: true, maxRetries: 5 })
  else await check([...privilege.prefix, 'rm', '-rf', '--', path])
}

/** One machine: a namespace whose `eth0` has `address`, plugged into the switch's `port`. */
interface Machine {
  readonly namespace: string
  readonly address: string
  readonly port: string
}

/** Machines on one switch, on a private /24. */
export class Network {
  readonly #machines: readonly Machine[]
  readonly #privilege: Privilege
  readonly #switch: string

  /** Names the machines, one per address; `create()` makes them. */
  constructor (privilege: Privilege, addresses: readonly string[]) {
    this.#privilege = privilege
    const tag = `ql-${process.pid}`
    this.#switch = `${tag}-sw`
    this.#machines = addresses.map((address, i) => {
      const letter = String.fromCharCode(97 + i)
      return { namespace: `${tag}-${letter}`, address, port: `sw-${letter}` }
    })
  }

  /** Makes the switch and the machines, after removing namespaces left by earlier runs. */
  async create (): Promise<void> {
    await this.#removeStale()
    await this.#ip('netns', 'add', this.#switch)
    await this.#ip('-n', this.#switch, 'link', 'add', 'br0', 'type', 'bridge')
    await this.#ip('-n', this.#switch, 'link', 'set', 'br0', 'up')
    for (const { namespace, address, port } of this.#machines) {
      await this.#ip('netns', 'add', namespace)
      await this.#ip('-n', this.#switch, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace)
      await this.#ip('-n', this.#switch, 'link', 'set', port, 'master', 'br0', 'up')
      await this.#ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
      await this.#ip('-n', namespace, 'link', 'set', 'eth0', 'up')
      // A new namespace's loopback is down: 127.0.0.1 would not even reach the machine itself.
      await this.#ip('-n', namespace, 'link', 'set', 'lo', 'up')
    }
  }

  /** Put before a command to run it on machine `i`. */
  exec (i: number): readonly string[] {
    return [...this.#privilege.prefix, this.#privilege.ip, 'netns', 'exec', this.#machine(i).namespace]
  }

  /** Runs `argv` on machine `i` to its end (within a few seconds), with its exit code and output. */
  async run (i: number, argv: readonly string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
    return await command([...this.exec(i), ...argv])
  }

  /** Cuts machine `i` off: its switch port goes down, as if its cable were pulled. */
  async cut (i: number): Promise<void> {
    await this.#ip('-n', this.#switch, 'link', 'set', this.#machine(i).port, 'down')
  }

  /** Plugs machine `i` back in. */
  async restore (i: number): Promise<void> {
    await this.#ip('-n', this.#switch, 'link', 'set', this.#machine(i).port, 'up')
  }

  /**
   * Ends every process left in the machines and removes every namespace this run made (those
   * that exist: it may run after a failed `create()`); the links go with them.
   */
  async destroy (): Promise<void> {
    const names = new Set([this.#switch, ...this.#machines.map((machine) => machine.namespace)])
    for (const name of await this.#namespaces()) if (names.has(name)) await this.#remove(name)
  }

  #machine (i: number): Machine {
    const machine = this.#machines[i]
    if (machine === undefined) throw new RangeError(`no machine ${i}`)
    return machine
  }

  /**
   * Removes namespaces of this helper left by a run that could not clean up (killed, say):
   * ours, whose process id may have been used before, and those of processes that are gone.
   * A run still going on keeps its own.
   */
  async #removeStale (): Promise<void> {
    for (const name of await this.#namespaces()) {
      const pid = Number(OURS.exec(name)?.[1] ?? Number.NaN)
      if (Number.isNaN(pid)) continue
      if (pid === process.pid || !isRunning(pid)) await this.#remove(name)
    }
  }

  async #namespaces (): Promise<string[]> {
    const { stdout } = await this.#ip('netns', 'list')
    // Each line is a name, then perhaps ` (id: 3)`.
    return stdout.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name !== '')
  }

  async #remove (name: string): Promise<void> {
    const deadline = performance.now() + GONE_MS
    for (;;) {
      const pids = (await this.#ip('netns', 'pids', name)).stdout.split('\n').filter((pid) => pid !== '')
      if (pids.length === 0) break
      if (performance.now() > deadline) throw new Error(`processes ${pids.join(', ')} of namespace ${name} outlived SIGKILL by ${GONE_MS} ms`)
      // Only processes started in this namespace are here: the test's own, in its machines.
      await this.#kill(pids)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await this.#ip('netns', 'delete', name)
  }

  /** SIGKILLs `pids`; one that is gone meanwhile is no error (the caller looks again). */
  async #kill (pids: readonly string[]): Promise<void> {
    if (this.#privilege.prefix.length === 0) {
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL')
        } catch {}
      }
    } else {
      // The shell's own kill: a system may lack the kill program (procps).
      await command([...this.#privilege.prefix, 'sh', '-c', 'kill -KILL "$@"', 'sh', ...pids])
    }
  }

  async #ip (...args: string[]): Promise<{ stdout: string }> {
    return await check([...this.#privilege.prefix, this.#privilege.ip, ...args])
  }
}

/** Whether process `pid` exists (one of another user is, too). */
function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM'
  }
}

/** The `ip` command on `PATH` or in the usual directories; null if there is none. */
async function findIp (): Promise<string | null> {
  const directories = [...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== ''), ...IP_DIRECTORIES]
  for (const directory of directories) {
    const path = join(directory, 'ip')
    try {
      await access(path, constants.X_OK)
      return path
    } catch {}
  }
  return null
}

/** Runs `argv` to its end and resolves with its exit code and output; rejects if it cannot start or hangs. */
async function command (argv: readonly string[]): Promise<Result> {
  const [file = '', ...args] = argv
  return await runToEnd([file, args], { ms: COMMAND_MS, name: argv.join(' ') })
}

/** `command`, failing unless it exits 0. */
async function check (argv: readonly string[]): Promise<{ stdout: string }> {
  const { code, stdout, stderr } = await command(argv)
  if (code !== 0) throw new Error(`${argv.join(' ')}: exit ${code ?? 'by signal'}: ${stderr.trim()}`)
  return { stdout }
}
