import { fileURLToPath } from 'node:url'
import { Child } from '../helpers/child.js'
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

  async open (location: string, options: Extract<MemberCommand, { type: 'open' }>['options'] = {}): Promise<boolean> {
    this.send({ type: 'open', location, options })
    const reply = await Promise.race([this.waitFor('opened'), this.waitFor('open-failed').then((failed) => { throw new Error(`open failed: ${failed.code ?? ''} ${failed.message}`) })])
    return reply.leader
  }

  async close (): Promise<void> {
    const exited = this.exited()
    this.send({ type: 'close' })
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
    this.kill()
  }

  kill (): void {
    this.#child.kill()
  }

  exited (): Promise<void> {
    return this.#child.exited()
  }
}
