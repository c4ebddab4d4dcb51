import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { MemberCommand, MemberReply } from './fixtures/member.js'

const SCRIPT = fileURLToPath(new URL('./fixtures/member.js', import.meta.url))

/** One forked QuorumLevel process, with the replies it sent so far. */
export class Member {
  readonly replies: MemberReply[] = []
  readonly #child: ChildProcess
  readonly #waiters = new Set<() => void>()

  constructor () {
    this.#child = fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child.on('message', (reply: MemberReply) => {
      this.replies.push(reply)
      for (const wake of this.#waiters) wake()
    })
  }

  get pid (): number | undefined {
    return this.#child.pid
  }

  send (command: MemberCommand): void {
    this.#child.send(command)
  }

  /** Resolves with the first reply (from the start) that matches, or rejects after `ms`. */
  waitFor<T extends MemberReply['type']> (type: T, ms = 15_000, match: (reply: Extract<MemberReply, { type: T }>) => boolean = () => true): Promise<Extract<MemberReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.replies.find((reply): reply is Extract<MemberReply, { type: T }> => reply.type === type && match(reply as Extract<MemberReply, { type: T }>))
        if (found === undefined) return false
        clearTimeout(timer)
        this.#waiters.delete(wake)
        resolve(found)
        return true
      }
      const wake = (): void => { check() }
      const timer = setTimeout(() => {
        this.#waiters.delete(wake)
        reject(new Error(`member ${this.pid ?? '?'} sent no ${type} within ${ms} ms; got ${this.replies.map((reply) => reply.type).join(',')}`))
      }, ms)
      if (!check()) this.#waiters.add(wake)
    })
  }

  count (type: MemberReply['type']): number {
    return this.replies.filter((reply) => reply.type === type).length
  }

  async open (location: string, options: Extract<MemberCommand, { type: 'open' }>['options'] = {}): Promise<boolean> {
    this.send({ type: 'open', location, options })
    const reply = await Promise.race([this.waitFor('opened'), this.waitFor('open-failed').then((failed) => { throw new Error(`open failed: ${failed.code ?? ''} ${failed.message}`) })])
    return reply.leader
  }

  async close (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.send({ type: 'close' })
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
    this.kill()
  }

  kill (): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
  }

  exited (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => this.#child.once('exit', () => resolve()))
  }
}
