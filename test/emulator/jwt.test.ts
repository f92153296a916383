// The emulator's HS512 JWT module: interoperable with jose (what the Duo client uses), strict on verification.
import assert from 'node:assert/strict';
import { SignJWT, jwtVerify } from 'jose';
import { decodeJwtUnverified, signJwt, verifyJwt } from '../../lib/emulator/jwt';

const SECRET = 's'.repeat(40);
const KEY = new TextEncoder().encode(SECRET);

describe('emulator JWTs', () => {
  describe('when signing', () => {
    it('makes HS512 tokens jose verifies with the secret', async () => {
      const token = signJwt({ iss: 'me', exp: Math.round(Date.now() / 1000) + 60 }, SECRET);
      const { payload, protectedHeader } = await jwtVerify(token, KEY, { algorithms: ['HS512'] });
      assert.equal(payload.iss, 'me');
      assert.deepEqual(protectedHeader, { alg: 'HS512', typ: 'JWT' });
    });

    it('can forge alg none and HS256 tokens, which jose refuses for HS512', async () => {
      for (const alg of ['none', 'HS256'] as const) {
        const token = signJwt({ iss: 'me' }, SECRET, { alg });
        await assert.rejects(jwtVerify(token, KEY, { algorithms: ['HS512'] }));
      }
    });
  });

  describe('when verifying', () => {
    it('accepts a token jose signed with HS512', async () => {
      const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS512' }).sign(KEY);
      const result = verifyJwt(token, SECRET);
      assert.ok(result.valid);
      assert.equal(result.claims.sub, 'x');
    });

    it('refuses a token signed with another secret', () => {
      assert.deepEqual(verifyJwt(signJwt({}, 'x'.repeat(40)), SECRET), { valid: false, reason: 'signature' });
    });

    it('refuses alg none, HS256 and any other algorithm, even with a correct HMAC', () => {
      assert.deepEqual(verifyJwt(signJwt({}, SECRET, { alg: 'none' }), SECRET), {
        valid: false,
        reason: 'algorithm',
      });
      assert.deepEqual(verifyJwt(signJwt({}, SECRET, { alg: 'HS256' }), SECRET), {
        valid: false,
        reason: 'algorithm',
      });
      const rs = signJwt({}, SECRET, { header: { alg: 'RS256' } });
      assert.deepEqual(verifyJwt(rs, SECRET), { valid: false, reason: 'algorithm' });
    });

    it('refuses a tampered payload', () => {
      const [header, , signature] = signJwt({ admin: false }, SECRET).split('.');
      const forged = `${header}.${Buffer.from('{"admin":true}').toString('base64url')}.${signature}`;
      assert.deepEqual(verifyJwt(forged, SECRET), { valid: false, reason: 'signature' });
    });

    it('refuses a non-canonical signature encoding that decodes to the same bytes', () => {
      const token = signJwt({ a: 1 }, SECRET);
      const last = token.at(-1)!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const index = alphabet.indexOf(last);
      const sibling = alphabet[index ^ 1]!; // flips a padding bit of the 86th character
      assert.deepEqual(verifyJwt(token.slice(0, -1) + sibling, SECRET), {
        valid: false,
        reason: 'signature',
      });
    });

    it('never throws on malformed input', () => {
      const inputs: unknown[] = [
        undefined,
        null,
        42,
        ['a.b.c'],
        '',
        'a.b',
        'a.b.c.d',
        '!!!.###.$$$',
        `${Buffer.from('not json').toString('base64url')}.e30.`,
        `${Buffer.from('[1]').toString('base64url')}.e30.`,
        `e30.${Buffer.from('"str"').toString('base64url')}.`,
        'x'.repeat(20_000),
      ];
      for (const input of inputs) {
        const result = verifyJwt(input, SECRET);
        assert.equal(result.valid, false, `accepted ${String(input).slice(0, 40)}`);
        assert.equal(decodeJwtUnverified(input)?.claims.iss, undefined);
      }
    });
  });
});
