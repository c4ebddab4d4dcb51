import type { Writable } from 'node:stream'
import { QuorumLevel } from '../quorum-level.js'
import type { LogLevel, LogRecord, Logger } from '../replicator/logger.js'
import { CODES, createError } from '../errors.js'
import type { Args } from './args.js'
import { LOG_LEVELS } from './commands.js'
import { loadConfig } from './config.js'
import { type LogFormat, formatLogRecord } from './format.js'
import { InputError } from './input-error.js'
import { ProgressLine } from './progress.js'

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const
const PROGRESS_POLL_MS = 500
const LOG_FORMATS: readonly LogFormat[] = ['text', 'json']

/**
 * `quorum-level serve`: runs one process of the host the configuration describes, until
 * SIGINT or SIGTERM, then closes the database (settling what is pending, handing the lead
 * over to another process of the host if there is one) and returns. Every log record goes to
 * `log`, one a line. Fails if the database cannot open, or closes by itself (a failover that
 * could not complete).
 */
export async function serve (args: Args, log: Writable): Promise<void> {
  const file = args.string('config')
  if (file === undefined) throw new InputError('missing --config <file>', args.command.name)
  const config = await loadConfig(file)
  const format = args.choice('log-format', LOG_FORMATS, 'text')
  // Debug records (each reconnection attempt to a peer that is down) are left out by default.
  const least = LOG_LEVELS.indexOf(args.choice('log-level', LOG_LEVELS, 'info'))
  // On a terminal, a progress line of catch-up and full copies stays under the log; a record
  // first clears it, and the next poll draws it again.
  const terminal = (log as { isTTY?: boolean }).isTTY === true
  let progressShown = false
  const clearProgress = (): void => {
    if (progressShown) log.write('\r\x1b[2K')
    progressShown = false
  }
  const logger: Logger = (record: LogRecord) => {
    if (LOG_LEVELS.indexOf(record.level) < least) return
    clearProgress()
    log.write(`${formatLogRecord(record, format)}\n`)
  }
  const say = (level: LogLevel, event: string, message: string): void => { logger({ time: Date.now(), level, event, message, host: null }) }

  const db = new QuorumLevel(config.location, { ...config.options, logger })
  // What closed the database, if it closes by itself: the error of the failover that failed.
  let lastError: Error | null = null
  db.cluster.on('error', (error: Error) => { lastError = error })
  let signalled = false
  let onSignal: (signal: NodeJS.Signals) => void = () => {}
  const stopped = new Promise<'signal' | 'closed'>((resolve) => {
    onSignal = (signal) => {
      if (signalled) {
        say('error', 'signal', `${signal} again: exiting without closing the database`)
        process.exit(1)
      }
      signalled = true
      say('info', 'signal', `${signal}: closing the database`)
      resolve('signal')
    }
    db.once('closed', () => { resolve('closed') })
  })
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal)
  // A host without peers holds nothing open by itself (README, Limits): this does, until a signal.
  const hold = setInterval(() => {}, 2 ** 30)
  const progress = new ProgressLine()
  const poll = terminal
    ? setInterval(() => {
      if (db.status !== 'open') return
      db.cluster.status().then((status) => {
        const line = progress.render(status)
        clearProgress()
        if (line === null) return
        log.write(line)
        progressShown = true
      }, () => {})
    }, PROGRESS_POLL_MS)
    : null
  try {
    const opening = db.open()
    // A signal during the open closes the database at once; open() then reports that it was undone.
    opening.catch(() => {})
    const first = await Promise.race([opening.then(() => 'open' as const), stopped])
    if (first === 'open') {
      say('info', 'serve', db.isLeader
        ? `serving ${config.location}`
        : `serving ${config.location}: joined its host as a process; another process leads it, this one takes over if it goes`)
    }
    const why = await stopped
    if (why === 'closed' && !signalled) {
      throw lastError ?? createError('The database closed by itself', CODES.DATABASE_NOT_OPEN)
    }
    await db.close()
    say('info', 'stop', 'database closed')
  } finally {
    if (poll !== null) clearInterval(poll)
    clearProgress()
    clearInterval(hold)
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal)
  }
}
