/**
 * Goal: the core's modules import one another without a cycle, so each reads from its
 * dependencies up and node.ts alone ties them together (what follows a durable apply, for
 * one, is handed down as NodeState.afterApply rather than imported back up). Method: read
 * every import and re-export of src/core/*.ts, type-only ones included, and search the graph
 * for a cycle; a failure names it.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'

const CORE = new URL('../../../src/core/', import.meta.url)
const SPECIFIER = /^\s*(?:import|export)\b[^'"]*?\bfrom\s+'\.\/([a-z-]+)\.js'/gm

async function importGraph (): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>()
  for (const file of await readdir(CORE)) {
    if (!file.endsWith('.ts')) continue
    const source = await readFile(new URL(file, CORE), 'utf8')
    graph.set(file.slice(0, -3), [...source.matchAll(SPECIFIER)].map((match) => match[1] as string))
  }
  return graph
}

/** A cycle as the modules along it, first one repeated at the end, or null. */
function findCycle (graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const done = new Set<string>()
  const path: string[] = []
  const visit = (module: string): string[] | null => {
    const at = path.indexOf(module)
    if (at !== -1) return [...path.slice(at), module]
    if (done.has(module)) return null
    path.push(module)
    for (const dependency of graph.get(module) ?? []) {
      const cycle = visit(dependency)
      if (cycle !== null) return cycle
    }
    path.pop()
    done.add(module)
    return null
  }
  for (const module of graph.keys()) {
    const cycle = visit(module)
    if (cycle !== null) return cycle
  }
  return null
}

test('the core has no import cycle', async () => {
  const graph = await importGraph()
  assert.ok(graph.size > 10 && (graph.get('node')?.length ?? 0) > 5, 'the graph was read')
  assert.deepEqual(findCycle(graph), null)
})

test('the search finds a planted cycle', () => {
  const graph = new Map([['node', ['apply']], ['apply', ['state']], ['state', ['node']]])
  assert.deepEqual(findCycle(graph), ['node', 'apply', 'state', 'node'])
})
