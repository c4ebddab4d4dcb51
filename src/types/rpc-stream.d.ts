// Only the raw-mode surface quorum-level uses.
declare module 'rpc-stream' {
  import type { Duplex } from 'node:stream'

  type Callback = (...args: unknown[]) => void

  interface RpcStream extends Duplex {
    rpc: (name: string, args: unknown[], callback?: Callback) => void
  }

  function rpc (methods: Record<string, (...args: never[]) => void>, raw: true): RpcStream
  export = rpc
}
