/**
 * Goal: the protocol keeps every invariant of SPEC §9 under the faults real hosts meet.
 * Method: run the default seed range of the deterministic simulator (3 and 5 hosts, every
 * minConsensus, swarm-chosen faults: lost and reordered messages, partitions one and two
 * ways, crashes, power losses, restored disks, failing storage, leader changes with retries,
 * skewed and stepping clocks, a host gone for good, a host joining late); each schedule
 * heals, runs to quiescence and is checked. A failure prints the seed and the tail of its
 * trace; `npm run simulate -- --seed N` replays it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ScheduleStats, runSchedule } from './simulation.js'
import { DEFAULT_SEEDS } from './seeds.js'

test(`${DEFAULT_SEEDS} schedules keep every invariant`, () => {
  const totals: Partial<Record<keyof ScheduleStats, number>> = {}
  let majority = 0
  let belowMajority = 0
  for (let seed = 1; seed <= DEFAULT_SEEDS; seed++) {
    const result = runSchedule({ seed })
    if (result.violation !== null) {
      const replay = runSchedule({ seed, trace: true })
      assert.fail(`seed ${seed}: ${result.violation}\n${replay.trace.slice(-80).join('\n')}\nreplay: npm run simulate -- --seed ${seed}`)
    }
    for (const [name, value] of Object.entries(result.stats) as Array<[keyof ScheduleStats, number]>) totals[name] = (totals[name] ?? 0) + value
    if (2 * (result.swarm.minConsensus + 1) > result.swarm.hosts) majority++
    else belowMajority++
  }
  // Marks: the faults and paths the invariants were checked under were really exercised.
  const exercised = [
    'dropped', 'duplicated', 'crashes', 'powerLosses', 'batchesLost', 'restores', 'leaderChanges', 'storageFailures', 'partitions',
    'oneWayCuts', 'clockSteps', 'aborts', 'restartAborts', 'votesNo', 'fullCopies', 'copiesResumed', 'copiesFinished', 'earlierChunksResent', 'catchUpEntries', 'recoveries', 'retries',
    'answersLost', 'acked', 'failed', 'unconfirmed', 'unknown', 'freshReads', 'tombstonesCollected', 'copyDrops'
  ] as const
  for (const name of exercised) {
    assert.ok((totals[name] ?? 0) > 0, `no schedule exercised ${name}`)
  }
  assert.ok(majority > DEFAULT_SEEDS / 4, 'majority quorums were simulated')
  assert.ok(belowMajority > DEFAULT_SEEDS / 10, 'below-majority quorums were simulated')
})

test('a seed replays exactly', () => {
  const first = runSchedule({ seed: 42, trace: true })
  const second = runSchedule({ seed: 42, trace: true })
  assert.deepEqual(second.trace, first.trace)
  assert.ok(first.trace.length > 100)
})
