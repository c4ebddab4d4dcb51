/**
 * `npm run stress`: runs the multi-process and multi-instance tests of test/local many times
 * in a row (20 by default, as rave-level's multi-process test repeats itself), because the
 * races they look for do not show on every run. It stops at the first failing run and prints
 * which run failed, which tests, and their errors. Not part of `npm test`, for time.
 *
 * `npm run stress` builds first, then runs this script from dist/. Options:
 *   npm run stress -- --runs 50                              more runs
 *   npm run stress -- dist/test/local/lifetime.test.js       other test files
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const RUNS_DEFAULT = 20
/** A run that takes longer than this is reported as hung. */
const RUN_TIMEOUT_MS = 10 * 60_000
/** Lines shown of each failed test's report (its error comes first). */
const FAILURE_LINES_MAX = 30
/** test/local files that check no race: one child running a whole suite, and the demo. */
const EXCLUDED = new Set(['abstract-suite.test.js', 'demo.test.js'])

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly output: string
  readonly ms: number
}

function parseArguments (argv: string[]): { runs: number, files: string[] } {
  let runs = RUNS_DEFAULT
  const files: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i] as string
    if (argument === '--runs') {
      runs = Number(argv[++i])
      if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer')
    } else {
      files.push(argument)
    }
  }
  if (files.length > 0) return { runs, files }
  const here = dirname(fileURLToPath(import.meta.url))
  const found = readdirSync(here).filter((name) => name.endsWith('.test.js') && !EXCLUDED.has(name)).sort()
  return { runs, files: found.map((name) => relative(process.cwd(), join(here, name))) }
}

function runOnce (files: string[]): Promise<Run> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', ...files], { stdio: ['ignore', 'pipe', 'pipe'], timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => { output += text })
    child.stderr.setEncoding('utf8').on('data', (text: string) => { output += text })
    child.on('close', (code, signal) => { resolve({ code, signal, output, ms: Date.now() - started }) })
  })
}

/** Each failed test in TAP output: its `not ok` line and the YAML block under it. */
function failures (tap: string): string[] {
  const found: string[] = []
  let block: string[] | null = null
  for (const line of tap.split('\n')) {
    if (/^\s*not ok \d+ - /.test(line)) {
      block = [line.trim()]
      found.push('')
      continue
    }
    if (block === null) continue
    if (/^\s*\.\.\.\s*$/.test(line)) {
      found[found.length - 1] = block.join('\n')
      block = null
      continue
    }
    // The stack adds little to the error and location; keep the rest of the block.
    if (!/^\s+(at |async |process\.processTicks)/.test(line)) block.push(line)
  }
  return found.filter((failure) => failure !== '')
}

async function main (): Promise<number> {
  const { runs, files } = parseArguments(process.argv.slice(2))
  console.log(`stress: ${runs} runs of ${files.join(' ')}`)
  for (let run = 1; run <= runs; run++) {
    const result = await runOnce(files)
    const seconds = (result.ms / 1000).toFixed(1)
    if (result.code === 0) {
      console.log(`run ${run}/${runs}: ok (${seconds} s)`)
      continue
    }
    const how = result.signal !== null ? `killed by ${result.signal} (over ${RUN_TIMEOUT_MS / 1000} s?)` : `exit code ${String(result.code)}`
    console.log(`run ${run}/${runs}: FAILED, ${how}, after ${seconds} s`)
    const failed = failures(result.output)
    if (failed.length === 0) console.log(`no failed test named; the run's last lines:\n${result.output.split('\n').slice(-40).join('\n')}`)
    for (const failure of failed) {
      const lines = failure.split('\n')
      const more = lines.length > FAILURE_LINES_MAX ? `\n    ... ${lines.length - FAILURE_LINES_MAX} more lines` : ''
      console.log(`\n${lines.slice(0, FAILURE_LINES_MAX).join('\n')}${more}`)
    }
    return 1
  }
  console.log(`stress: all ${runs} runs passed`)
  return 0
}

main().then((code) => { process.exitCode = code }, (error: unknown) => {
  console.error(error)
  process.exitCode = 2
})
