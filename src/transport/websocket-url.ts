/** Where a host accepts WebSocket peers unless told otherwise: both sides must agree on it. */
export const WEBSOCKET_PATH = '/quorum-level'

/** `ws://host:port/path` (or `wss://`), with an IPv6 host in brackets. */
export function webSocketUrl (host: string, port: number, path: string, secure = false): string {
  return `${secure ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`
}
