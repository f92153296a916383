// The emulator's JWTs (through jose): interoperable with what the Duo client verifies, strict on verification.
import assert from 'node:assert/strict';
import { SignJWT, jwtVerify } from 'jose';
import { decodeJwtUnverified, signJwt, verifyJwt } from '../../lib/emulator/jwt';
import { signJwt as forge } from '../helpers/duo';

const SECRET = 's'.repeat(40);
const KEY = new TextEncoder().encode(SECRET);

describe('emulator JWTs', () => {
  describe('when signing', () => {
    it('makes HS512 tokens with typ JWT that jose verifies with the secret', async () => {
      const token = await signJwt({ iss: 'me', exp: Math.round(Date.now() / 1000) + 60 }, SECRET);
      const { payload, protectedHeader } = await jwtVerify(token, KEY, { algorithms: ['HS512'] });
      assert.equal(payload.iss, 'me');
      assert.deepEqual(protectedHeader, { alg: 'HS512', typ: 'JWT' });
    });

    it('can forge alg none and HS256 tokens, which jose refuses for HS512', async () => {
      for (const alg of ['none', 'HS256'] as const) {
        const token = await signJwt({ iss: 'me' }, SECRET, alg);
        await assert.rejects(jwtVerify(token, KEY, { algorithms: ['HS512'] }));
      }
    });
  });

  describe('when verifying', () => {
    it('accepts a token jose signed with HS512, and one the test helper signed', async () => {
      const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS512' }).sign(KEY);
      const result = await verifyJwt(token, SECRET);
      assert.ok(result.valid);
      assert.equal(result.claims.sub, 'x');
      const helper = await verifyJwt(forge({ sub: 'y' }, SECRET), SECRET);
      assert.ok(helper.valid);
      assert.equal(helper.claims.sub, 'y');
    });

    it('accepts claims jose’s own claim checks would refuse (exp as a string, as the C# client sends it)', async () => {
      const result = await verifyJwt(forge({ exp: '1999999999', iat: 'x' }, SECRET), SECRET);
      assert.ok(result.valid);
      assert.equal(result.claims.exp, '1999999999');
    });

    it('refuses a token signed with another secret', async () => {
      assert.deepEqual(await verifyJwt(forge({}, 'x'.repeat(40)), SECRET), {
        valid: false,
        reason: 'signature',
      });
    });

    it('refuses alg none, HS256 and any other algorithm, even with a correct HMAC', async () => {
      assert.deepEqual(await verifyJwt(forge({}, SECRET, { alg: 'none' }), SECRET), {
        valid: false,
        reason: 'algorithm',
      });
      assert.deepEqual(await verifyJwt(forge({}, SECRET, { alg: 'HS256' }), SECRET), {
        valid: false,
        reason: 'algorithm',
      });
      const rs = forge({}, SECRET, { header: { alg: 'RS256' } });
      assert.deepEqual(await verifyJwt(rs, SECRET), { valid: false, reason: 'algorithm' });
    });

    it('refuses any JWS extension: an unknown critical header, and b64 even when jose knows it', async () => {
      for (const header of [{ crit: ['exp'], exp: 1 }, { crit: ['b64'], b64: true }, { b64: true }]) {
        const token = forge({}, SECRET, { header });
        assert.deepEqual(
          await verifyJwt(token, SECRET),
          { valid: false, reason: 'algorithm' },
          JSON.stringify(header),
        );
      }
    });

    it('refuses a tampered payload', async () => {
      const [header, , signature] = forge({ admin: false }, SECRET).split('.');
      const forged = `${header}.${Buffer.from('{"admin":true}').toString('base64url')}.${signature}`;
      assert.deepEqual(await verifyJwt(forged, SECRET), { valid: false, reason: 'signature' });
    });

    it('refuses a non-canonical signature encoding that decodes to the same bytes', async () => {
      const token = forge({ a: 1 }, SECRET);
      const last = token.at(-1)!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const index = alphabet.indexOf(last);
      const sibling = alphabet[index ^ 1]!; // flips a padding bit of the 86th character
      assert.deepEqual(await verifyJwt(token.slice(0, -1) + sibling, SECRET), {
        valid: false,
        reason: 'signature',
      });
    });

    it('never rejects on malformed input', async () => {
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
        const result = await verifyJwt(input, SECRET);
        assert.deepEqual(result, { valid: false, reason: 'malformed' }, String(input).slice(0, 40));
        assert.equal(decodeJwtUnverified(input)?.claims.iss, undefined);
      }
    });
  });
});
