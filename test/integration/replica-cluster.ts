import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts } from '../../src/cli/free-ports.js'
import { Child } from '../../src/cli/child.js'
import { tempDir } from '../helpers/hosts.js'
import type { ReplicaCommand, ReplicaReply } from './fixtures/replica.js'

const SCRIPT = fileURLToPath(new URL('./fixtures/replica.js', import.meta.url))

export type Replica = Child<ReplicaCommand, ReplicaReply>

/** What every replica of a cluster starts with, beside its place and peers. */
export type ReplicaOptions = Omit<Extract<ReplicaCommand, { type: 'start' }>, 'type' | 'location' | 'port' | 'peers'>

/** Three replicas, each a process of its own (fixtures/replica.ts), on 127.0.0.1. */
export interface ReplicaCluster {
  readonly replicas: Replica[]
  readonly locations: string[]
  readonly ports: number[]
  readonly root: string
  readonly options: ReplicaOptions
}

/** Starts replica `index` (again) in its directory, its peers being the other two. */
export async function start (cluster: ReplicaCluster, index: number): Promise<Replica> {
  const replica: Replica = new Child(SCRIPT)
  cluster.replicas[index] = replica
  const peers = cluster.ports.filter((_, j) => j !== index).map((port) => ({ host: '127.0.0.1', port }))
  await replica.request({ type: 'start', location: cluster.locations[index] as string, port: cluster.ports[index] as number, peers, ...cluster.options }, 'started')
  return replica
}

/** Closes a replica cleanly and waits for its process to end. */
export async function stop (replica: Replica): Promise<void> {
  await replica.request({ type: 'stop' }, 'stopped', undefined, 30_000)
  await replica.exited()
}

/** Runs `run` against 3 replicas once all are ready; kills them and removes their directories whatever happens. */
export async function withCluster (options: ReplicaOptions, run: (cluster: ReplicaCluster) => Promise<void>): Promise<void> {
  const root = await tempDir()
  const ports = await freePorts(3)
  const cluster: ReplicaCluster = { replicas: [], locations: ports.map((_, i) => join(root, `host${i}`)), ports, root, options }
  try {
    for (let i = 0; i < 3; i++) await start(cluster, i)
    await Promise.all(cluster.replicas.map((replica) => replica.waitFor('event', (event) => event.name === 'ready')))
    await run(cluster)
  } finally {
    for (const replica of cluster.replicas) replica.kill()
    await Promise.all(cluster.replicas.map((replica) => replica.exited()))
    await rm(root, { recursive: true, force: true })
  }
}

/** A replica's user data, by key. */
export async function contents (replica: Replica): Promise<Map<string, unknown>> {
  return new Map((await replica.request({ type: 'contents' }, 'contents')).entries)
}
