#!/usr/bin/env node
/**
 * The `quorum-level` command: `serve` runs a host, the other commands reach it through its
 * leader (README, Command line). Prints a failure as one line on stderr, never a stack, and
 * exits 0 when done, 1 when something failed at run time, 2 when the command line or the
 * configuration is wrong.
 */
import { readFile } from 'node:fs/promises'
import { parseCommandLine } from './args.js'
import { runClientCommand } from './client-commands.js'
import { formatError } from './format.js'
import { helpText } from './help.js'
import { InputError } from './input-error.js'
import { serve } from './serve.js'

/**
 * Once done, the process exits as soon as nothing holds it; should something still hold it
 * (it never should), it is ended after this long rather than left hanging.
 */
const EXIT_GRACE_MS = 2_000

async function main (argv: readonly string[]): Promise<number> {
  try {
    const request = parseCommandLine(argv)
    switch (request.kind) {
      case 'help':
        process.stdout.write(`${helpText(request.topic)}\n`)
        return 0
      case 'version': {
        const manifest = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
        process.stdout.write(`${manifest.version}\n`)
        return 0
      }
      case 'run': {
        const { args } = request
        const name = args.command.name
        if (name === 'serve') await serve(args, process.stderr)
        else await runClientCommand(name, args, process.stdout)
        return 0
      }
    }
  } catch (error) {
    process.stderr.write(`quorum-level: ${formatError(error)}\n`)
    return error instanceof InputError ? 2 : 1
  }
}

// A reader that went away (`quorum-level ls | head`) wants no more: stop, quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') process.stderr.write(`quorum-level: ${formatError(error)}\n`)
  process.exit(error.code === 'EPIPE' ? process.exitCode ?? 0 : 1)
})

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  setTimeout(() => { process.exit(code) }, EXIT_GRACE_MS).unref()
}, () => {})
