/**
 * Bundles a page script for the browser with esbuild: the script, browser-level and the
 * shipped browser bundle (dist/browser/quorum-level.js) in place of its imports of
 * src/browser.js, as an application's bundler would resolve `quorum-level`. The example's
 * server and the browser tests share it.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const SHIPPED = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'browser', 'quorum-level.js')

export async function bundlePage (entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    define: { global: 'globalThis' },
    plugins: [{
      name: 'shipped-bundle',
      setup (esbuild) {
        esbuild.onResolve({ filter: /\/src\/browser\.js$/ }, () => ({ path: SHIPPED }))
      }
    }],
    logLevel: 'warning'
  })
  return result.outputFiles[0]?.text ?? ''
}
