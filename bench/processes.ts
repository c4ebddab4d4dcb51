/** Benchmark processes: start, wait, time a workload across several of them, stop. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HostCommand, HostReply } from './protocol.js'
import type { HostSetup } from './host.js'
import { type Figures, figures } from './report.js'
import { Child } from '../src/cli/child.js'
import { freePorts } from '../src/cli/free-ports.js'

export type Process = Child<HostCommand, HostReply>
export type RunCommand = Extract<HostCommand, { type: 'run' }>
export type FollowCommand = Extract<HostCommand, { type: 'follow' }>

const HOST_SCRIPT = fileURLToPath(new URL('./host.js', import.meta.url))
const LOCAL_SCRIPT = fileURLToPath(new URL('./local-member.js', import.meta.url))
const READY_MS = 30_000
const RUN_MS_MAX = 600_000

/**
 * The setup of replicated host `i` of a cluster on 127.0.0.1, in `dirs[i]` on `ports[i]`,
 * whose peers are all the others; `options` add to it (the same for every host).
 */
export function memberSetup (dirs: readonly string[], ports: readonly number[], options: Pick<HostSetup, 'sync' | 'minConsensus' | 'logRetention'>): (i: number) => HostSetup {
  return (i) => ({ location: dirs[i] as string, replicated: true, port: ports[i] as number, peers: ports.filter((_, j) => j !== i), ...options })
}

/** `execArgv`: Node's own options for the process, such as a heap cap. */
export function startHost (setup: HostSetup, execArgv?: string[]): Process {
  return new Child<HostCommand, HostReply>(HOST_SCRIPT, [JSON.stringify(setup)], execArgv)
}

export function startLocalMember (args: string[]): Process {
  return new Child<HostCommand, HostReply>(LOCAL_SCRIPT, args)
}

/** Waits for `process` to say it is ready; whether it leads, for a QuorumLevel. */
export async function ready (process: Process): Promise<boolean | undefined> {
  const reply = await process.waitFor(['ready', 'failed'], undefined, READY_MS)
  if (reply.type === 'failed') throw new Error(`benchmark process did not start: ${reply.message}`)
  return reply.leader
}

export async function usage (process: Process): Promise<Extract<HostReply, { type: 'usage' }>> {
  return await process.request({ type: 'usage' }, 'usage')
}

/** Sends `command` and waits for its answer of `type`, failing on the process's `failed`. */
export async function ask<T extends HostReply['type']> (process: Process, command: HostCommand, type: T, ms = RUN_MS_MAX): Promise<Extract<HostReply, { type: T }>> {
  const reply: HostReply = await process.request(command, [type, 'failed'] as const, undefined, ms)
  if (reply.type === 'failed') throw new Error(`${command.type} failed: ${reply.message}`)
  return reply as Extract<HostReply, { type: T }>
}

/**
 * Makes `consumer`'s feed; resolves once it follows (writes made from then on are ones it
 * reads), with what waits for the end of its reading.
 */
export async function follow (consumer: Process, command: FollowCommand): Promise<() => Promise<Extract<HostReply, { type: 'followed' }>>> {
  const since = consumer.replies.length
  await ask(consumer, command, 'following', READY_MS)
  return async () => {
    const reply = await consumer.waitFor(['followed', 'failed'], undefined, command.ms + READY_MS, since)
    if (reply.type === 'failed') throw new Error(`follow failed: ${reply.message}`)
    return reply
  }
}

/** Each of `writers` runs `command` at once, with its own keys; the CPU of every process counts. */
export async function timed (processes: Process[], writers: Process[], command: RunCommand): Promise<Figures> {
  const cpuBefore = await Promise.all(processes.map(usage))
  const started = performance.now()
  const latencies = await Promise.all(writers.map(async (writer, i) => (await ask(writer, { ...command, prefix: `${command.prefix}${i}-` }, 'ran')).latencies))
  const elapsed = performance.now() - started
  const cpuAfter = await Promise.all(processes.map(usage))
  const cpu = cpuAfter.reduce((sum, after, i) => sum + after.cpuMicros - (cpuBefore[i]?.cpuMicros ?? 0), 0)
  return figures(latencies.flat(), command.count * writers.length, elapsed, cpu)
}

/**
 * The arguments of a QuorumLevel process of host `h` of a cluster of one host per port in
 * `ports`, on 127.0.0.1, with its database in `dir`.
 */
export function quorumMember (dir: string, ports: readonly number[], h: number, minConsensus?: number): string[] {
  const peers = ports.filter((_, j) => j !== h).map((port) => ({ host: '127.0.0.1', port }))
  const cluster = { host: '127.0.0.1', port: ports[h], peers, ...(minConsensus === undefined ? {} : { minConsensus }) }
  return ['quorum', join(dir, 'db'), '', JSON.stringify(cluster)]
}

/** A cluster of one QuorumLevel process per directory, added to `processes`, started at once and ready. */
export async function startQuorumHosts (dirs: readonly string[], minConsensus: number, processes: Process[]): Promise<void> {
  const ports = await freePorts(dirs.length)
  for (const [h, dir] of dirs.entries()) processes.push(startLocalMember(quorumMember(dir, ports, h, minConsensus)))
  // All at once: a host is ready when its peers are.
  await Promise.all(processes.map(ready))
}

/** Stops every process, the last started first (a guest before its leader, as a user's would). */
export async function stopAll (processes: Process[]): Promise<void> {
  for (const process of [...processes].reverse()) await process.stop({ type: 'close' })
}

/** Runs `body` with `count` fresh temporary directories, removed afterwards. */
export async function withDirectories<T> (count: number, body: (dirs: string[]) => Promise<T>): Promise<T> {
  const dirs: string[] = []
  try {
    for (let i = 0; i < count; i++) dirs.push(await mkdtemp(join(tmpdir(), 'quorum-level-bench-')))
    return await body(dirs)
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
}
