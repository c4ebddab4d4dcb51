import { type ChildProcess, fork } from 'node:child_process'

/**
 * A forked process driven over IPC, for the demo, the bench and the tests: commands go in,
 * replies are kept in arrival order and can be awaited by predicate. Every wait is bounded;
 * `kill` ends the process for good.
 */
export class Child<Command extends { type: string }, Reply extends { type: string }> {
  readonly replies: Reply[] = []
  readonly #child: ChildProcess
  readonly #waiters = new Set<() => void>()

  /** `execArgv`: Node's own options for the process (this process's by default, as fork's). */
  constructor (script: string, args: string[] = [], execArgv?: string[]) {
    this.#child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(execArgv === undefined ? {} : { execArgv }) })
    this.#child.on('message', (reply: Reply) => {
      this.replies.push(reply)
      for (const wake of this.#waiters) wake()
    })
  }

  get pid (): number | undefined {
    return this.#child.pid
  }

  send (command: Command): void {
    if (this.#child.connected) this.#child.send(command)
  }

  /**
   * The first reply (from `since`, an index into `replies`) of `type` (or of one of several
   * types) that matches; rejects after `ms`.
   */
  waitFor<T extends Reply['type']> (type: T | readonly T[], match: (reply: Extract<Reply, { type: T }>) => boolean = () => true, ms = 20_000, since = 0): Promise<Extract<Reply, { type: T }>> {
    const types: readonly string[] = Array.isArray(type) ? type : [type]
    return new Promise((resolve, reject) => {
      const find = (): boolean => {
        for (let i = since; i < this.replies.length; i++) {
          const reply = this.replies[i] as Reply
          if (types.includes(reply.type) && match(reply as Extract<Reply, { type: T }>)) {
            clearTimeout(timer)
            this.#waiters.delete(wake)
            resolve(reply as Extract<Reply, { type: T }>)
            return true
          }
        }
        return false
      }
      const wake = (): void => { find() }
      const timer = setTimeout(() => {
        this.#waiters.delete(wake)
        reject(new Error(`process ${this.pid ?? '?'} sent no ${types.join(' or ')} within ${ms} ms; got ${this.replies.slice(since).map((reply) => reply.type).join(',')}`))
      }, ms)
      if (!find()) this.#waiters.add(wake)
    })
  }

  /** Sends `command` and waits for the first reply of `type` (or one of several) sent after it. */
  async request<T extends Reply['type']> (command: Command, type: T | readonly T[], match?: (reply: Extract<Reply, { type: T }>) => boolean, ms?: number): Promise<Extract<Reply, { type: T }>> {
    const since = this.replies.length
    this.send(command)
    return await this.waitFor(type, match, ms, since)
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal)
  }

  /** Asks the process to end with `command`; kills it if it has not exited after `ms`. */
  async stop (command: Command, ms = 10_000): Promise<void> {
    const exited = this.exited()
    this.send(command)
    const timer = setTimeout(() => { this.kill() }, ms)
    await exited
    clearTimeout(timer)
  }

  exited (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => this.#child.once('exit', () => resolve()))
  }
}
