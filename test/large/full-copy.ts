/**
 * `npm run test:large`: a 1 GiB, 1,000,000-key database full-copied to a host whose heap is
 * capped at 256 MiB (issue 13). Too long for `npm test` (minutes); run it by hand, as CI
 * does not. Method: two hosts, each a process of its own with a Replicator over classic-level
 * on 127.0.0.1 (bench/host.ts). Host 0 writes 1,000,000 keys of 1 KiB of random bytes in
 * batches of 1,000 while host 1 is away, with a log of 10 transactions, so that host 1, when
 * it starts with `--max-old-space-size=256`, must get the whole database as a full copy. It
 * must hold every key, byte for byte (a SHA-256 of every key and value on both), and its
 * peak heap and resident set are printed. `--keys n` runs a smaller copy.
 */
import assert from 'node:assert/strict'
import { freePorts } from '../../src/cli/free-ports.js'
import { ask, memberSetup, ready, startHost, stopAll, usage, withDirectories, type Process } from '../../bench/processes.js'

const KEYS = Number(process.argv[process.argv.indexOf('--keys') + 1] ?? 0) || 1_000_000
const VALUE_BYTES = 1024
const BATCH = 1_000
const HEAP_CAP_MIB = 256
const MiB = 1024 * 1024
const COPY_MS_MAX = 30 * 60_000

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

await withDirectories(2, async (dirs) => {
  const processes: Process[] = []
  try {
    const ports = await freePorts(2)
    // Host 0 writes alone while host 1 is away; its log cannot serve host 1 afterwards.
    const setup = memberSetup(dirs, ports, { sync: false, minConsensus: 0, logRetention: 10 })
    const source = startHost(setup(0))
    processes.push(source)
    await ready(source)
    const writeStart = performance.now()
    await ask(source, { type: 'run', op: 'batch', batchSize: BATCH, inFlight: 4, count: KEYS, valueBytes: VALUE_BYTES, prefix: 'key' }, 'ran', COPY_MS_MAX)
    const wrote = performance.now() - writeStart
    const expected = await ask(source, { type: 'digest', prefix: 'key' }, 'digested', COPY_MS_MAX)
    assert.equal(expected.entries, KEYS)
    console.log(`host 0 wrote ${KEYS.toLocaleString('en')} keys of ${VALUE_BYTES} B (${mib(KEYS * (VALUE_BYTES + 11))}) in ${seconds(wrote)}`)

    const receiver = startHost(setup(1), [`--max-old-space-size=${HEAP_CAP_MIB}`])
    processes.push(receiver)
    const lastKey = `key${String(KEYS - 1).padStart(8, '0')}`
    // Measured from the moment host 1 makes its database; a read waits while the copy is applied.
    const found = await ask(receiver, { type: 'await-key', key: lastKey, ms: COPY_MS_MAX }, 'found', COPY_MS_MAX + 60_000)
    const copied = await ask(receiver, { type: 'digest', prefix: 'key' }, 'digested', COPY_MS_MAX)
    const used = await usage(receiver)
    console.log(`host 1 (heap capped at ${HEAP_CAP_MIB} MiB) had the last key after ${seconds(found.ms)}: peak heap ${mib(used.peakHeapBytes)}, peak RSS ${mib(used.maxRssBytes)}`)
    assert.equal(copied.entries, KEYS, 'host 1 holds every key')
    assert.equal(copied.sha256, expected.sha256, 'host 1 holds every key and value, byte for byte')
    assert.ok(used.peakHeapBytes < HEAP_CAP_MIB * MiB)
    console.log('ok: the full copy arrived whole, byte for byte, within the heap cap')
  } finally {
    await stopAll(processes)
  }
})
