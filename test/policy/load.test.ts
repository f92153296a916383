// Reading the policy file: missing, unreadable, empty, broken JSON (with line/column), not an object, valid.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicyFile } from '../../lib/policy/load';
import { readPolicyFile } from '../../lib/policy/read';
import { locateJsonError } from '../../lib/policy/json-error';
import { DESIGN_ENV, SECRET, designPolicy, issuesOf, policyError, tempDir } from './helpers';

describe('loadPolicyFile', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  function file(name: string, text: string): string {
    const path = tmp.path(name);
    writeFileSync(path, text);
    return path;
  }

  describe('when the file is valid', () => {
    it('reads, validates and compiles it, with the path as source', () => {
      const path = file('valid.json', JSON.stringify(designPolicy(), null, 2));
      const policy = loadPolicyFile(path, { env: DESIGN_ENV });
      assert.equal(policy.source, path);
      assert.deepEqual([...policy.tenants.keys()], ['acme']);
    });

    it('accepts a UTF-8 byte order mark (Windows editors)', () => {
      const path = file('bom.json', `\uFEFF${JSON.stringify(designPolicy())}`);
      assert.equal(loadPolicyFile(path, { env: DESIGN_ENV }).defaultTenant, 'acme');
    });
  });

  describe('when the file cannot be read', () => {
    it('says that a missing file does not exist', () => {
      const path = tmp.path('missing.json');
      const error = policyError(() => loadPolicyFile(path));
      assert.equal(error.message, `Invalid MFA policy ${path}: the file does not exist`);
      assert.deepEqual(issuesOf(error), [{ path: '$', message: 'the file does not exist' }]);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
    });

    it('says that a directory is not a file', () => {
      const path = tmp.path('a-directory');
      mkdirSync(path);
      assert.equal(
        issuesOf(policyError(() => loadPolicyFile(path)))[0]!.message,
        'it is a directory, not a file',
      );
    });

    it('says permission denied for an unreadable file', () => {
      const path = file('secret.json', '{}');
      chmodSync(path, 0o000);
      if (process.getuid?.() !== 0) {
        assert.equal(
          issuesOf(policyError(() => loadPolicyFile(path)))[0]!.message,
          'permission denied (the process cannot read it)',
        );
        return;
      }
      // Root reads anything: ask the same question as an unprivileged user (nobody).
      const script =
        `const { loadPolicyFile } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'policy', 'load.ts'))});` +
        `try { loadPolicyFile(${JSON.stringify(path)}); console.log('read it'); }` +
        `catch (e) { console.log(e.details.issues[0].message); }`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
        uid: 65534,
        gid: 65534,
        cwd: join(__dirname, '..', '..'),
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', TMPDIR: '/tmp' },
      });
      assert.equal(child.stdout.trim(), 'permission denied (the process cannot read it)', child.stderr);
    });
  });

  describe('when the content is not a policy', () => {
    const cases: [string, string, string][] = [
      ['an empty file', '', 'the file is empty'],
      ['a file of blank lines', '\n  \n', 'the file is empty'],
      [
        'a trailing comma',
        '{\n  "tenants": {},\n}',
        'not valid JSON at line 3, column 1: trailing comma before "}"',
      ],
      [
        'a half-written (truncated) file',
        '{\n  "tenants": {\n    "acme": {\n      "mfa": {',
        'not valid JSON at line 4, column 15: the file ends inside an object (cut short?)',
      ],
      [
        'single quotes',
        "{'tenants': {}}",
        'not valid JSON at line 1, column 2: expected a property name in double quotes but found "\'"',
      ],
      ['a JSON list', '[]', 'must be a JSON object with "tenants" (got a list)'],
      ['a JSON string', '"acme"', 'must be a JSON object with "tenants" (got "acme")'],
    ];
    for (const [what, text, message] of cases) {
      it(`reports ${what}`, () => {
        const path = file('case.json', text);
        assert.deepEqual(issuesOf(policyError(() => loadPolicyFile(path))), [{ path: '$', message }]);
      });
    }

    it('never quotes the file’s content (it may hold a secret) in a JSON error', () => {
      const path = file('leak.json', `{"tenants": {"acme": {"duo": {"clientSecret": "${SECRET}" oops}}}}`);
      const error = policyError(() => loadPolicyFile(path));
      assert.match(error.message, /not valid JSON at line 1, column \d+: expected "," or "}" but found "o"/);
      assert.ok(!error.message.includes(SECRET));
    });
  });

  describe('readPolicyFile', () => {
    it('parses without validating', () => {
      const path = file('raw.json', '{"anything": [1, 2]}');
      assert.deepEqual(readPolicyFile(path), { anything: [1, 2] });
    });
  });
});

describe('locateJsonError', () => {
  const cases: [string, string, { line: number; column: number; message: string } | undefined][] = [
    ['nothing in valid JSON', '{"a": [1, 2.5e3, true, null, "x\\u00e9"]}', undefined],
    [
      'a missing comma',
      '{"a": 1\n "b": 2}',
      { line: 2, column: 2, message: 'expected "," or "}" but found "\\""' },
    ],
    [
      'a missing colon',
      '{"a" 1}',
      { line: 1, column: 6, message: 'expected ":" after the property name but found "1"' },
    ],
    ['a trailing comma in a list', '[1,]', { line: 1, column: 4, message: 'trailing comma before "]"' }],
    [
      'text after the document',
      '{} {}',
      { line: 1, column: 4, message: 'unexpected "{" after the end of the JSON document' },
    ],
    [
      'a line break inside a string',
      '{"a": "x\n"}',
      {
        line: 1,
        column: 9,
        message: 'line break or control character inside a string (missing closing quote?)',
      },
    ],
    [
      'an unclosed string',
      '{"a": "xyz',
      { line: 1, column: 7, message: 'string is never closed (cut short?)' },
    ],
    ['a bad escape', '["\\x"]', { line: 1, column: 3, message: 'invalid escape in a string' }],
    ['a bare word', '{"a": yes}', { line: 1, column: 7, message: 'expected a value but found "y"' }],
    [
      'a list cut short',
      '[1, 2',
      { line: 1, column: 6, message: 'the file ends inside a list (cut short?)' },
    ],
    [
      'a value cut short',
      '{"a":',
      { line: 1, column: 6, message: 'the file ends where a value was expected (cut short?)' },
    ],
  ];
  for (const [what, text, expected] of cases) {
    it(`finds ${what}`, () => {
      assert.deepEqual(locateJsonError(text), expected);
    });
  }

  it('handles 100,000 levels of nesting without overflowing the stack', () => {
    const deep = '['.repeat(100_000);
    assert.deepEqual(locateJsonError(deep), {
      line: 1,
      column: 100_001,
      message: 'the file ends where a value was expected (cut short?)',
    });
  });
});
