'use strict'
// The two functions of Node's util that backoff and precond call, for the browser bundle.

exports.inherits = function inherits (ctor, superCtor) {
  ctor.super_ = superCtor
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype)
}

exports.format = function format (pattern, ...args) {
  let i = 0
  return String(pattern).replace(/%[sdj%]/g, (match) => {
    if (match === '%%') return '%'
    if (i >= args.length) return match
    const arg = args[i++]
    return match === '%j' ? JSON.stringify(arg) : String(arg)
  })
}
