import { parseArgs } from 'node:util'
import type { Mutation } from '../../src/core/index.js'
import { type ScheduleStats, runSchedule } from './simulation.js'

/**
 * `npm run simulate -- --seed N` replays one schedule and prints its trace;
 * `npm run simulate -- --seeds N [--from S]` runs many and prints throughput and a summary
 * of the faults injected. Exits 1 on the first violation, after printing its seed and trace.
 */
const HELP = `usage: npm run simulate -- [--seeds N] [--from S] [--mutation M]
       npm run simulate -- --seed N [--mutation M]

  --seeds N     run N schedules (default 1000), from seed S (--from, default 1)
  --seed N      replay one schedule and print its trace
  --mutation M  run a deliberately broken core (test/sim/mutations.test.ts lists them)
  --help        this text`

function options (): { seed?: string | undefined, seeds: string, from: string, mutation?: string | undefined } {
  try {
    const { values } = parseArgs({
      options: {
        seed: { type: 'string' },
        seeds: { type: 'string', default: '1000' },
        from: { type: 'string', default: '1' },
        mutation: { type: 'string' },
        help: { type: 'boolean' }
      }
    })
    if (values.help === true) {
      console.log(HELP)
      process.exit(0)
    }
    for (const name of ['seed', 'seeds', 'from'] as const) {
      const value = values[name]
      if (value !== undefined && !/^[0-9]+$/.test(value)) throw new Error(`--${name} must be a whole number, not '${value}'`)
    }
    return values
  } catch (error) {
    console.error(`simulate: ${(error as Error).message}; see --help`)
    process.exit(2)
  }
}

const values = options()
const mutation = values.mutation as Mutation | undefined

if (values.seed !== undefined) {
  const result = runSchedule({ seed: Number(values.seed), mutation, trace: true })
  console.log(result.trace.join('\n'))
  console.log(`\nseed ${result.seed}: ${JSON.stringify(result.swarm)}`)
  console.log(`stats: ${JSON.stringify(result.stats)}`)
  console.log(result.violation === null ? 'no violation' : `VIOLATION: ${result.violation}`)
  process.exitCode = result.violation === null ? 0 : 1
} else {
  const from = Number(values.from)
  const count = Number(values.seeds)
  const totals: Record<string, number> = {}
  const started = performance.now()
  let simulatedMs = 0
  for (let seed = from; seed < from + count; seed++) {
    const result = runSchedule({ seed, mutation })
    if (result.violation !== null) {
      const replay = runSchedule({ seed, mutation, trace: true })
      console.log(replay.trace.slice(-200).join('\n'))
      console.log(`\nVIOLATION at seed ${seed}: ${result.violation}`)
      console.log(`replay: npm run simulate -- --seed ${seed}${mutation === undefined ? '' : ` --mutation ${mutation}`}`)
      process.exit(1)
    }
    simulatedMs += result.simulatedMs
    for (const [name, value] of Object.entries(result.stats) as Array<[keyof ScheduleStats, number]>) totals[name] = (totals[name] ?? 0) + value
    if ((seed - from + 1) % 10_000 === 0) console.log(`${seed - from + 1} schedules...`)
  }
  const seconds = (performance.now() - started) / 1000
  console.log(`${count} schedules (seeds ${from}..${from + count - 1}) passed in ${seconds.toFixed(1)} s: ${(count / seconds).toFixed(0)} schedules/s, ${(simulatedMs / 1000).toFixed(0)} simulated seconds`)
  console.log('faults and events injected:')
  for (const [name, value] of Object.entries(totals)) console.log(`  ${name.padEnd(16)} ${value}`)
}
