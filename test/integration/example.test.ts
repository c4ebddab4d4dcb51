/**
 * Goal: level-2pc's README example, translated, runs as written and shows the replicated
 * value on the other two hosts. Method: run examples/level-2pc.js as a child process on
 * three free ports and read what it prints.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePorts } from '../../src/cli/free-ports.js'

test('examples/level-2pc prints the value from the other two hosts', { timeout: 30_000 }, async () => {
  const ports = await freePorts(3)
  const script = fileURLToPath(new URL('../../examples/level-2pc.js', import.meta.url))
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [script], { env: { ...process.env, PORTS: ports.join(',') }, timeout: 20_000 }, (error, stdout) => {
      if (error !== null) reject(error)
      else resolve(stdout)
    })
  })
  assert.deepEqual(output.trim().split('\n'), ['ok', 'db2 100', 'db3 100'])
})
