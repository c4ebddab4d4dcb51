// Only the surface quorum-level uses.
declare module 'reconnect-core' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'

  interface Reconnector extends EventEmitter {
    connect: (...args: unknown[]) => Reconnector
    disconnect: () => Reconnector
    reconnect: boolean
    connected: boolean
  }

  interface Options {
    immediate?: boolean
    strategy?: EventEmitter
  }

  function inject (createConnection: (...args: never[]) => Duplex): (options: Options, onConnect: (stream: Duplex) => void) => Reconnector
  export = inject
}
