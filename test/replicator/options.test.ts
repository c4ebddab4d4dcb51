/**
 * Goal: `Replicator(db, options)` resolves every option to the default README documents, and
 * refuses a bad one with LEVEL_INVALID_OPTION naming it, before anything starts. Method:
 * resolveOptions and checkAddress called directly, against a table of good and bad values.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkAddress, resolveOptions } from '../../src/replicator/options.js'
import { tcpListen, tcpTransport } from '../../src/transport/tcp.js'
import { FRAME_BYTES_MAX_DEFAULT } from '../../src/wire/limits.js'

test('with no options, every option takes its documented default', () => {
  const { transport, listen, now, witness, ...plain } = resolveOptions(undefined)
  assert.deepEqual(plain, {
    address: null,
    listenHost: undefined,
    peers: [],
    minConsensus: 0,
    failAfter: 16,
    secret: null,
    writeTimeoutMs: 10_000,
    callTimeoutMs: 5_000,
    pingIntervalMs: 5_000,
    sync: false,
    logRetention: 100_000,
    logRetentionBytes: 256 * 1024 * 1024,
    tombstoneIntervalMs: 60_000,
    feedRetention: 100_000,
    logger: undefined,
    frameBytesMax: FRAME_BYTES_MAX_DEFAULT,
    reconnectMsMin: 100,
    reconnectMsMax: 10_000,
    tickIntervalMs: 10
  })
  assert.equal(transport, tcpTransport)
  assert.equal(listen, tcpListen)
  assert.equal(now, Date.now)
  assert.equal(typeof witness.check, 'function')
  assert.equal(resolveOptions({}).witness, witness, 'one default witness per process')
})

test('minConsensus defaults to every peer; host and port make the announced address', () => {
  const peers = [{ host: '10.0.0.2', port: 3000 }, { host: '10.0.0.3', port: 3000 }]
  assert.equal(resolveOptions({ peers }).minConsensus, 2)
  assert.equal(resolveOptions({ peers, minConsensus: 1 }).minConsensus, 1)
  assert.deepEqual(resolveOptions({ port: 3000 }).address, { host: 'localhost', port: 3000 })
  assert.deepEqual(resolveOptions({ host: '10.0.0.1', port: 3000 }).address, { host: '10.0.0.1', port: 3000 })
})

test('one member list serves every host: the host itself is skipped, an entry given twice counts once', () => {
  const members = [{ host: '10.0.0.1', port: 3000 }, { host: '10.0.0.2', port: 3000 }, { host: '10.0.0.3', port: 3000 }, { host: '10.0.0.2', port: 3000 }]
  const resolved = resolveOptions({ host: '10.0.0.2', port: 3000, peers: members })
  assert.deepEqual(resolved.peers, [{ host: '10.0.0.1', port: 3000 }, { host: '10.0.0.3', port: 3000 }])
  assert.equal(resolved.minConsensus, 2, 'all peers by default: the other two')
  assert.equal(resolveOptions({ host: '10.0.0.2', port: 3000, peers: members, minConsensus: 1 }).minConsensus, 1)
  // The same name on another port is another host; names are compared without their case.
  assert.equal(resolveOptions({ host: 'Node-2', port: 3000, peers: [{ host: 'node-2', port: 3000 }, { host: 'node-2', port: 3001 }] }).peers.length, 1)
})

test('listenHost is where listen() accepts peers, apart from the announced host', () => {
  assert.equal(resolveOptions({ host: '10.0.0.1', port: 3000 }).listenHost, '10.0.0.1')
  assert.equal(resolveOptions({ port: 3000 }).listenHost, undefined, 'every interface')
  const resolved = resolveOptions({ host: '10.0.0.1', port: 3000, listenHost: '0.0.0.0' })
  assert.equal(resolved.listenHost, '0.0.0.0')
  assert.deepEqual(resolved.address, { host: '10.0.0.1', port: 3000 }, 'still announced as host')
})

test('a bad option is refused with LEVEL_INVALID_OPTION, naming it', () => {
  const peers = [{ host: '10.0.0.2', port: 3000 }]
  const cases: Array<[unknown, RegExp]> = [
    ['fast', /options must be an object/],
    [{ peers: [{ host: '', port: 1 }] }, /peers\[0\]\.host/],
    [{ peers: [{ host: 'h', port: 0 }] }, /peers\[0\]\.port/],
    [{ peers: ['h:1'] }, /peers\[0\] must be \{ host, port \}/],
    [{ host: 'h' }, /host\/port\.port/],
    [{ peers, minConsensus: 2 }, /minConsensus/],
    [{ minConsensus: -1 }, /minConsensus/],
    [{ minConsensus: 0.5 }, /minConsensus/],
    [{ transport: 'tcp' }, /transport/],
    [{ secret: '' }, /secret/],
    [{ sync: 1 }, /sync/],
    [{ now: 0 }, /now/],
    [{ witness: {} }, /witness/],
    [{ listenHost: '' }, /listenHost/],
    [{ listenHost: 1 }, /listenHost/],
    [{ logger: 'console' }, /logger/],
    ...['failAfter', 'writeTimeout', 'callTimeout', 'logRetention', 'logRetentionBytes', 'feedRetention', 'frameBytesMax', 'reconnectMsMin', 'reconnectMsMax', 'tickInterval']
      .flatMap((name): Array<[unknown, RegExp]> => [0, -1, 1.5, '10'].map((value) => [{ [name]: value }, new RegExp(`${name} must be a positive integer`)])),
    ...[-1, 1.5, '10'].map((value): [unknown, RegExp] => [{ tombstoneInterval: value }, /tombstoneInterval must be a non-negative integer/])
  ]
  for (const [options, message] of cases) {
    assert.throws(() => resolveOptions(options as Parameters<typeof resolveOptions>[0]), (error: Error & { code?: string, expected?: boolean }) => {
      assert.equal(error.code, 'LEVEL_INVALID_OPTION', `${JSON.stringify(options)}`)
      assert.equal(error.expected, true)
      assert.match(error.message, message)
      return true
    })
  }
})

test('checkAddress takes { host, port } and names what is wrong', () => {
  assert.deepEqual(checkAddress({ host: 'h', port: 65_535, extra: true }, 'peer'), { host: 'h', port: 65_535 })
  // A peer that only dials in (a browser tab) keeps its mark; dial: true is the default.
  assert.deepEqual(checkAddress({ host: 'tab', port: 1, dial: false }, 'peer'), { host: 'tab', port: 1, dial: false })
  assert.deepEqual(checkAddress({ host: 'h', port: 1, dial: true }, 'peer'), { host: 'h', port: 1 })
  for (const [value, message] of [[null, /peer must be/], [{ host: 'h', port: 65_536 }, /peer\.port/], [{ host: 1, port: 1 }, /peer\.host/], [{ host: 'h', port: 1, dial: 'no' }, /peer\.dial/]] as const) {
    assert.throws(() => checkAddress(value, 'peer'), message)
  }
})
