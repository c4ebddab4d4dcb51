import { fileURLToPath } from 'node:url'
import { Child } from '../../src/cli/child.js'
import type { MemberCommand, MemberReply } from './fixtures/member.js'

const SCRIPT = fileURLToPath(new URL('./fixtures/member.js', import.meta.url))

/** One forked QuorumLevel process, with the replies it sent so far. */
export class Member {
  readonly #child = new Child<MemberCommand, MemberReply>(SCRIPT)

  get replies (): readonly MemberReply[] {
    return this.#child.replies
  }

  get pid (): number | undefined {
    return this.#child.pid
  }

  send (command: MemberCommand): void {
    this.#child.send(command)
  }

  /** Resolves with the first reply (from the start) that matches, or rejects after `ms`. */
  waitFor<T extends MemberReply['type']> (type: T, ms = 15_000, match: (reply: Extract<MemberReply, { type: T }>) => boolean = () => true): Promise<Extract<MemberReply, { type: T }>> {
    return this.#child.waitFor(type, match, ms)
  }

  count (type: MemberReply['type']): number {
    return this.replies.filter((reply) => reply.type === type).length
  }

  /** Sends `command` and resolves with the first reply of `type` sent after it that matches. */
  request<T extends MemberReply['type']> (command: MemberCommand, type: T, match?: (reply: Extract<MemberReply, { type: T }>) => boolean, ms = 15_000): Promise<Extract<MemberReply, { type: T }>> {
    return this.#child.request(command, type, match, ms)
  }

  async open (location: string, options: Extract<MemberCommand, { type: 'open' }>['options'] = {}): Promise<boolean> {
    const since = this.replies.length
    this.send({ type: 'open', location, options })
    const reply = await this.#child.waitFor(['opened', 'open-failed'], () => true, 15_000, since)
    if (reply.type === 'open-failed') throw new Error(`open failed: ${reply.code ?? ''} ${reply.message}`)
    return reply.leader
  }

  async close (): Promise<void> {
    await this.#child.stop({ type: 'close' })
  }

  /** Stops the process (SIGSTOP) as a busy or descheduled one is: it reacts to nothing until resumed. */
  pause (): void {
    this.#child.kill('SIGSTOP')
  }

  resume (): void {
    this.#child.kill('SIGCONT')
  }

  kill (): void {
    this.#child.kill()
  }

  exited (): Promise<void> {
    return this.#child.exited()
  }
}
