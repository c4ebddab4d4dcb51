import neostandard, { plugins } from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**'] }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    plugins: { '@typescript-eslint': plugins['typescript-eslint'].plugin },
    rules: {
      '@typescript-eslint/explicit-function-return-type': ['error', { allowExpressions: true }],
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  {
    // The protocol core is deterministic: time, timers, randomness and I/O come from outside.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', 'Date', 'setTimeout', 'setInterval', 'setImmediate', 'process', 'performance', 'queueMicrotask'],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'inject randomness through NodeConfig.random' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'net', 'os', 'crypto', 'stream', 'events'], message: 'the core performs no I/O' }] }]
    }
  }
]
