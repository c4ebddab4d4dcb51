// The `process` global that through (under rpc-stream) calls nextTick on, for the browser bundle.
import process from 'process/browser.js'

export { process }
