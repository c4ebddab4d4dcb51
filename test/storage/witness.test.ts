/**
 * Goal: the witness tells a database that went back in time from one that did not (SPEC
 * §5.4), and any doubt reads as "not intact". Method: a FileWitness in a temporary directory,
 * asked about durable states ahead of, equal to and behind the progress it noted, with its
 * note missing, damaged, written in another boot of the machine, or one no disk reaches.
 */
import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { EMPTY_DURABLE_STATE } from '../../src/core/index.js'
import { DISTRUSTED } from '../../src/storage/durability.js'
import { FileWitness } from '../../src/storage/witness.js'
import { StorageWitness } from '../../src/storage/browser-witness.js'
import { tempDir } from '../helpers/hosts.js'

const HOST = '0123456789abcdef0123456789abcdef'

function state (reserved: number, decided: number): typeof EMPTY_DURABLE_STATE {
  return { ...EMPTY_DURABLE_STATE, reserved, marks: { [HOST]: decided } }
}

await test('the witness trusts progress at or beyond its note, and nothing behind it', async () => {
  const directory = await tempDir()
  try {
    const witness = new FileWitness(directory)
    assert.equal(await witness.check(HOST, state(0, 0), false), true, 'a database that decided nothing has nothing to lose')
    assert.equal(await witness.check(HOST, state(64, 10), false), false, 'no note, yet decisions: it may be a copy')
    witness.note(HOST, { reserved: 64, decided: 10 })
    await witness.flush()
    assert.equal(await witness.check(HOST, state(64, 10), false), true)
    assert.equal(await witness.check(HOST, state(128, 70), false), true, 'ahead of the note: the note lagged')
    assert.equal(await witness.check(HOST, state(64, 9), false), false, 'behind the note: the disk went back')
    assert.equal(await witness.check(HOST, state(0, 10), false), false, 'a reservation went back')
    // Notes taken in a row are merged; the last one counts.
    witness.note(HOST, { reserved: 128, decided: 20 })
    witness.note(HOST, { reserved: 192, decided: 30 })
    await witness.flush()
    assert.equal(await witness.check(HOST, state(128, 20), false), false)
    assert.equal(await witness.check(HOST, state(192, 30), false), true)
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
})

await test('after a start that found storage gone back, no disk is trusted until real progress is noted', async () => {
  const directory = await tempDir()
  try {
    const witness = new FileWitness(directory)
    witness.note(HOST, DISTRUSTED)
    await witness.flush()
    // Written, not only pending: a process killed next still finds it.
    const again = new FileWitness(directory)
    assert.equal(await again.check(HOST, state(1_000_000, 1_000_000), false), false, 'a disk brought back up by a recovery cut short')
    assert.equal(await again.check(HOST, state(0, 0), false), false, 'nor one that decided nothing')
    again.note(HOST, { reserved: 64, decided: 10 })
    await again.flush()
    assert.equal(await again.check(HOST, state(64, 10), false), true)
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
})

await test('a note from another boot is trusted only when every batch was synced', async () => {
  const directory = await tempDir()
  try {
    const witness = new FileWitness(directory)
    witness.note(HOST, { reserved: 64, decided: 10 })
    await witness.flush()
    const path = join(directory, `${HOST}.json`)
    const note = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
    await writeFile(path, JSON.stringify({ ...note, boot: 'a boot before a power loss' }))
    assert.equal(await witness.check(HOST, state(64, 10), false), false, 'without sync, a reboot may have dropped writes')
    assert.equal(await witness.check(HOST, state(64, 10), true), true, 'with sync, a reboot drops nothing')
    await writeFile(path, '{"hostId": "0123", "bo')
    assert.equal(await witness.check(HOST, state(64, 10), true), false, 'a damaged note is no note')
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
})

await test('the browser\'s witness keeps its notes in Web Storage and judges them the same way', async () => {
  const items = new Map<string, string>()
  const storage = { getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => { items.set(key, value) } }
  const witness = new StorageWitness(storage)
  assert.equal(await witness.check(HOST, state(0, 0)), true, 'a database that decided nothing has nothing to lose')
  assert.equal(await witness.check(HOST, state(64, 10)), false, 'no note, yet decisions: IndexedDB may have outlived its notes')
  witness.note(HOST, { reserved: 64, decided: 10 })
  assert.equal(await witness.check(HOST, state(64, 10)), true)
  assert.equal(await witness.check(HOST, state(64, 9)), false, 'behind the note: IndexedDB lost writes')
  // A fresh witness over the same storage, as after a reload.
  assert.equal(await new StorageWitness(storage).check(HOST, state(64, 9)), false)
  items.set(`quorum-level-witness:${HOST}`, '{not json')
  assert.equal(await witness.check(HOST, state(64, 10)), false, 'a damaged note is no note')
  const refusing = new StorageWitness({ getItem: () => null, setItem: () => { throw new Error('QuotaExceededError') } })
  refusing.note(HOST, { reserved: 1, decided: 1 })
  assert.equal(await refusing.check(HOST, state(1, 1)), false, 'a note storage refused is doubt, not a crash')
})
