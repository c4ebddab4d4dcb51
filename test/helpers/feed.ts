import type { Change } from '../../src/index.js'

/**
 * Takes `count` changes from a feed (and stops reading it), or rejects after `ms` with how
 * many came, or with the feed's own error.
 */
export async function take<T> (feed: AsyncIterable<T>, count: number, ms = 10_000): Promise<T[]> {
  const taken: T[] = []
  if (count === 0) return taken
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`only ${taken.length} of ${count} changes within ${ms} ms`)) }, ms)
  })
  const reading = (async () => {
    for await (const change of feed) {
      taken.push(change)
      if (taken.length === count) break
    }
    return taken
  })()
  try {
    return await Promise.race([reading, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Changes as plain tuples, for deepEqual. */
export function shape (changes: ReadonlyArray<Change<unknown, unknown>>): unknown[] {
  return changes.map((change) => change.type === 'put' ? [change.type, change.key, change.value] : [change.type, change.key])
}
