/**
 * Goal: the peer registry keeps SPEC §7's membership rule and its bookkeeping: a peer counts
 * once however many connections it has, an inbound connection that no configured peer
 * explains is held and delivers nothing until a dial reveals it, sends go over our own dial,
 * and a closing registry falls silent. Method: real registries, connections and handshakes
 * (no core, no Replicator) over an in-process network of duplex pairs piped through
 * createServer() as the README pipes sockets; with no secret and no sockets, a handshake
 * completes within the ticks `settle` waits, so "nothing happened" can be asserted.
 */
import assert from 'node:assert/strict'
import { Duplex } from 'node:stream'
import { test } from 'node:test'
import type { Message } from '../../src/core/index.js'
import { PeerRegistry } from '../../src/replicator/peers.js'
import type { Transport } from '../../src/transport/dialer.js'
import type { PeerAddress } from '../../src/transport/peer-connection.js'
import { FRAME_BYTES_MAX_DEFAULT } from '../../src/wire/limits.js'
import { duplexPair, eventually, once } from '../helpers/hosts.js'

const PROBE: Message = { type: 'probe' }

/** One dial over the in-process network, with the bytes each way. */
interface Link {
  readonly from: string
  readonly to: number
  readonly dialer: Duplex
  toServer: number
  toDialer: number
}

interface TestPeer {
  readonly id: string
  readonly address: PeerAddress
  readonly registry: PeerRegistry
  /** Hooks and events in the order they came: `connected host-b`, `connect 127.0.0.1:2`, ... */
  readonly log: string[]
}

/**
 * Registries by port, reached by dialing their port: a dial to a port where none listens is
 * refused (the stream closes at once); `silent` ports take a dial and never answer.
 */
class Network {
  readonly links: Link[] = []
  readonly #servers = new Map<number, PeerRegistry>()
  readonly #silent = new Set<number>()
  readonly #peers: TestPeer[] = []

  peer (id: string, port: number, peers: PeerAddress[], options: { backoffMsMin?: number, failAfter?: number, callTimeoutMs?: number } = {}): TestPeer {
    const address = { host: '127.0.0.1', port }
    const log: string[] = []
    const registry = new PeerRegistry(peers, {
      connection: { address, secret: null, frameBytesMax: FRAME_BYTES_MAX_DEFAULT, callTimeoutMs: options.callTimeoutMs ?? 5_000, pingIntervalMs: 60_000 },
      // A long backoff by default: a test that cuts a link sees what the cut did, not a redial.
      dial: { transport: this.#transport(id), backoffMsMin: options.backoffMsMin ?? 5_000, backoffMsMax: 10_000, failAfter: options.failAfter ?? 3 }
    }, {
      connected: (peer) => { log.push(`connected ${peer}`) },
      disconnected: (peer) => { log.push(`disconnected ${peer}`) },
      message: (from, message) => { log.push(`message ${from} ${message.type}`) },
      error: (error) => { log.push(`error ${(error as Error & { code?: string }).code ?? error.message}`) },
      dropped: (error) => { log.push(`dropped ${(error as Error & { code?: string }).code ?? error.message}`) }
    })
    for (const event of ['connect', 'disconnect', 'reconnect', 'fail'] as const) {
      registry.on(event, (host, port) => { log.push(`${event} ${host}:${port}`) })
    }
    this.#servers.set(port, registry)
    const peer = { id, address, registry, log }
    this.#peers.push(peer)
    return peer
  }

  silence (port: number): void {
    this.#silent.add(port)
  }

  link (from: TestPeer, to: TestPeer): Link {
    const link = this.links.find((candidate) => candidate.from === from.id && candidate.to === to.address.port)
    assert.ok(link, `${from.id} dialed ${to.id}`)
    return link
  }

  close (): void {
    for (const peer of this.#peers) peer.registry.close()
  }

  #transport (from: string): Transport {
    return (port) => {
      if (this.#silent.has(port)) return new Duplex({ read () {}, write (_chunk, _encoding, callback) { callback() } })
      const [mine, theirs] = duplexPair()
      const server = this.#servers.get(port)
      if (server === undefined) {
        process.nextTick(() => { mine.destroy() })
        return mine
      }
      const link: Link = { from, to: port, dialer: mine, toServer: 0, toDialer: 0 }
      this.links.push(link)
      theirs.on('data', (chunk: Uint8Array) => { link.toServer += chunk.length })
      mine.on('data', (chunk: Uint8Array) => { link.toDialer += chunk.length })
      const stream = server.createServer()
      theirs.pipe(stream).pipe(theirs)
      return mine
    }
  }
}

/** Lets every tick and microtask queued by in-process streams run out. */
async function settle (): Promise<void> {
  for (let round = 0; round < 20; round++) await new Promise((resolve) => setImmediate(resolve))
}

function entries (peer: TestPeer, prefix: string): string[] {
  return peer.log.filter((entry) => entry.startsWith(prefix))
}

test('a peer connected both ways counts once: one connected, one connect, one disconnected when the last link goes', async () => {
  const net = new Network()
  try {
    const a = net.peer('host-a', 1, [{ host: '127.0.0.1', port: 2 }])
    const b = net.peer('host-b', 2, [{ host: '127.0.0.1', port: 1 }])
    a.registry.start(a.id)
    b.registry.start(b.id)
    await settle()
    assert.deepEqual(entries(a, 'connect'), ['connected host-b', 'connect 127.0.0.1:2'])
    b.registry.send(a.id, PROBE)
    await settle()
    assert.deepEqual(entries(a, 'message'), ['message host-b probe'])
    // Either link alone keeps the peer connected; the second to go disconnects it.
    net.link(b, a).dialer.destroy()
    await settle()
    assert.deepEqual(entries(a, 'disconnect'), [])
    net.link(a, b).dialer.destroy()
    await settle()
    assert.deepEqual(entries(a, 'disconnect'), ['disconnected host-b', 'disconnect 127.0.0.1:2'])
  } finally {
    net.close()
  }
})

test('an inbound peer that is not configured is held, delivering nothing, until a dial reveals it; then we send over our own dial', async () => {
  const net = new Network()
  try {
    const a = net.peer('host-a', 1, [])
    const b = net.peer('host-b', 2, [a.address])
    a.registry.start(a.id)
    b.registry.start(b.id)
    await settle()
    assert.deepEqual(entries(b, 'connected'), ['connected host-a'], 'b dialed a configured peer')
    b.registry.send(a.id, PROBE)
    await settle()
    assert.deepEqual(a.log, [], 'membership never grows from what another host says')

    a.registry.reconfigure([b.address])
    await settle()
    assert.deepEqual(entries(a, 'connect'), ['connected host-b', 'connect 127.0.0.1:2'])
    // b sends over its own dial: the connection a held until now.
    b.registry.send(a.id, PROBE)
    await settle()
    assert.deepEqual(entries(a, 'message'), ['message host-b probe'])
    const dialed = net.link(a, b)
    const accepted = net.link(b, a)
    const before = { dialed: dialed.toServer, accepted: accepted.toDialer }
    a.registry.send(b.id, PROBE)
    await settle()
    assert.ok(dialed.toServer > before.dialed, 'the probe went over a\'s own dial')
    assert.equal(accepted.toDialer, before.accepted, 'and not over the connection b opened')
    assert.deepEqual(entries(b, 'message'), ['message host-a probe'])
  } finally {
    net.close()
  }
})

test('a createServer() stream made before start waits for it; an inbound peer is placed by the address it announces, loopback names being one host', async () => {
  const net = new Network()
  try {
    // a's own dials to b never answer: the only way b can be connected at a is b's dial.
    net.silence(2)
    const a = net.peer('host-a', 1, [{ host: 'localhost', port: 2 }])
    const b = net.peer('host-b', 2, [a.address])
    b.registry.start(b.id)
    await settle()
    assert.equal(net.link(b, a).toDialer, 0, 'a says nothing before it starts')
    a.registry.start(a.id)
    await settle()
    assert.deepEqual(entries(a, 'connect'), ['connected host-b', 'connect localhost:2'], 'named as configured')
  } finally {
    net.close()
  }
})

test('stopAccepting keeps open connections and silences disconnect; new streams end at once', async () => {
  const net = new Network()
  try {
    const a = net.peer('host-a', 1, [{ host: '127.0.0.1', port: 2 }])
    const b = net.peer('host-b', 2, [a.address])
    a.registry.start(a.id)
    b.registry.start(b.id)
    await settle()
    a.registry.stopAccepting()
    b.registry.send(a.id, PROBE)
    await settle()
    assert.deepEqual(entries(a, 'message'), ['message host-b probe'], 'open connections still deliver')
    const late = a.registry.createServer()
    const ended = once(late, 'end', 1_000)
    late.resume()
    await ended
    b.registry.close()
    await settle()
    assert.deepEqual(entries(a, 'disconnect'), ['disconnected host-b'], 'the owner hears of it, users do not')
  } finally {
    net.close()
  }
})

test('reconnect and fail name the configured peer; a connection that ends badly is reported with its code', async () => {
  const net = new Network()
  try {
    const a = net.peer('host-a', 1, [{ host: '127.0.0.1', port: 9 }], { backoffMsMin: 5, failAfter: 3 })
    a.registry.start(a.id)
    await eventually(() => entries(a, 'fail').length > 0, 5_000, 'fail')
    assert.deepEqual(entries(a, 'fail'), ['fail 127.0.0.1:9'])
    assert.ok(entries(a, 'reconnect').length >= 2)
    assert.ok(entries(a, 'reconnect').every((entry) => entry === 'reconnect 127.0.0.1:9'))
    const stream = a.registry.createServer()
    const ended = once(stream, 'end', 1_000)
    stream.resume()
    stream.write(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))
    await ended
    assert.deepEqual(entries(a, 'error'), ['error LEVEL_FRAME_TOO_LARGE'])
  } finally {
    net.close()
  }
})

test('a peer that takes the dial and never answers is dropped, with its code, and is no error', async () => {
  const net = new Network()
  try {
    net.silence(2)
    const a = net.peer('host-a', 1, [{ host: '127.0.0.1', port: 2 }], { backoffMsMin: 5, callTimeoutMs: 50 })
    a.registry.start(a.id)
    await eventually(() => entries(a, 'dropped').length >= 2, 5_000, 'two dials dropped')
    assert.ok(entries(a, 'dropped').every((entry) => entry === 'dropped LEVEL_TIMEOUT'), entries(a, 'dropped').join())
    assert.deepEqual(entries(a, 'error'), [])
  } finally {
    net.close()
  }
})
