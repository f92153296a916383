// Every error code is documented: the README's table and ERROR_CODES stay in step.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuoMfaError, ERROR_CODES, isDuoMfaError } from '../lib/index';

describe('error codes', () => {
  const readme = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
  const documented = new Map(
    [...readme.matchAll(/^\|\s*`(ERR_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map(
      (m) => [m[1]!, Number(m[2])] as const,
    ),
  );

  it('lists every code in the README with its status', () => {
    for (const [code, meta] of Object.entries(ERROR_CODES)) {
      assert.ok(documented.has(code), `${code} is missing from the README's error table`);
      assert.equal(documented.get(code), meta.status, `${code}: README says ${documented.get(code)}`);
    }
  });

  it('documents no code that does not exist', () => {
    for (const code of documented.keys()) assert.ok(code in ERROR_CODES, `${code} is in the README only`);
  });

  it('carries code, status, details and cause', () => {
    const cause = new Error('inner');
    const error = new DuoMfaError('ERR_DUO_DENIED', 'denied', {
      cause,
      details: { reason: 'user_marked_fraud' },
    });
    assert.equal(error.name, 'DuoMfaError');
    assert.equal(error.status, 403);
    assert.equal(error.cause, cause);
    assert.deepEqual(error.details, { reason: 'user_marked_fraud' });
    assert.ok(Object.isFrozen(error.details));
    assert.ok(isDuoMfaError(error, 'ERR_DUO_DENIED'));
    assert.ok(!isDuoMfaError(error, 'ERR_DUO_TIMEOUT'));
    assert.ok(!isDuoMfaError(new Error('x')));
  });
});
