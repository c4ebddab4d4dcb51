/**
 * level-2pc's README example, translated to TypeScript and run as written: three servers on
 * ports 3000-3002, each a database with a Replicator whose peers are the other two; a put on
 * the first host, then reads from the other two. Run: `node dist/examples/level-2pc.js`
 * after `npm install`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Replicator } from '../src/index.js'

const root = await mkdtemp(join(tmpdir(), 'quorum-level-example-'))
// level-2pc's ports; PORTS=a,b,c picks others (the test passes free ones).
const ports = (process.env['PORTS'] ?? '3000,3001,3002').split(',').map(Number)

const hosts = ports.map((port) => {
  const db = new ClassicLevel<string, unknown>(join(root, `db${port}`), { valueEncoding: 'json' })
  const opts = { peers: ports.filter((other) => other !== port).map((other) => ({ host: 'localhost', port: other })) }
  const r = Replicator(db, opts)
  const server = createServer((con) => {
    const stream = r.createServer()
    stream.pipe(con).pipe(stream)
  }).listen(port)
  return { db, r, server }
})
const [db1, db2, db3] = hosts.map((host) => host.db) as [ClassicLevel<string, unknown>, ClassicLevel<string, unknown>, ClassicLevel<string, unknown>]

setTimeout(() => {
  db1.put('x', 100, (err) => {
    console.log(err ?? 'ok')
    setTimeout(() => {
      db2.get('x', (err, value) => {
        console.log('db2', err ?? value)
        db3.get('x', (err, value) => {
          console.log('db3', err ?? value)
          shutdown().catch((error: unknown) => { console.error(error) })
        })
      })
    }, 100)
  })
}, 100)

async function shutdown (): Promise<void> {
  for (const { db, r, server } of hosts) {
    await r.close()
    await db.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  await rm(root, { recursive: true, force: true })
}
