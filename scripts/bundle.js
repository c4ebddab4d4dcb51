// The browser bundle (package.json's `browser` condition): dist/src/browser.js and what it
// imports, with the Node defaults (TCP, the witness file) swapped for the browser's, and the
// few Node modules that rpc-stream and reconnect-core need (util, stream, process) shimmed.
// Prints its size, minified and gzipped. Run after tsc, by `npm run build`.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outfile = join(root, 'dist', 'browser', 'quorum-level.js')

const browserPlatform = {
  name: 'browser-platform',
  setup (esbuild) {
    esbuild.onResolve({ filter: /\/platform\/node\.js$/ }, () => ({ path: join(root, 'dist', 'src', 'platform', 'browser.js') }))
  }
}

await build({
  entryPoints: [join(root, 'dist', 'src', 'browser.js')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  alias: { util: join(root, 'scripts', 'shims', 'util.cjs'), stream: join(root, 'scripts', 'shims', 'stream.cjs') },
  inject: [join(root, 'scripts', 'shims', 'process.js')],
  define: { global: 'globalThis' },
  plugins: [browserPlatform],
  logLevel: 'warning'
})

const code = await readFile(outfile)
console.log(`browser bundle: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gzipSync(code).length / 1024).toFixed(1)} KiB gzipped`)
