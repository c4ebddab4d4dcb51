/**
 * Goal: QuorumLevel in single-host mode (no peers) keeps abstract-level@1's contract, as
 * many-level's own test/abstract.js checks ManyLevelGuest. Method: run abstract-level's tape
 * suite against a factory that opens a QuorumLevel on a fresh directory per call, then close
 * every database, remove the directories and exit non-zero if any assertion failed.
 *
 * abstract-suite.test.js runs this script as a child process (npm test runs *.test.js only).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tape from 'tape'
import { QuorumLevel, type QuorumLevelOptions } from '../../src/index.js'

/** abstract-level/test's entry point, which ships no type declarations. */
type AbstractSuite = (options: { test: typeof tape, factory: (options?: QuorumLevelOptions) => QuorumLevel }) => void

/** Bounds the final close of every database, so a stuck close cannot hang the run. */
const CLOSE_ALL_TIMEOUT_MS = 10_000

runSuite()

function runSuite (): void {
  const suite = createRequire(import.meta.url)('abstract-level/test') as AbstractSuite
  // abstract-suite.test.js names the directory, so it can remove it if this process is killed.
  const root = process.env['ABSTRACT_SUITE_DIR'] ?? mkdtempSync(join(tmpdir(), 'quorum-level-abstract-'))
  const databases: QuorumLevel[] = []

  tape.onFinish(() => {
    // Some suite tests leave databases open, some with a listener that fails the test on
    // 'closed'. Those tests have ended: detach their listeners (abstract-level's own listen
    // on symbols), then close, so no leader outlives the run.
    const closeAll = Promise.allSettled(databases.map((db) => {
      for (const event of db.eventNames()) {
        if (typeof event === 'string') db.removeAllListeners(event)
      }
      return db.close()
    }))
    const timeout = new Promise((resolve) => setTimeout(resolve, CLOSE_ALL_TIMEOUT_MS).unref())
    Promise.race([closeAll, timeout]).finally(() => {
      rmSync(root, { recursive: true, force: true })
      // With no code of ours, tape's exit handler prints the summary, then exits 1 if any
      // assertion failed or a test never ended, else 0.
      process.exit()
    }).catch(() => {})
  })

  suite({
    test: tape,
    factory (options?: QuorumLevelOptions): QuorumLevel {
      // No peers: the first process to lock the directory leads, as in single-host use. The
      // suite follows db.supports, as for many-level: with retry on (the default) snapshots
      // are false, so iterator-no-snapshot-test runs; createIfMissing and errorIfExists are
      // false (the leader always creates), so their tests are skipped.
      const db = new QuorumLevel(join(root, String(databases.length)), options)
      databases.push(db)
      return db
    }
  })
}
