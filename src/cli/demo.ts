/**
 * `npm start`: quorum-level in one minute. Starts 3 hosts x 2 processes on 127.0.0.1 in
 * temporary directories, writes from every process, reads everything back from every process,
 * kills one host's leader with SIGKILL, shows its other process taking over and catching up,
 * prints a summary and exits 0 (1 if anything did not happen as it should).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DemoCommand, DemoReply } from './demo-process.js'
import { freePorts } from './free-ports.js'

const PROCESS_SCRIPT = fileURLToPath(new URL('./demo-process.js', import.meta.url))
const STEP_TIMEOUT_MS = 30_000

class DemoProcess {
  readonly name: string
  readonly #child: ChildProcess
  readonly #replies: DemoReply[] = []
  readonly #waiters = new Set<() => void>()

  constructor (name: string) {
    this.name = name
    this.#child = fork(PROCESS_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child.on('message', (message: DemoReply) => {
      this.#replies.push(message)
      for (const wake of this.#waiters) wake()
    })
  }

  send (command: DemoCommand): void {
    this.#child.send(command)
  }

  /** The next reply of `type` not consumed yet. */
  next<T extends DemoReply['type']> (type: T): Promise<Extract<DemoReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const take = (): boolean => {
        const index = this.#replies.findIndex((message) => message.type === type)
        if (index === -1) return false
        const [found] = this.#replies.splice(index, 1)
        clearTimeout(timer)
        this.#waiters.delete(take)
        resolve(found as Extract<DemoReply, { type: T }>)
        return true
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(take)
        reject(new Error(`${this.name} did not report ${type} in time`))
      }, STEP_TIMEOUT_MS)
      if (!take()) this.#waiters.add(take)
    })
  }

  kill (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve()
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.kill('SIGKILL')
    return exited
  }

  async close (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.send({ type: 'close' })
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}

async function listAll (processes: DemoProcess[]): Promise<Map<string, string>> {
  const views = new Map<string, string>()
  for (const process of processes) {
    process.send({ type: 'list' })
    const { entries } = await process.next('list')
    views.set(process.name, entries.map(([key, value]) => `${key}=${value}`).join(' '))
  }
  return views
}

async function main (): Promise<boolean> {
  const root = await mkdtemp(join(tmpdir(), 'quorum-level-demo-'))
  const ports = await freePorts(3)
  const hosts = ports.map((port, h) => ({ port, location: join(root, `host${h}`), processes: [new DemoProcess(`host${h}/p0`), new DemoProcess(`host${h}/p1`)] }))
  const all = hosts.flatMap((host) => host.processes)
  let ok = true
  const check = (condition: boolean, what: string): void => {
    console.log(`  ${condition ? 'ok  ' : 'FAIL'} ${what}`)
    if (!condition) ok = false
  }
  try {
    console.log(`quorum-level demo: 3 hosts x 2 processes on 127.0.0.1 (ports ${ports.join(', ')}), data in ${root}\n`)
    for (const host of hosts) {
      for (const process of host.processes) {
        process.send({ type: 'open', location: host.location, port: host.port, peers: ports.filter((port) => port !== host.port) })
        const { leader } = await process.next('opened')
        console.log(`${process.name} opened ${leader ? '(local leader)' : '(guest of the local leader)'}`)
      }
    }
    await Promise.all(hosts.map((host) => host.processes[0]?.next('ready')))
    console.log('\nevery host is ready: its peers are connected\n')

    for (const process of all) process.send({ type: 'put', key: `from-${process.name}`, value: `hello from ${process.name}` })
    for (const process of all) {
      const { error } = await process.next('put')
      check(error === null, `${process.name} wrote, and the cluster committed it${error === null ? '' : `: ${error}`}`)
    }
    const before = await listAll(all)
    console.log('\nwhat each process reads:')
    for (const [name, view] of before) console.log(`  ${name}: ${view}`)
    check(new Set(before.values()).size === 1, 'every process on every host reads the same data')

    const [victimHost] = hosts
    const [deadLeader, survivor] = victimHost?.processes ?? []
    if (deadLeader === undefined || survivor === undefined) throw new Error('unreachable')
    console.log(`\nkilling ${deadLeader.name}, the leader of host0, with SIGKILL...`)
    await deadLeader.kill()
    await survivor.next('leader')
    console.log(`${survivor.name} took over the lock, the socket and port ${victimHost?.port}`)
    survivor.send({ type: 'put', key: 'after-failover', value: `written by ${survivor.name}` })
    check((await survivor.next('put')).error === null, `${survivor.name} writes through the new leader`)
    hosts[1]?.processes[0]?.send({ type: 'put', key: 'from-host1-later', value: 'written while host0 changed leaders' })
    check((await hosts[1]?.processes[0]?.next('put'))?.error === null, 'host1 keeps writing; host0 catches it')

    const alive = all.filter((process) => process !== deadLeader)
    const after = await listAll(alive)
    console.log('\nwhat each live process reads now:')
    for (const [name, view] of after) console.log(`  ${name}: ${view}`)
    check(new Set(after.values()).size === 1, 'all replicas identical after the failover')
    check([...after.values()][0]?.includes('after-failover=') === true, 'the write made after the failover is everywhere')
  } finally {
    await Promise.all(all.map((process) => process.close()))
    await rm(root, { recursive: true, force: true })
  }
  console.log(ok ? '\nsummary: every write was committed by the cluster and readable from every process; a killed leader lost nothing.' : '\nsummary: something did not happen as it should (see FAIL above).')
  return ok
}

main().then((ok) => { process.exit(ok ? 0 : 1) }, (error: unknown) => {
  console.error(error)
  process.exit(1)
})
