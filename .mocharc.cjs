'use strict';
// Mocha runs the TypeScript sources through tsx; no --exit, so a leaked socket or timer hangs the run
// and gets noticed instead of hidden.
module.exports = {
  spec: ['test/**/*.test.ts'],
  'node-option': ['import=tsx'],
  extension: ['ts'],
  timeout: 20000,
  'check-leaks': true,
  reporter: 'spec',
};
