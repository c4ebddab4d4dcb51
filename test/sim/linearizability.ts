/**
 * A linearizability checker for register histories, after Wing & Gong's search with Lowe's
 * memoization (the WGL algorithm behind Knossos and Porcupine). Each key is one register and is
 * checked on its own: linearizability is compositional, and per-key searches stay small.
 *
 * The search orders ops one at a time. Only a "minimal" op may come next: one invoked no later
 * than the earliest response among the ops still unplaced, since an op that finished before
 * another began must precede it. A state is the set of ops placed (or skipped) plus the value
 * the register holds; the future depends on nothing else, so a state is expanded at most once.
 * Three things keep the search small where plain WGL blows up on heavily overlapping writes:
 * - before searching, each read gets the writes real time lets it have read from, and a read
 *   with none, or two write-and-readers runs real time forbids in either order, fails at once;
 * - a state in which some unplaced read has lost every possible source is dead at once;
 * - moves no later choice can regret are made alone: a read of the held value, or a write that
 *   nobody can read over a value nobody can read (such values share one id in the memo key).
 *
 * A read that never answered is still a read of its value; a history should leave such reads
 * out, as they saw nothing. `optional` is honoured on writes only.
 * Deterministic: no randomness, no clocks, and ties are broken by the caller's op order.
 */

/** One operation on one register (one key). Times are real-time instants (numbers). */
export interface RegisterOp {
  readonly kind: 'write' | 'read'
  /** The value written, or the value the read returned; null means "absent" (never written, or deleted). */
  readonly value: string | null
  /** When the client invoked the operation. */
  readonly invoke: number
  /** When the client got the answer; Infinity if it never did (the op may take effect at any time after invoke). */
  readonly response: number
  /** Only for writes: the write may or may not have taken effect at all (its outcome is unknown). */
  readonly optional?: boolean
  /** Free text echoed in failure reports (for example a request id). */
  readonly label?: string
}

export type LinearizabilityResult =
  | { readonly ok: true }
  | { readonly ok: false, readonly message: string }
  | { readonly ok: 'unknown', readonly message: string }

const STEPS_MAX_DEFAULT = 1_000_000
const REPORT_OPS_MAX = 8

/** A move places op `index` (`index * 2`) or skips an optional write (`index * 2 + 1`). */
interface Frame {
  readonly moves: readonly number[]
  next: number
  /** The move that led into this state; -1 at the root. */
  readonly applied: number
  /** The write the register held before `applied`, to undo it. */
  readonly previousWriter: number
}

/**
 * Whether `ops` on one register, starting from `initial`, can be ordered as a sequence that
 * (a) respects real time: if a.response < b.invoke then a comes before b,
 * (b) obeys register semantics: a read returns the value of the latest write before it in the sequence (or `initial` if none),
 * (c) includes every op that is not optional; an optional write may be left out entirely.
 */
export function checkRegister (initial: string | null, ops: readonly RegisterOp[], options?: { readonly stepsMax?: number }): LinearizabilityResult {
  const stepsMax = options?.stepsMax ?? STEPS_MAX_DEFAULT
  ops.forEach((op, index) => {
    if (!Number.isFinite(op.invoke) || Number.isNaN(op.response) || op.response < op.invoke) {
      throw new RangeError(`op ${index} (${describe(op)}) needs a finite invoke and a response not before it`)
    }
  })
  // Sorting by invoke makes the minimal ops a prefix of the unplaced ones; the stable sort keeps
  // the caller's order among equal invokes, so the search (and its report) is reproducible.
  const sorted = [...ops].sort((a, b) => a.invoke - b.invoke)
  const search = new Search(initial, sorted)
  return search.run(stepsMax)
}

/**
 * One search's state, changed in place by each move and restored by its undo. Op indexes are
 * positions in `sorted`; the writer `n` stands for the initial value.
 */
class Search {
  readonly #initial: string | null
  readonly #sorted: readonly RegisterOp[]
  readonly #n: number
  readonly #invoke: Float64Array
  readonly #response: Float64Array
  readonly #isRead: Uint8Array
  readonly #optional: Uint8Array
  /** Values as small integers, so that keys are short and comparisons cheap; index n is initial. */
  readonly #value: Int32Array
  readonly #garbage: number
  /**
   * The reads each writer could have been read by, and back. A writer W is a possible source for
   * a read R of its value unless real time rules it out: W invoked after R responded, or some
   * required write invoked after W responded and responded before R was invoked, so that it
   * lies between them in every order.
   */
  readonly #readersOf: number[][]
  readonly #sourcesOf: number[][]

  readonly #done: Uint8Array
  readonly #words: Uint16Array
  #firstUndone = 0
  #doneCount = 0
  #requiredLeft: number
  #writer: number
  /** Per read: its possible sources not yet overwritten or skipped. */
  readonly #sourcesLeft: Int32Array
  /** Per writer: its possible readers not yet placed. */
  readonly #readersLeft: Int32Array
  /** Unplaced reads with no source left: while there is one, the state is dead. */
  #orphans = 0

  constructor (initial: string | null, sorted: readonly RegisterOp[]) {
    this.#initial = initial
    this.#sorted = sorted
    const n = this.#n = sorted.length
    const valueIds = new Map<string | null, number>()
    const intern = (value: string | null): number => {
      let id = valueIds.get(value)
      if (id === undefined) {
        id = valueIds.size
        valueIds.set(value, id)
      }
      return id
    }
    this.#value = Int32Array.from([...sorted.map((op) => op.value), initial], intern)
    this.#garbage = valueIds.size
    this.#invoke = Float64Array.from(sorted, (op) => op.invoke)
    this.#response = Float64Array.from(sorted, (op) => op.response)
    this.#isRead = Uint8Array.from(sorted, (op) => (op.kind === 'read' ? 1 : 0))
    // Every read happened: a read whose answer was never seen is no part of a history.
    this.#optional = Uint8Array.from(sorted, (op) => (op.kind === 'write' && op.optional === true ? 1 : 0))
    this.#requiredLeft = n - this.#optional.reduce((sum, flag) => sum + flag, 0)
    this.#writer = n
    this.#done = new Uint8Array(n)
    this.#words = new Uint16Array(Math.ceil(n / 16))

    // Required writes by response, with the latest invoke among the first k of them: the latest
    // a write that must precede a given instant can have started.
    const required = [...sorted.keys()].filter((index) => this.#isRead[index] === 0 && this.#optional[index] === 0)
      .sort((a, b) => this.#response[a]! - this.#response[b]!)
    const latestInvoke: number[] = []
    for (const index of required) latestInvoke.push(Math.max(latestInvoke.at(-1) ?? -Infinity, this.#invoke[index]!))
    const latestInvokeBefore = (time: number): number => {
      let low = 0
      let high = required.length
      while (low < high) {
        const middle = (low + high) >> 1
        if (this.#response[required[middle]!]! < time) low = middle + 1
        else high = middle
      }
      return low === 0 ? -Infinity : latestInvoke[low - 1]!
    }
    const writersOf = new Map<number, number[]>()
    for (let index = 0; index <= n; index++) {
      if (index < n && this.#isRead[index] === 1) continue
      const id = this.#value[index]!
      const writers = writersOf.get(id)
      if (writers === undefined) writersOf.set(id, [index])
      else writers.push(index)
    }
    this.#readersOf = Array.from({ length: n + 1 }, (): number[] => [])
    this.#sourcesOf = Array.from({ length: n }, (): number[] => [])
    this.#sourcesLeft = new Int32Array(n)
    this.#readersLeft = new Int32Array(n + 1)
    for (let read = 0; read < n; read++) {
      if (this.#isRead[read] === 0) continue
      const between = latestInvokeBefore(this.#invoke[read]!)
      for (const writer of writersOf.get(this.#value[read]!) ?? []) {
        const possible = writer === n
          ? between === -Infinity
          : this.#invoke[writer]! <= this.#response[read]! && this.#response[writer]! >= between
        if (!possible) continue
        this.#readersOf[writer]!.push(read)
        this.#sourcesOf[read]!.push(writer)
        this.#readersLeft[writer]!++
        this.#sourcesLeft[read]!++
      }
      if (this.#sourcesLeft[read] === 0) this.#orphans++
    }
  }

  run (stepsMax: number): LinearizabilityResult {
    const orphan = this.#sourcesLeft.findIndex((left, index) => left === 0 && this.#isRead[index] === 1)
    if (orphan >= 0) {
      return { ok: false, message: `not linearizable: ${describe(this.#sorted[orphan]!)} cannot have read any write: every write of that value either began after it ended or was overwritten by a write that ended before it began` }
    }
    const clash = this.#clash()
    if (clash !== null) return { ok: false, message: `not linearizable: ${clash}` }
    let best = { path: [] as number[], writer: this.#n, stranded: [] as number[] }
    const visited = new Set<string>()
    let steps = 0
    const stack: Frame[] = []
    let bestCount = -1

    const expand = (applied: number, previousWriter: number): LinearizabilityResult | null => {
      if (this.#requiredLeft === 0) return { ok: true }
      const key = this.#key()
      if (visited.has(key)) return null
      visited.add(key)
      if (++steps > stepsMax) return { ok: 'unknown', message: `search stopped after ${stepsMax} states; ${this.#report(best)}` }
      // A dead state still ends a linearizable prefix, which is worth reporting.
      if (this.#doneCount > bestCount) {
        bestCount = this.#doneCount
        best = {
          path: [...stack.map((frame) => frame.applied), applied].filter((move) => move >= 0),
          writer: this.#writer,
          stranded: this.#orphans === 0 ? [] : [...this.#sourcesLeft.keys()].filter((read) => this.#isRead[read] === 1 && this.#done[read] === 0 && this.#sourcesLeft[read] === 0)
        }
      }
      if (this.#orphans === 0) stack.push({ moves: this.#moves(), next: 0, applied, previousWriter })
      return null
    }

    const rootResult = expand(-1, this.#n)
    if (rootResult !== null) return rootResult
    // Each pass either consumes one move or pops one frame; a frame holds at most n moves and
    // at most stepsMax frames are ever pushed, so the loop is bounded.
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!
      const move = frame.moves[frame.next]
      if (move === undefined) {
        stack.pop()
        if (frame.applied >= 0) this.#undo(frame.applied, frame.previousWriter)
        continue
      }
      frame.next++
      const previousWriter = this.#writer
      this.#apply(move)
      const depth = stack.length
      const result = expand(move, previousWriter)
      if (result !== null) return result
      if (stack.length === depth) this.#undo(move, previousWriter)
    }
    return { ok: false, message: `not linearizable: ${this.#report(best)}` }
  }

  /**
   * A write and the reads that can only have read it form an unbroken run in any order, with no
   * other write inside, so two such runs go one wholly before the other; real time can forbid
   * both ways (the zones of Gibbons & Korach). Finding such a pair up front spares a search that
   * would otherwise try every order of the ops around them before giving up.
   */
  #clash (): string | null {
    const n = this.#n
    interface Run { readonly writer: number, readonly end: number, readonly endOp: number, readonly start: number, readonly startOp: number }
    const runs: Run[] = []
    for (let writer = 0; writer <= n; writer++) {
      if (writer < n && this.#isRead[writer] === 1) continue
      const members = this.#readersOf[writer]!.filter((read) => this.#sourcesOf[read]!.length === 1)
      // An optional write nobody must have read may be left out, and so may the initial value's run.
      if ((writer === n || this.#optional[writer] === 1) && members.length === 0) continue
      // The initial value comes before everything, as if written and answered at -Infinity.
      let end = writer === n ? -Infinity : this.#response[writer]!
      let endOp = writer
      let start = writer === n ? -Infinity : this.#invoke[writer]!
      let startOp = writer
      for (const read of members) {
        if (this.#response[read]! < end) {
          end = this.#response[read]!
          endOp = read
        }
        if (this.#invoke[read]! > start) {
          start = this.#invoke[read]!
          startOp = read
        }
      }
      runs.push({ writer, end, endOp, start, startOp })
    }
    // Run b must precede run a when b.end < a.start; for each a, look among the runs that must
    // precede it for one that a must precede too: the one starting latest, or the next latest
    // if that is a itself.
    runs.sort((a, b) => a.end - b.end)
    const latest: Array<{ first: number, second: number }> = []
    for (const [index, run] of runs.entries()) {
      const before = latest.at(-1) ?? { first: -1, second: -1 }
      const startOf = (at: number): number => (at < 0 ? -Infinity : runs[at]!.start)
      if (run.start > startOf(before.first)) latest.push({ first: index, second: before.first })
      else if (run.start > startOf(before.second)) latest.push({ first: before.first, second: index })
      else latest.push(before)
    }
    for (const [index, a] of runs.entries()) {
      let low = 0
      let high = runs.length
      while (low < high) {
        const middle = (low + high) >> 1
        if (runs[middle]!.end < a.start) low = middle + 1
        else high = middle
      }
      if (low === 0) continue
      const { first, second } = latest[low - 1]!
      const other = first === index ? second : first
      const b = other < 0 ? undefined : runs[other]
      if (b === undefined || !(a.end < b.start)) continue
      return `${this.#runName(a)} and ${this.#runName(b)} cannot be ordered: ${this.#precedes(b.endOp, a.startOp)}, and ${this.#precedes(a.endOp, b.startOp)}`
    }
    return null
  }

  #runName (run: { readonly writer: number }): string {
    const reads = this.#readersOf[run.writer]!.filter((read) => this.#sourcesOf[read]!.length === 1).length
    if (reads === 0) return this.#opName(run.writer)
    return `${this.#opName(run.writer)} with ${reads === 1 ? 'the read' : `the ${reads} reads`} that can only have read it`
  }

  #precedes (earlier: number, later: number): string {
    if (earlier === this.#n) return `the initial value comes before ${this.#opName(later)}`
    return `${this.#opName(earlier)} ended before ${this.#opName(later)} began`
  }

  #opName (index: number): string {
    return index === this.#n ? `the initial value ${JSON.stringify(this.#initial)}` : describe(this.#sorted[index]!)
  }

  #apply (move: number): void {
    const index = move >> 1
    this.#done[index] = 1
    this.#words[index >> 4]! |= 1 << (index & 15)
    this.#doneCount++
    if (this.#optional[index] === 0) this.#requiredLeft--
    while (this.#firstUndone < this.#n && this.#done[this.#firstUndone] === 1) this.#firstUndone++
    if (this.#isRead[index] === 1) {
      for (const source of this.#sourcesOf[index]!) this.#readersLeft[source]!--
    } else if ((move & 1) === 1) {
      this.#loseSource(index)
    } else {
      this.#loseSource(this.#writer)
      this.#writer = index
    }
  }

  #undo (move: number, previousWriter: number): void {
    const index = move >> 1
    if (this.#isRead[index] === 1) {
      for (const source of this.#sourcesOf[index]!) this.#readersLeft[source]!++
    } else if ((move & 1) === 1) {
      this.#regainSource(index)
    } else {
      this.#writer = previousWriter
      this.#regainSource(previousWriter)
    }
    this.#done[index] = 0
    this.#words[index >> 4]! &= ~(1 << (index & 15))
    this.#doneCount--
    if (this.#optional[index] === 0) this.#requiredLeft++
    if (index < this.#firstUndone) this.#firstUndone = index
  }

  /** `writer` was overwritten or skipped: its value can no longer be read from it. */
  #loseSource (writer: number): void {
    for (const read of this.#readersOf[writer]!) {
      if (--this.#sourcesLeft[read]! === 0 && this.#done[read] === 0) this.#orphans++
    }
  }

  #regainSource (writer: number): void {
    for (const read of this.#readersOf[writer]!) {
      if (this.#sourcesLeft[read]!++ === 0 && this.#done[read] === 0) this.#orphans--
    }
  }

  /**
   * The state's key: the set of ops placed or skipped, and what the register holds. A held value
   * no unplaced read can return is garbage, and which garbage cannot matter to the rest of the
   * search, so all garbage shares one id and such states merge.
   */
  #key (): string {
    const held = this.#readersLeft[this.#writer] === 0 ? this.#garbage : this.#value[this.#writer]!
    // Every op before firstUndone is done, so the words below it add nothing.
    return String.fromCharCode(this.#firstUndone & 0xffff, this.#firstUndone >>> 16, held & 0xffff, held >>> 16) +
      String.fromCharCode(...this.#words.subarray(this.#firstUndone >> 4))
  }

  #moves (): number[] {
    // An unplaced op that responded before `index` was invoked must precede it. Scanning in
    // invoke order can stop at the first op invoked after the smallest response seen: it and all
    // later ops can neither come next nor lower that smallest response.
    const scanned: number[] = []
    let responseMin = Infinity
    let blocked = false
    for (let index = this.#firstUndone; index < this.#n; index++) {
      if (this.#done[index] === 1) continue
      if (this.#invoke[index]! > responseMin) {
        blocked = true
        break
      }
      responseMin = Math.min(responseMin, this.#response[index]!)
      scanned.push(index)
    }
    const minimal = scanned.filter((index) => this.#invoke[index]! <= responseMin)
    if (minimal.length < scanned.length) blocked = true
    // A minimal read of the held value can always go first: it changes nothing and only leaves
    // the other ops freer, so trying anything else here would be wasted search.
    const held = this.#value[this.#writer]
    for (const index of minimal) if (this.#isRead[index] === 1 && this.#value[index] === held) return [index * 2]
    // Likewise a write nobody can read, over a value nobody can read: no read can tell it
    // happened now rather than later (or not at all, if optional), and it frees the ops it held back.
    const writes = minimal.filter((index) => this.#isRead[index] === 0)
    if (this.#readersLeft[this.#writer] === 0) {
      for (const index of writes) if (this.#readersLeft[index] === 0) return [index * 2]
    }
    // Order only matters for speed: try first the writes whose readers must answer soonest,
    // since the order that real time forces is most often the one that works.
    const urgency = (index: number): number => {
      let soonest = Infinity
      for (const read of this.#readersOf[index]!) if (this.#done[read] === 0) soonest = Math.min(soonest, this.#response[read]!)
      return soonest
    }
    const urgencies = new Map(writes.map((index) => [index, urgency(index)]))
    const moves = [...writes].sort((a, b) => urgencies.get(a)! - urgencies.get(b)! || a - b).map((index) => index * 2)
    // Skipping an optional write matters only when it holds another op back, and then the op
    // that responded first is among those holding back; skipping just those keeps the search narrow.
    if (blocked) {
      for (const index of writes) if (this.#optional[index] === 1 && this.#response[index] === responseMin) moves.push(index * 2 + 1)
    }
    return moves
  }

  #report ({ path, writer, stranded }: { readonly path: readonly number[], readonly writer: number, readonly stranded: readonly number[] }): string {
    const held = writer === this.#n ? this.#initial : this.#sorted[writer]!.value
    const placed = new Set(path.map((move) => move >> 1))
    const tail = path.slice(-REPORT_OPS_MAX).map((move) => ((move & 1) === 1 ? 'skip ' : '') + describe(this.#sorted[move >> 1]!))
    const left = this.#sorted.filter((_, index) => !placed.has(index))
    const ellipsis = path.length > REPORT_OPS_MAX ? '…, ' : ''
    const prefix = `the longest linearizable prefix found orders ${path.length} of ${this.#n} ops` + (path.length === 0 ? '' : ` (${ellipsis}${tail.join(', ')})`)
    const why = stranded.length === 0 ? '' : `; after it, ${list(stranded.map((read) => describe(this.#sorted[read]!)))} can no longer read ${stranded.length === 1 ? 'its value' : 'their values'}`
    return `${prefix} and leaves the register at ${JSON.stringify(held)}${why}; the ${left.length} ops left could not follow it (${list(left.map(describe))})`
  }
}

/** Checks each key's history independently (linearizability is compositional); returns the first failure, naming the key. */
export function checkRegisters (histories: ReadonlyMap<string, { readonly initial: string | null, readonly ops: readonly RegisterOp[] }>, options?: { readonly stepsMax?: number }): LinearizabilityResult {
  // A definite failure is worth more than a key the search gave up on, so keep looking past one.
  let unknown: LinearizabilityResult | null = null
  for (const [key, { initial, ops }] of histories) {
    const result = checkRegister(initial, ops, options)
    if (result.ok === false) return { ok: false, message: `key ${JSON.stringify(key)}: ${result.message}` }
    if (result.ok === 'unknown' && unknown === null) unknown = { ok: 'unknown', message: `key ${JSON.stringify(key)}: ${result.message}` }
  }
  return unknown ?? { ok: true }
}

function describe (op: RegisterOp): string {
  const end = op.response === Infinity ? '∞)' : `${op.response}]`
  const optional = op.optional === true ? ' optional' : ''
  const label = op.label === undefined ? '' : ` ${op.label}`
  return `${op.kind}(${JSON.stringify(op.value)}) [${op.invoke}, ${end}${optional}${label}`
}

/** At most REPORT_OPS_MAX items, so that a long history's report stays readable. */
function list (items: readonly string[]): string {
  const more = items.length > REPORT_OPS_MAX ? `, and ${items.length - REPORT_OPS_MAX} more` : ''
  return items.slice(0, REPORT_OPS_MAX).join(', ') + more
}
