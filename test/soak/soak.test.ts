/**
 * Goal: `npm run soak` runs 3 hosts x 2 QuorumLevel processes under load and faults for 3
 * minutes and ends with every metric flat and no failure a fault does not explain; its
 * options are checked as the bench's are. Method: the built command as a child process, as
 * a user runs it, writing into a temporary directory that is removed afterwards; a failure
 * prints the summary it wrote.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { judge } from '../../bench/soak/report.js'
import type { SoakRun } from '../../bench/soak/soak.js'
import { tempDir } from '../helpers/hosts.js'

const SOAK = fileURLToPath(new URL('../../bench/soak/run.js', import.meta.url))
/** The soak's 3 minutes, its start and its stop, with room for a busy machine. */
const SOAK_MS = 5 * 60_000

/** Runs the soak command with `args`; its exit code and output, or a kill after `ms`. */
async function soak (args: string[], ms: number): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [SOAK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  // SIGINT first: the soak then stops its own processes; SIGKILL if even that hangs.
  const interrupt = setTimeout(() => { child.kill('SIGINT') }, ms)
  const kill = setTimeout(() => { child.kill('SIGKILL') }, ms + 30_000)
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => { resolve(exitCode) }))
    return { code, stdout, stderr }
  } finally {
    clearTimeout(interrupt)
    clearTimeout(kill)
  }
}

test('soak: --help prints its usage; a bad option is a one-line error with exit code 2', async () => {
  const help = await soak(['--help'], 10_000)
  assert.equal(help.code, 0)
  assert.match(help.stdout, /^usage: npm run soak -- \[--minutes N\] \[--out dir\] \[--sample-seconds S\] \[--seed N\]\n/)
  for (const [args, message] of [
    [['--hours', '2'], /^soak: Unknown option '--hours'.*; see --help\n$/],
    [['--minutes', '0'], /^soak: --minutes must be a positive number, not '0'; see --help\n$/],
    [['--sample-seconds', 'often'], /^soak: --sample-seconds must be a positive number, not 'often'; see --help\n$/],
    [['--seed=-1'], /^soak: --seed must be a whole number, not '-1'; see --help\n$/],
    [['--seed', '-1'], /^soak: Option '--seed' argument is ambiguous\. [^\n]*; see --help\n$/]
  ] as const) {
    const bad = await soak([...args], 10_000)
    assert.equal(bad.code, 2, args.join(' '))
    assert.match(bad.stderr, message)
    assert.equal(bad.stdout, '')
  }
})

test('soak: 3 minutes of load and faults on 3 hosts x 2 processes stay flat and clean', { timeout: SOAK_MS + 60_000 }, async (t) => {
  const out = await tempDir()
  try {
    const { code, stdout, stderr } = await soak(['--minutes', '3', '--sample-seconds', '5', '--seed', '1', '--out', out], SOAK_MS)
    const summary = await readFile(join(out, 'summary.md'), 'utf8').catch(() => '(no summary.md)')
    assert.equal(code, 0, `the soak failed:\n${stdout}\n${stderr}\n${summary}`)
    assert.deepEqual((await readdir(out)).sort(), ['db-size.svg', 'fds.svg', 'heap.svg', 'rss.svg', 'samples.json', 'summary.md'])
    assert.match(summary, /^# Soak: passed\n/)
    const run = JSON.parse(await readFile(join(out, 'samples.json'), 'utf8')) as SoakRun
    assert.ok(run.seconds >= 180)
    assert.deepEqual(new Set(run.processes.map((sample) => sample.process)), new Set(['h0/p0', 'h0/p1', 'h1/p0', 'h1/p1', 'h2/p0', 'h2/p1']))
    assert.deepEqual(new Set(run.hosts.map((sample) => sample.host)), new Set(['h0', 'h1', 'h2']))
    // Delays of at most 40 s leave room for each kind of fault in 3 minutes.
    assert.deepEqual(new Set(run.faults.map((fault) => fault.kind)), new Set(['kill-leader', 'cut', 'restart-host']))
    assert.ok(run.counts.writes > 0 && run.counts.reads > 0 && run.counts.scans > 0 && run.counts.changes > 0, JSON.stringify(run.counts))
    for (const file of ['rss.svg', 'heap.svg', 'fds.svg', 'db-size.svg']) assert.match(await readFile(join(out, file), 'utf8'), /<polyline /)
    // How close each judged segment came to its limit: what to look at before a run goes red.
    for (const { metric, verdict } of judge(run).verdicts) {
      for (const segment of verdict.segments) {
        if (segment.judged) t.diagnostic(`${metric.name}, ${segment.label}: ${segment.middle.toFixed(1)} then ${segment.last.toFixed(1)} ${metric.unit}, at most ${segment.allowed.toFixed(1)}`)
      }
    }
  } finally {
    await rm(out, { recursive: true, force: true })
  }
})
