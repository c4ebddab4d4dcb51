import { once } from 'node:events'
import type { Writable } from 'node:stream'
import ModuleError from 'module-error'
import { metricsRegistry } from '../metrics.js'
import type { Args } from './args.js'
import { withClient } from './client.js'
import { type CommandName, ENCODINGS, type Encoding } from './commands.js'
import { formatMembers, formatMembership, formatStatus, membersOf, showData } from './format.js'
import type { MembersChange } from '../replicator/members.js'
import { InputError } from './input-error.js'

/** The commands that reach a host through its leader: all but `serve`. */
type ClientCommandName = Exclude<CommandName, 'serve'>

/** A read's options: strong reads ask for it (README, Read consistency). */
type ReadOptions = { consistency?: 'strong' }

const COMMANDS: Record<ClientCommandName, (args: Args, out: Writable) => Promise<void>> = {
  status: async (args, out) => {
    await withClient(args, UTF8, async (db) => {
      const status = await db.cluster.status()
      await write(out, `${args.flag('json') ? JSON.stringify(status, null, 2) : formatStatus(status)}\n`)
    })
  },

  'members list': async (args, out) => {
    await withClient(args, UTF8, async (db) => {
      const members = membersOf(await db.cluster.status())
      await write(out, `${args.flag('json') ? JSON.stringify(members, null, 2) : formatMembers(members)}\n`)
    })
  },

  'members add': async (args, out) => {
    await changeMembers(args, out, { add: args.arg('address'), ...minConsensusOf(args) })
  },

  'members remove': async (args, out) => {
    await changeMembers(args, out, { remove: args.arg('address'), ...minConsensusOf(args) })
  },

  'members min-consensus': async (args, out) => {
    const text = args.arg('n')
    if (!/^\d+$/.test(text)) throw new InputError(`<n> must be a whole number, not ${text}`, args.command.name)
    await changeMembers(args, out, { minConsensus: Number(text) })
  },

  get: async (args, out) => {
    const encodings = encodingsOf(args)
    const key = parseData(args, 'key', encodings.keyEncoding)
    await withClient(args, encodings, async (db) => {
      let value: unknown
      try {
        // abstract-level's types do not know `consistency`; QuorumLevel reads it.
        value = await db.get(key, readOptions(args) as object)
      } catch (error) {
        if ((error as { code?: string }).code !== 'LEVEL_NOT_FOUND') throw error
        throw new ModuleError(`no value at key ${args.arg('key')}`, { code: 'LEVEL_NOT_FOUND', expected: true })
      }
      await write(out, `${showData(value, encodings.valueEncoding)}\n`)
    })
  },

  put: async (args) => {
    const encodings = encodingsOf(args)
    const key = parseData(args, 'key', encodings.keyEncoding)
    const value = parseData(args, 'value', encodings.valueEncoding)
    await withClient(args, encodings, async (db) => { await db.put(key, value) })
  },

  del: async (args) => {
    const encodings = encodingsOf(args)
    const key = parseData(args, 'key', encodings.keyEncoding)
    await withClient(args, encodings, async (db) => { await db.del(key) })
  },

  ls: async (args, out) => {
    const encodings = encodingsOf(args)
    const range: Record<string, unknown> = {}
    for (const bound of ['gt', 'gte', 'lt', 'lte']) {
      if (args.string(bound) !== undefined) range[bound] = parseData(args, bound, encodings.keyEncoding)
    }
    const keysOnly = args.flag('keys-only')
    const options = { ...range, ...readOptions(args), limit: args.integer('limit', 0) ?? -1, reverse: args.flag('reverse'), values: !keysOnly }
    await withClient(args, encodings, async (db) => {
      for await (const [key, value] of db.iterator(options)) {
        const line = keysOnly ? showData(key, encodings.keyEncoding) : `${showData(key, encodings.keyEncoding)}\t${showData(value, encodings.valueEncoding)}`
        await write(out, `${line}\n`)
      }
    })
  },

  metrics: async (args, out) => {
    await withClient(args, UTF8, async (db) => {
      await write(out, await metricsRegistry(db.cluster).metrics())
    })
  }
}

/** Makes a membership change through the host's leader, and prints the membership in force after it. */
async function changeMembers (args: Args, out: Writable, change: MembersChange): Promise<void> {
  await withClient(args, UTF8, async (db) => {
    const membership = await db.cluster.changeMembers(change)
    await write(out, `${args.flag('json') ? JSON.stringify(membership, null, 2) : formatMembership(membership)}\n`)
  })
}

function minConsensusOf (args: Args): { minConsensus?: number } {
  const minConsensus = args.integer('min-consensus', 0)
  return minConsensus === undefined ? {} : { minConsensus }
}

/** Runs a client command; a failure is thrown, for the tool to report. */
export async function runClientCommand (name: ClientCommandName, args: Args, out: Writable): Promise<void> {
  await COMMANDS[name](args, out)
}

const UTF8 = { keyEncoding: 'utf8', valueEncoding: 'utf8' } as const

function encodingsOf (args: Args): { keyEncoding: Encoding, valueEncoding: Encoding } {
  return { keyEncoding: args.choice('key-encoding', ENCODINGS, 'utf8'), valueEncoding: args.choice('value-encoding', ENCODINGS, 'utf8') }
}

function readOptions (args: Args): ReadOptions {
  return args.string('consistency') === 'strong' ? { consistency: 'strong' } : {}
}

/**
 * An argument (`key`, `value`) or an option (`gt`) as the database takes it in `encoding`,
 * checked before anything is opened: text that is not JSON, or not hex, is the user's error.
 */
function parseData (args: Args, name: string, encoding: Encoding): unknown {
  const text = args.command.args.includes(name) ? args.arg(name) : args.string(name) ?? ''
  const what = args.command.args.includes(name) ? `<${name}>` : `--${name}`
  switch (encoding) {
    case 'utf8':
      return text
    case 'json':
      try {
        return JSON.parse(text)
      } catch {
        throw new InputError(`${what} is not JSON: ${text}`, args.command.name)
      }
    case 'hex':
      // Node would decode what comes before the first bad digit, and drop the rest.
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new InputError(`${what} is not hex (pairs of 0-9 and a-f): ${text}`, args.command.name)
      return text
  }
}

/** Writes `text`, waiting while the reader (a pipe, say) is behind. */
async function write (out: Writable, text: string): Promise<void> {
  if (text !== '' && !out.write(text)) await once(out, 'drain')
}
