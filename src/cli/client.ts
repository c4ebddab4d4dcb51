import { resolve } from 'node:path'
import { QuorumLevel } from '../quorum-level.js'
import type { Args } from './args.js'
import { CLIENT_WAIT_MS_DEFAULT, type Encoding } from './commands.js'
import { loadConfig } from './config.js'
import { InputError } from './input-error.js'

/** The data directory a client command is aimed at: `--location`, or `--config`'s location. */
async function locationOf (args: Args): Promise<string> {
  const config = args.string('config')
  const location = args.string('location')
  if (config !== undefined && location !== undefined) throw new InputError('give --config or --location, not both', args.command.name)
  if (location !== undefined) return resolve(location)
  // The whole file is checked, not only its location: a bad one is reported by every command.
  if (config !== undefined) return (await loadConfig(config)).location
  throw new InputError('missing --config <file> or --location <dir>', args.command.name)
}

/**
 * Runs `use` on the database of the host `args` names, reached through that host's leader,
 * and closes it after, whatever happens. The client never leads (`lead: false`): a command
 * run where no host serves the directory fails rather than open the database itself and start
 * replicating with the configuration of whoever ran it.
 */
export async function withClient (args: Args, encodings: { keyEncoding: Encoding, valueEncoding: Encoding }, use: (db: QuorumLevel<unknown, unknown>) => Promise<void>): Promise<void> {
  const location = await locationOf(args)
  const lockWait = args.integer('wait', 0) ?? CLIENT_WAIT_MS_DEFAULT
  const db = new QuorumLevel<unknown, unknown>(location, { lead: false, lockWait, ...encodings })
  await db.open()
  try {
    await use(db)
  } catch (error) {
    // The command's own error is the one to report.
    await db.close().catch(() => {})
    throw error
  }
  await db.close()
}
