/**
 * Goal: the docs stay true to the code. Method: every code in the error catalogue is listed
 * in README "Errors", and README lists no other code.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { CODES } from '../src/errors.js'

test('README "Errors" lists exactly the codes quorum-level raises', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.split('### Errors')[1]?.split('\n### ')[0] ?? ''
  const listed = new Set([...section.matchAll(/^\| `(LEVEL_[A-Z_]+)` \|/gm)].map((match) => match[1]))
  assert.deepEqual([...listed].sort(), Object.values(CODES).sort())
})
