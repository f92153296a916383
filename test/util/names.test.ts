import assert from 'node:assert/strict';
import { canonicalName, didYouMean } from '../../lib/util/names';

describe('names', () => {
  describe('canonicalName', () => {
    it('trims and lower-cases, so spacing and case never make a different person (S20)', () => {
      assert.equal(canonicalName('  ALICE '), 'alice');
      assert.equal(canonicalName('\tDana\n'), 'dana');
      assert.equal(canonicalName('alice'), canonicalName(' Alice'));
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
