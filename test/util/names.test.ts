import assert from 'node:assert/strict';
import { canonicalName, didYouMean, quoted } from '../../lib/util/names';

/** The definition canonicalName() implements (its fast path for names already canonical must agree with it). */
function reference(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

/**
 * Strings built from characters that sit on every edge of the fast paths: spaces and tabs, both ends of A-Z, the
 * quote and backslash, DEL, controls, fullwidth and composed letters, a zero-width space, a lone surrogate.
 */
function edgeStrings(): string[] {
  const alphabet = [
    ' ',
    '\t',
    '\n',
    '@',
    'A',
    'Z',
    '[',
    '`',
    'a',
    'z',
    '{',
    '~',
    '"',
    '\\',
    '\x7f',
    '\x1f',
    '\u00a0',
    'Ａ',
    'é',
    'e\u0301',
    '\u200b',
    '\ud800',
    '1',
    '.',
  ];
  const out = [''];
  for (const a of alphabet) {
    out.push(a);
    for (const b of alphabet) {
      out.push(a + b, `${a}x${b}`, `x${a}${b}x`);
    }
  }
  return out;
}

describe('names', () => {
  describe('canonicalName', () => {
    it('trims and lower-cases, so spacing and case never make a different person (S20)', () => {
      assert.equal(canonicalName('  ALICE '), 'alice');
      assert.equal(canonicalName('\tDana\n'), 'dana');
      assert.equal(canonicalName('alice'), canonicalName(' Alice'));
    });

    it('agrees with NFKC + trim + lower-case for every string on the edges of its fast path', () => {
      const strings = edgeStrings();
      for (const value of strings)
        assert.equal(canonicalName(value), reference(value), JSON.stringify(value));
      // The fast path returns a canonical name itself: canonicalName(canonicalName(x)) is canonicalName(x).
      for (const value of strings) assert.equal(canonicalName(reference(value)), reference(value));
    });

    it('returns a name already in canonical form unchanged, and changes every other', () => {
      for (const name of ['alice', 'user1.t0@example.com', 'a b', '!', '~x~', ''])
        assert.equal(canonicalName(name), name);
      for (const name of [' alice', 'alice ', 'Alice', 'aliCe', 'ａｌｉｃｅ', 'alice\t'])
        assert.notEqual(canonicalName(name), name);
    });
  });

  describe('quoted', () => {
    it('is JSON.stringify for every string on the edges of its fast path', () => {
      for (const value of edgeStrings())
        assert.equal(quoted(value), JSON.stringify(value), JSON.stringify(value));
    });
  });

  describe('didYouMean', () => {
    const options = ['policy', 'baseUrl', 'callbackPath', 'maxAge', 'duoTimeoutMs'];
    it('suggests the closest key for a typo', () => {
      assert.equal(didYouMean('maxage', options), 'maxAge');
      assert.equal(didYouMean('baseURL', options), 'baseUrl');
      assert.equal(didYouMean('callbakPath', options), 'callbackPath');
      assert.equal(didYouMean('polciy', options), 'policy');
    });
    it('suggests nothing for an unrelated word', () => {
      assert.equal(didYouMean('zzzzzzzz', options), undefined);
      assert.equal(didYouMean('x', []), undefined);
    });
  });
});
