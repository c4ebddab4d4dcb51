/**
 * The soak's faults: which comes next (a fixed rotation of kinds and hosts, seeded delays and
 * durations), and how each is done to the cluster. Host 0 is only ever cut off, never
 * restarted, so that its two processes (a leader and a guest that follows the feed) live the
 * whole run: theirs are the long series that show a slow leak.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Prng } from '../../test/sim/prng.js'
import type { Incarnation, SoakCluster } from './cluster.js'

export type FaultKind = 'kill-leader' | 'cut' | 'restart-host'

/** One fault of the schedule, before it is done. */
interface FaultPlan {
  readonly kind: FaultKind
  readonly host: number
  /** From the end of the fault before (or the start) to this one's beginning. */
  readonly delayMs: number
  /** How long a cut lasts; for a host restart, whether its processes are killed rather than closed. */
  readonly cutMs: number
  readonly kill: boolean
}

/** Time between faults, and how long a cut lasts: bounds of a uniform draw. */
const DELAY_MS_MIN = 20_000
const DELAY_MS_MAX = 40_000
const CUT_MS_MIN = 5_000
const CUT_MS_MAX = 15_000
/** How long a host may go without a leader after its leader is killed. */
const TAKEOVER_MS = 20_000
const ROLE_MS = 2_000
const POLL_MS = 100

/**
 * The `n`th fault (from 0). Kinds take turns; kills and restarts alternate between hosts 1
 * and 2, cuts go round every host; every other host restart kills its processes (a crash of
 * the machine) instead of closing them (a reboot).
 */
export function planFault (n: number, prng: Prng): FaultPlan {
  const round = Math.floor(n / 3)
  const delayMs = prng.int(DELAY_MS_MIN, DELAY_MS_MAX)
  const cutMs = prng.int(CUT_MS_MIN, CUT_MS_MAX)
  switch (n % 3) {
    case 0: return { kind: 'kill-leader', host: 1 + (round % 2), delayMs, cutMs, kill: true }
    case 1: return { kind: 'cut', host: round % 3, delayMs, cutMs, kill: false }
    default: return { kind: 'restart-host', host: 2 - (round % 2), delayMs, cutMs, kill: round % 2 === 1 }
  }
}

/** What doing a fault found: a line for the summary, and anything that should not have happened. */
interface FaultOutcome {
  readonly note: string
  readonly incidents: string[]
}

/** Does `plan` to `cluster`; a cut ends early if `signal` aborts. */
export async function performFault (cluster: SoakCluster, plan: FaultPlan, signal: AbortSignal): Promise<FaultOutcome> {
  switch (plan.kind) {
    case 'kill-leader': return await killLeader(cluster, plan.host)
    case 'cut': {
      cluster.isolate(plan.host, true)
      await sleep(plan.cutMs, undefined, { signal }).catch(() => {})
      cluster.isolate(plan.host, false)
      return { note: `h${plan.host} cut off for ${(plan.cutMs / 1000).toFixed(1)} s`, incidents: [] }
    }
    case 'restart-host': return await restartHost(cluster, plan.host, plan.kill)
  }
}

/** The process of `host` that says it leads, asked again until one does or `ms` pass. */
async function leaderOf (cluster: SoakCluster, host: number, ms: number): Promise<Incarnation | null> {
  const deadline = performance.now() + ms
  while (performance.now() < deadline) {
    for (const incarnation of cluster.live(host)) {
      const reply = await incarnation.child.request({ type: 'role' }, 'role', undefined, ROLE_MS).catch(() => null)
      if (reply?.leader === true) return incarnation
    }
    await sleep(POLL_MS)
  }
  return null
}

async function killLeader (cluster: SoakCluster, host: number): Promise<FaultOutcome> {
  const leader = await leaderOf(cluster, host, TAKEOVER_MS)
  if (leader === null) return { note: `h${host}: no leader to kill`, incidents: [`h${host} had no leader for ${TAKEOVER_MS / 1000} s`] }
  const index = cluster.indexOf(leader)
  await cluster.kill(leader)
  const started = performance.now()
  const next = await leaderOf(cluster, host, TAKEOVER_MS)
  const tookMs = performance.now() - started
  const incidents = next === null ? [`no process of h${host} took over within ${TAKEOVER_MS / 1000} s of ${leader.name}'s SIGKILL`] : []
  const restarted = await cluster.start(host, index)
  const took = next === null ? 'nobody took over' : `${next.name} took over in ${Math.round(tookMs)} ms`
  return { note: `SIGKILL to leader ${leader.name}; ${took}; ${leader.name} ${restarted ? 'restarted' : 'did not restart'}`, incidents }
}

async function restartHost (cluster: SoakCluster, host: number, kill: boolean): Promise<FaultOutcome> {
  const running = cluster.live(host)
  const indices = running.map((incarnation) => cluster.indexOf(incarnation))
  await Promise.all(running.map(async (incarnation) => { await (kill ? cluster.kill(incarnation) : cluster.close(incarnation)) }))
  // Both at once, as a host's processes come back after a reboot: they race for the lock.
  const restarted = await Promise.all(indices.map(async (index) => await cluster.start(host, index)))
  const how = kill ? 'SIGKILL to every process' : 'every process closed'
  return { note: `h${host} restarted (${how}); ${restarted.filter(Boolean).length} of ${indices.length} back`, incidents: [] }
}
