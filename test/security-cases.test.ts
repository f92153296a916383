// docs/security-cases.md and the code stay in step: every S## the code or tests cite is listed, and every test
// file the list names really covers that case.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const doc = readFileSync(join(ROOT, 'docs', 'security-cases.md'), 'utf8');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The table rows: case id → the test files linked in its row. */
const rows = new Map(
  [...doc.matchAll(/^\|\s*(S\d+)\s*\|[^|]*\|([^\n]*)\|\s*$/gm)].map((match) => [
    match[1]!,
    [...match[2]!.matchAll(/\]\(\.\.\/([^)]+)\)/g)].map((link) => link[1]!),
  ]),
);

describe('docs/security-cases.md', () => {
  it('lists S1 to S50, once each', () => {
    const ids = [...doc.matchAll(/^\|\s*(S\d+)\s*\|/gm)].map((match) => match[1]);
    assert.deepEqual(
      ids,
      Array.from({ length: 50 }, (_, i) => `S${i + 1}`),
    );
  });

  it('lists every case the code and the tests cite', () => {
    const cited = new Set<string>();
    for (const file of [...files(join(ROOT, 'lib')), ...files(join(ROOT, 'test'))]) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\bS(\d{1,2})\b/g)) cited.add(`S${match[1]}`);
    }
    const missing = [...cited].filter((id) => !rows.has(id));
    assert.deepEqual(missing, []);
  });

  it('names only test files that exist and cite the case', () => {
    for (const [id, tests] of rows) {
      for (const test of tests) {
        const text = readFileSync(join(ROOT, test), 'utf8');
        assert.match(text, new RegExp(`\\b${id}\\b`), `${test} is listed for ${id} but never cites it`);
      }
    }
  });
});
