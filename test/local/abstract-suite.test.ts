/**
 * Goal: `npm test` checks QuorumLevel in single-host mode against abstract-level@1's own
 * suite. Method: run abstract-suite.js (tape) as a child process under a deadline and assert
 * that it exits 0; on failure, show each failed assertion with its test's name and details.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

/** The whole suite takes about 10 s on 2 busy cores; a hung database must not hang npm test. */
const SUITE_TIMEOUT_MS = 120_000
/** tape's output for ~5,400 assertions is about 1.5 MB, more when many fail. */
const OUTPUT_BYTES_MAX = 64 * 1024 * 1024
/** Failed assertions shown in full; the rest are counted. */
const FAILURES_SHOWN_MAX = 40
/** Lines of output shown when the suite did not finish. */
const OUTPUT_TAIL_LINES = 30

interface Run {
  readonly code: number | string | null
  readonly stdout: string
  readonly stderr: string
}

test('abstract-level@1 suite passes against QuorumLevel (single host)', { timeout: SUITE_TIMEOUT_MS + 10_000 }, async (t) => {
  const script = fileURLToPath(new URL('./abstract-suite.js', import.meta.url))
  const dir = await mkdtemp(join(tmpdir(), 'quorum-level-abstract-'))
  let child: ChildProcess | undefined
  t.after(async () => {
    child?.kill()
    await rm(dir, { recursive: true, force: true })
  })
  // Without the runner's marker the script runs the suite instead of reporting a skip.
  const { NODE_TEST_CONTEXT: _context, ...inherited } = process.env
  const env = { ...inherited, ABSTRACT_SUITE_DIR: dir }
  const run = await new Promise<Run>((resolve) => {
    child = execFile(process.execPath, [script], { env, maxBuffer: OUTPUT_BYTES_MAX, signal: AbortSignal.timeout(SUITE_TIMEOUT_MS) }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error as { code?: number | string }).code ?? error.name
      resolve({ code, stdout, stderr })
    })
  })
  const summary = run.stdout.split('\n').filter((line) => /^# (tests|pass|fail)\b/.test(line)).join('; ')
  t.diagnostic(summary === '' ? 'tape printed no summary' : summary)
  // Without a summary tape never finished (a hung test, say): its last lines show where.
  const tail = summary === '' ? `\nlast output:\n${run.stdout.split('\n').slice(-OUTPUT_TAIL_LINES).join('\n')}` : ''
  assert.equal(run.code, 0, `abstract-suite.js exited with ${String(run.code)} (${summary})\n${failures(run.stdout)}${tail}\n${run.stderr}`)
})

/** Each failed assertion in tape's TAP output, under the name of its test, with its YAML block. */
function failures (tap: string): string {
  const blocks: string[][] = []
  let count = 0
  let name = ''
  let block: string[] | null = null
  for (const line of tap.split('\n')) {
    // A YAML block opens right after its `not ok` line with `  ---`, if at all.
    if (block !== null && block.length === 2 && line !== '  ---') block = null
    if (block !== null) {
      block.push(line)
      if (line === '  ...') block = null
      continue
    }
    if (line.startsWith('# ')) name = line
    if (!line.startsWith('not ok ')) continue
    count++
    if (count > FAILURES_SHOWN_MAX) continue
    // Filled in as the following lines are read, up to the block's closing `  ...`.
    block = [name, line]
    blocks.push(block)
  }
  const more = count > FAILURES_SHOWN_MAX ? `\n\n... and ${count - FAILURES_SHOWN_MAX} more` : ''
  return `${count} failed assertions:\n\n${blocks.map((lines) => lines.join('\n')).join('\n\n')}${more}`
}
