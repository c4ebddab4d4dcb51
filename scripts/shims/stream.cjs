'use strict'
// Node's legacy Stream, as through (under rpc-stream) uses it, for the browser bundle: an
// EventEmitter with pipe().
const { EventEmitter } = require('events')

function Stream () {
  EventEmitter.call(this)
}
Object.setPrototypeOf(Stream.prototype, EventEmitter.prototype)

Stream.prototype.pipe = function pipe (destination) {
  this.on('data', (chunk) => { destination.write(chunk) })
  this.on('end', () => { destination.end() })
  return destination
}

module.exports = Stream
module.exports.Stream = Stream
