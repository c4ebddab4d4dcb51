/**
 * Goal: the published package works for every consumer: the packed tarball holds what it
 * needs (LICENSE, the compiled code, its sources for the source maps, no tests), its source
 * maps resolve, its types compile in a strict TypeScript project with `skipLibCheck: false`,
 * it loads with `import` from an ES module and with `require()` from CommonJS, and its
 * `quorum-level` command runs. Method:
 * `npm pack` (without scripts: the build is the one under test), the tarball installed with
 * npm into a fresh directory holding an ESM and a CommonJS TypeScript project, compiled with
 * the repository's tsc and run with node; and a browser app bundled from it with esbuild,
 * which must resolve the browser entry and find no Node built-in, and type-checked in
 * TypeScript with the `browser` condition, which must see the browser entry's types.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'

const run = promisify(execFile)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const NPM_MS = 180_000

/** The same program in both module systems: a Replicator and a QuorumLevel, each a put and a get. */
const PROGRAM = `
const dir = mkdtempSync(join(tmpdir(), 'quorum-level-consumer-'))
const db = new ClassicLevel<string, string>(join(dir, 'replicated'))
const replicator: Replicator = Replicator(db, {})
const options: QuorumLevelOptions<string, string> = { retry: true }
const quorum = new QuorumLevel<string, string>(join(dir, 'quorum'), options)
const check: ErrorCode = CODES.NOT_SUPPORTED
async function main (): Promise<void> {
  await db.put('k', 'replicated')
  await quorum.put('k', 'local')
  const values = [await db.get('k'), await quorum.get('k'), check, typeof tlsTransport, typeof webSocketTransport]
  await replicator.close()
  await db.close()
  await quorum.close()
  rmSync(dir, { recursive: true, force: true })
  console.log(JSON.stringify(values))
}
main().catch((error: unknown) => { console.error(error); process.exit(1) })
`
const NAMES = 'CODES, type ErrorCode, QuorumLevel, type QuorumLevelOptions, Replicator, tlsTransport, webSocketTransport'
const ESM = `import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { ${NAMES} } from 'quorum-level'
${PROGRAM}`
// Compiled to require() calls: Node loads the ES module through require(esm).
const CJS = ESM

function tsconfig (module: 'nodenext'): string {
  return JSON.stringify({ compilerOptions: { target: 'ES2022', module, moduleResolution: 'nodenext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' }, include: ['index.ts'] })
}

async function files (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await files(path))
    else out.push(path)
  }
  return out
}

test('the packed package installs, type-checks strictly, and loads from ESM and CommonJS', { timeout: 600_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'quorum-level-package-'))
  t.after(async () => { await rm(work, { recursive: true, force: true }) })
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, timeout: NPM_MS })
  const [packed] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  assert.ok(packed !== undefined)
  const shipped = packed.files.map((file) => file.path)
  for (const path of ['LICENSE', 'README.md', 'SPEC.md', 'CHANGELOG.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/browser/quorum-level.js', 'src/index.ts']) {
    assert.ok(shipped.includes(path), `the tarball holds ${path}`)
  }
  assert.deepEqual(shipped.filter((path) => /^(dist\/)?(test|bench)\//.test(path)), [], 'no tests or benchmarks')

  await writeFile(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed.filename), '@types/node@20', 'classic-level@1'], { cwd: work, timeout: NPM_MS })
  const installed = join(work, 'node_modules', 'quorum-level')

  // The installed command runs from node_modules/.bin, as npx and npm scripts run it.
  const help = await run(join(work, 'node_modules', '.bin', 'quorum-level'), ['--help'], { cwd: work, timeout: 60_000 })
  assert.match(help.stdout, /^Usage: quorum-level <command>/, 'the quorum-level command is installed')

  // Every source map points at files the package ships.
  const maps = (await files(join(installed, 'dist'))).filter((path) => path.endsWith('.js.map'))
  assert.ok(maps.length > 10, 'source maps are shipped')
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(await readFile(map, 'utf8')) as { sources: string[], sourcesContent?: Array<string | null> }
    for (const [i, source] of sources.entries()) {
      // The browser bundle's map carries its sources' text; the others point at shipped files.
      if (typeof sourcesContent?.[i] === 'string') continue
      await stat(resolve(dirname(map), source)).catch(() => assert.fail(`${map} points at ${source}, which is not shipped`))
    }
  }

  // A bundler targeting browsers takes the `browser` condition: an entry with no Node built-in.
  const app = await build({
    stdin: { contents: "import { Replicator, webSocketTransport } from 'quorum-level'\nglobalThis.made = [Replicator, webSocketTransport]", resolveDir: work },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent'
  })
  const inputs = Object.keys(app.metafile.inputs)
  assert.ok(inputs.some((input) => input.endsWith('node_modules/quorum-level/dist/browser/quorum-level.js')), `the browser entry is bundled: ${inputs.join(', ')}`)
  assert.deepEqual(inputs.filter((input) => input.includes('dist/src/')), [], 'nothing of the Node entry')

  // A browser app in TypeScript sees the browser entry's types with the `browser` condition.
  const browserProject = join(work, 'browser')
  await mkdir(browserProject)
  await writeFile(join(browserProject, 'package.json'), JSON.stringify({ type: 'module' }))
  await writeFile(join(browserProject, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'esnext', moduleResolution: 'bundler', customConditions: ['browser'], strict: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: ['node'], noEmit: true }, include: ['app.ts'] }))
  await writeFile(join(browserProject, 'app.ts'), `import { Replicator, StorageWitness, webSocketTransport, type BrowserWebSocketTransportOptions } from 'quorum-level'
const options: BrowserWebSocketTransportOptions = { url: (host, port) => \`wss://\${host}:\${port}/quorum-level\` }
const { transport } = webSocketTransport(options)
export const made = [Replicator, new StorageWitness(null), transport]
`)
  await run(process.execPath, [TSC, '-p', browserProject], { cwd: browserProject, timeout: NPM_MS }).catch((error: { stdout?: string }) => assert.fail(`browser: tsc failed:\n${error.stdout ?? String(error)}`))

  for (const [name, type, source] of [['esm', 'module', ESM], ['cjs', 'commonjs', CJS]] as const) {
    const project = join(work, name)
    await mkdir(project)
    await writeFile(join(project, 'package.json'), JSON.stringify({ type }))
    await writeFile(join(project, 'tsconfig.json'), tsconfig('nodenext'))
    await writeFile(join(project, 'index.ts'), source)
    await run(process.execPath, [TSC, '-p', project], { cwd: project, timeout: NPM_MS }).catch((error: { stdout?: string }) => assert.fail(`${name}: tsc failed:\n${error.stdout ?? String(error)}`))
    if (type === 'commonjs') assert.match(await readFile(join(project, 'out', 'index.js'), 'utf8'), /require\("quorum-level"\)/, 'compiled to require()')
    const result = await run(process.execPath, [join(project, 'out', 'index.js')], { cwd: project, timeout: 60_000 })
    assert.deepEqual(JSON.parse(result.stdout), ['replicated', 'local', 'LEVEL_NOT_SUPPORTED', 'function', 'function'], name)
  }
})
