/** A binary min-heap of events ordered by time, then by insertion: ties replay identically. */
export class EventHeap<T> {
  readonly #items: Array<{ time: number, order: number, value: T }> = []
  #order = 0

  get size (): number {
    return this.#items.length
  }

  push (time: number, value: T): void {
    const items = this.#items
    items.push({ time, order: this.#order++, value })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(i, parent)) break
      this.#swap(i, parent)
      i = parent
    }
  }

  pop (): { time: number, value: T } | undefined {
    const items = this.#items
    const top = items[0]
    if (top === undefined) return undefined
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < items.length && this.#less(left, smallest)) smallest = left
        if (right < items.length && this.#less(right, smallest)) smallest = right
        if (smallest === i) break
        this.#swap(i, smallest)
        i = smallest
      }
    }
    return { time: top.time, value: top.value }
  }

  #less (a: number, b: number): boolean {
    const x = this.#items[a]
    const y = this.#items[b]
    if (x === undefined || y === undefined) return false
    return x.time < y.time || (x.time === y.time && x.order < y.order)
  }

  #swap (a: number, b: number): void {
    const items = this.#items
    const x = items[a]
    const y = items[b]
    if (x === undefined || y === undefined) return
    items[a] = y
    items[b] = x
  }
}
