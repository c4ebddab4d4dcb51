/**
 * Goal: a full copy between real processes is staged chunk by chunk and goes on from where it
 * stood after the receiver is killed (SPEC §6.3), and no local read on the receiver ever sees
 * half of it. Method: 3 replicas, each a process of its own with a Replicator over
 * classic-level on 127.0.0.1, small frames (so a copy takes hundreds of chunks) and logs of 5
 * entries. Host 2 stops; host 0 writes pairs of keys (`a/<i>` and `z/<i>` in one batch: the two
 * ends of the key order, so a copy applied page by page would hold one without the other for
 * a while) and 8 MiB of other keys. Host 2 comes back and needs a full copy; it is killed
 * (SIGKILL) while receiving it and started again, and must take the copy up from the chunk it
 * staged last. Meanwhile it reads the pairs with getMany again and again: never one half only.
 * Then every replica holds the same data, byte for byte.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventually } from '../helpers/hosts.js'
import type { ReplicaReply } from './fixtures/replica.js'
import { type Replica, contents, start, stop, withCluster } from './replica-cluster.js'

const PAIRS = 200
const FILLER_KEYS = 8_000
const VALUE_BYTES = 1024
const OPTIONS = { minConsensus: 1, writeTimeout: 5_000, logRetention: 5, frameBytesMax: 64 * 1024 }

type Status = Extract<ReplicaReply, { type: 'status' }>['fullCopy']

async function status (replica: Replica): Promise<Status> {
  return (await replica.request({ type: 'status' }, 'status')).fullCopy
}

const sending = async (replica: Replica): Promise<number> => (await status(replica)).sending

test('a full copy resumes after the receiver is killed, and no read sees half of it', { timeout: 180_000 }, async () => {
  await withCluster(OPTIONS, async (cluster) => {
    await stop(cluster.replicas[2] as Replica)
    const writer = cluster.replicas[0] as Replica
    await writer.request({ type: 'pairs', prefix: 'p/', count: PAIRS }, 'done')
    const mark = writer.replies.length
    writer.send({ type: 'write', prefix: 'm/', count: FILLER_KEYS, concurrency: 16, valueBytes: VALUE_BYTES })
    await writer.waitFor('done', (done) => done.prefix === 'm/', 120_000, mark)
    assert.deepEqual(writer.replies.slice(mark).filter((reply) => reply.type === 'written' && reply.outcome !== 'ok'), [])

    // Back, and behind logs that no longer reach: a full copy comes. Killed while it is staged.
    let receiver = await start(cluster, 2)
    const seen: { before: Status['receiving'] } = { before: null }
    await eventually(async () => {
      seen.before = (await status(receiver)).receiving
      return seen.before !== null && !seen.before.applying && seen.before.parts >= 20
    }, 60_000, 'the copy is under way')
    const { before } = seen
    receiver.kill()
    await receiver.exited()

    receiver = await start(cluster, 2)
    const watched = await receiver.request({ type: 'watch-pairs', prefix: 'p/', count: PAIRS, ms: 90_000 }, 'watched', undefined, 100_000)
    console.log(`killed with ${before?.parts ?? 0} chunks staged; after the restart the copy was first seen at chunk ${watched.firstParts}, ${watched.records} records staged since; ${watched.reads} reads of the pairs, ${watched.whileApplying} issued while the copy was applied (they waited), ${watched.torn} torn`)
    assert.ok(before !== null && watched.sawCopy)
    // Taken up from the staging header, and carried through: the chunks staged before the kill
    // are not asked for again, and the copy is not given up to begin another.
    assert.ok(watched.firstParts >= before.parts, `resumed at chunk ${watched.firstParts}, had ${before.parts} before the kill`)
    assert.equal(watched.startedOver, 0, 'the copy did not start over')
    assert.ok(watched.records <= 2 * PAIRS + FILLER_KEYS - before.records, `${watched.records} records staged after the restart`)
    assert.equal(watched.torn, 0, 'no read saw one half of a pair only')

    const expected = await contents(writer)
    assert.equal(expected.size, 2 * PAIRS + FILLER_KEYS)
    await eventually(async () => (await status(receiver)).receiving === null, 60_000, 'the copy is applied')
    // Its sender lets the session go once the receiver's sync shows it holds the copy, well
    // before the session would go idle (30 s).
    await eventually(async () => await sending(writer) + await sending(cluster.replicas[1] as Replica) === 0, 10_000, 'no copy is held for the receiver')
    for (const replica of cluster.replicas) assert.deepEqual(await contents(replica), expected)
  })
})
