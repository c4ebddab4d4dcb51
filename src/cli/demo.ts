/**
 * `npm start`: quorum-level in one minute. Starts 3 hosts x 2 processes on 127.0.0.1 in
 * temporary directories, writes from every process, reads everything back from every process,
 * kills one host's leader with SIGKILL, shows its other process taking over and catching up,
 * prints a summary and exits 0 (1 if anything did not happen as it should).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DemoCommand, DemoReply } from './demo-process.js'
import { assert } from '../core/index.js'
import { Child } from './child.js'
import { freePorts } from './free-ports.js'

const PROCESS_SCRIPT = fileURLToPath(new URL('./demo-process.js', import.meta.url))
const STEP_TIMEOUT_MS = 30_000

/** One process of the demo, by name. */
class DemoProcess extends Child<DemoCommand, DemoReply> {
  readonly name: string

  constructor (name: string) {
    super(PROCESS_SCRIPT)
    this.name = name
  }
}

async function listAll (processes: DemoProcess[]): Promise<Map<string, string>> {
  const views = new Map<string, string>()
  for (const process of processes) {
    const { entries } = await process.request({ type: 'list' }, 'list', undefined, STEP_TIMEOUT_MS)
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
        const { leader } = await process.request({ type: 'open', location: host.location, port: host.port, peers: ports.filter((port) => port !== host.port) }, 'opened', undefined, STEP_TIMEOUT_MS)
        console.log(`${process.name} opened ${leader ? '(local leader)' : '(guest of the local leader)'}`)
      }
    }
    await Promise.all(hosts.map((host) => host.processes[0]?.waitFor('ready', undefined, STEP_TIMEOUT_MS)))
    console.log('\nevery host is ready: its peers are connected\n')

    const puts = all.map((process) => process.request({ type: 'put', key: `from-${process.name}`, value: `hello from ${process.name}` }, 'put', undefined, STEP_TIMEOUT_MS))
    for (const [i, process] of all.entries()) {
      const { error } = await (puts[i] as Promise<Extract<DemoReply, { type: 'put' }>>)
      check(error === null, `${process.name} wrote, and the cluster committed it${error === null ? '' : `: ${error}`}`)
    }
    const before = await listAll(all)
    console.log('\nwhat each process reads:')
    for (const [name, view] of before) console.log(`  ${name}: ${view}`)
    check(new Set(before.values()).size === 1, 'every process on every host reads the same data')

    const [victimHost] = hosts
    const [deadLeader, survivor] = victimHost?.processes ?? []
    assert(deadLeader !== undefined && survivor !== undefined, 'host0 has two processes')
    console.log(`\nkilling ${deadLeader.name}, the leader of host0, with SIGKILL...`)
    deadLeader.kill()
    await deadLeader.exited()
    await survivor.waitFor('leader', undefined, STEP_TIMEOUT_MS)
    console.log(`${survivor.name} took over the lock, the socket and port ${victimHost?.port}`)
    const afterFailover = await survivor.request({ type: 'put', key: 'after-failover', value: `written by ${survivor.name}` }, 'put', undefined, STEP_TIMEOUT_MS)
    check(afterFailover.error === null, `${survivor.name} writes through the new leader`)
    const later = await hosts[1]?.processes[0]?.request({ type: 'put', key: 'from-host1-later', value: 'written while host0 changed leaders' }, 'put', undefined, STEP_TIMEOUT_MS)
    check(later?.error === null, 'host1 keeps writing; host0 catches it')

    const alive = all.filter((process) => process !== deadLeader)
    const after = await listAll(alive)
    console.log('\nwhat each live process reads now:')
    for (const [name, view] of after) console.log(`  ${name}: ${view}`)
    check(new Set(after.values()).size === 1, 'all replicas identical after the failover')
    check([...after.values()][0]?.includes('after-failover=') === true, 'the write made after the failover is everywhere')
  } finally {
    await Promise.all(all.map((process) => process.stop({ type: 'close' })))
    await rm(root, { recursive: true, force: true })
  }
  console.log(ok ? '\nsummary: every write was committed by the cluster and readable from every process; a killed leader lost nothing.' : '\nsummary: something did not happen as it should (see FAIL above).')
  return ok
}

main().then((ok) => { process.exit(ok ? 0 : 1) }, (error: unknown) => {
  console.error(error)
  process.exit(1)
})
