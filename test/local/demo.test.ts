/**
 * Goal: `npm start` works from a fresh build: the demo runs 3 hosts x 2 processes, survives
 * a killed leader and exits 0. Method: run dist/src/cli/demo.js as a child process and check
 * its exit code and what it printed.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

test('npm start: the demo replicates, fails over, and exits 0', { timeout: 90_000 }, async () => {
  const script = fileURLToPath(new URL('../../src/cli/demo.js', import.meta.url))
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [script], { timeout: 80_000 }, (error, stdout) => {
      if (error !== null) reject(new Error(`${error.message}\n${stdout}`))
      else resolve(stdout)
    })
  })
  assert.doesNotMatch(output, /FAIL/)
  assert.match(output, /took over the lock, the socket and port/)
  assert.match(output, /summary: every write was committed/)
})
