import type { Prng } from './prng.js'

/**
 * What the swarm chose for one seed: every fault rate and kind differs from seed to seed, so
 * that the seeds together cover combinations nobody would think to write down.
 */
export interface SwarmConfig {
  readonly hosts: number
  readonly minConsensus: number
  /** Every batch synced (the host's `sync` option), or only the ones the core asks for. */
  readonly sync: boolean
  readonly dropRate: number
  readonly duplicateRate: number
  readonly delayMsMax: number
  readonly diskMsMax: number
  /** How long the faults last before healing. */
  readonly safetyMs: number
  /** Whole-host process crashes: memory and unfinished disk operations lost, disk intact. */
  readonly crashes: number
  /** Power losses: as a crash, plus the batches not yet synced or written back. */
  readonly powerLosses: number
  /** A copy of one host's disk is taken, and later that host restarts from it. */
  readonly restore: boolean
  /** The leader process of a host dies; another takes over at once; clients survive and retry. */
  readonly leaderChanges: number
  /** Windows in which one host's storage fails every operation. */
  readonly storageFailures: number
  readonly partitions: number
  /** Links that drop everything in one direction only, for a while. */
  readonly oneWayCuts: number
  /** One host goes down and never comes back. */
  readonly foreverDown: boolean
  /** The last host is not there at first: it joins later, and the others learn of it by `peer-added`. */
  readonly lateHost: boolean
  /** How far apart the hosts' wall clocks are, at most, in ms. */
  readonly clockSkewMs: number
  /** Wall-clock steps, back or forward, on random hosts. */
  readonly clockSteps: number
  readonly writes: number
  readonly reads: number
  /** Strong reads (SPEC §14) on random hosts: with a majority, each joins the linearizability check. */
  readonly strongReads: number
  readonly writersPerHost: number
  readonly keys: number
  readonly logRetention: number
  /** How often each host collects the tombstones every member has passed (SPEC §6.5). */
  readonly collectIntervalMs: number
  readonly logRetentionBytes: number
  readonly reserveBlock: number
  readonly groupOpsMax: number
  /** Own transactions in flight at once. */
  readonly pipelineDepth: number
  /** Stored versions kept in memory: tiny caches evict all the time. */
  readonly versionCacheMax: number
  /** Tiny budgets force group commit and catch-up messages to be cut by bytes. */
  readonly bytesMax: number
  /** Records per page of a staged full copy applied (SPEC §6.3). */
  readonly copyPageRecordsMax: number
  readonly writeTimeoutMs: number
  /** Hosts start knowing no peer identity, only how many peers there are (as the Replicator does). */
  readonly learnPeers: boolean
  /** Membership changes (SPEC §15) proposed by random members: add the spare, remove one, set minConsensus. */
  readonly membershipChanges: number
  /** The last host starts outside the membership, configured as if it had been added: a change adds it. */
  readonly spareHost: boolean
}

/**
 * The membership part of a swarm, from its own generator: seeds without changes schedule
 * exactly what they did before changes existed. Only where every quorum meets another, and
 * peers are named: changes need both.
 */
export function chooseMembership (random: Prng, swarm: Omit<SwarmConfig, 'membershipChanges' | 'spareHost'>): Pick<SwarmConfig, 'membershipChanges' | 'spareHost'> {
  const spareHost = random.chance(0.5)
  const members = swarm.hosts - (spareHost ? 1 : 0)
  const eligible = !swarm.lateHost && !swarm.learnPeers && swarm.minConsensus <= members - 1 && 2 * (swarm.minConsensus + 1) > members
  if (!eligible || !random.chance(0.4)) return { membershipChanges: 0, spareHost: false }
  return { membershipChanges: random.pick([1, 2, 4]), spareHost }
}

export function chooseSwarm (random: Prng): Omit<SwarmConfig, 'membershipChanges' | 'spareHost'> {
  const hosts = random.pick([3, 5])
  const lateHost = random.chance(0.1)
  // A host that joins late is not counted by the others at first: minConsensus must fit both.
  const minConsensus = random.int(0, hosts - (lateHost ? 2 : 1))
  return {
    hosts,
    minConsensus,
    sync: random.chance(0.3),
    dropRate: random.pick([0, 0, 0.02, 0.1, 0.3]),
    duplicateRate: random.pick([0, 0, 0.05, 0.2]),
    delayMsMax: random.pick([1, 5, 20, 60]),
    diskMsMax: random.pick([0, 2, 10]),
    safetyMs: random.pick([1_000, 1_000, 2_500]),
    crashes: random.pick([0, 0, 1, 2, 4, 12]),
    powerLosses: random.pick([0, 0, 0, 1, 3]),
    restore: random.chance(0.1),
    leaderChanges: random.pick([0, 0, 1, 4]),
    storageFailures: random.pick([0, 0, 0, 1, 3]),
    partitions: random.pick([0, 0, 1, 3]),
    oneWayCuts: random.pick([0, 0, 0, 1, 2]),
    foreverDown: random.chance(0.05),
    lateHost,
    clockSkewMs: random.pick([0, 50, 2_000, 5_000]),
    clockSteps: random.pick([0, 0, 1, 3]),
    writes: random.int(10, 120),
    reads: random.pick([0, 20, 100]),
    writersPerHost: random.int(1, 3),
    keys: random.pick([2, 4, 8, 16]),
    logRetention: random.pick([1, 3, 1_000]),
    reserveBlock: random.pick([1, 4]),
    groupOpsMax: random.pick([1, 4, 64]),
    pipelineDepth: random.pick([1, 2, 8]),
    versionCacheMax: random.pick([1, 8, 10_000]),
    bytesMax: random.pick([24, 4 * 1024 * 1024]),
    writeTimeoutMs: random.pick([200, 2_000]),
    learnPeers: random.chance(0.5),
    // Drawn last, so that every other choice of a seed stays what it was.
    strongReads: random.pick([0, 10, 40]),
    // Never with a late host: counted by no one at first, it commits before any horizon can
    // count it, which only the simulator's `peer-added` allows (SPEC §6.5).
    collectIntervalMs: lateHost ? 0 : random.pick([40, 100, 400]),
    // Entries weigh 32 bytes and their keys and values: from one entry kept to the count's rule.
    logRetentionBytes: random.pick([Number.MAX_SAFE_INTEGER, 150, 1_500]),
    // Pages of a staged copy: small ones let decisions, crashes and reads fall between them.
    copyPageRecordsMax: random.pick([4, 64])
  }
}
