// Encrypted secrets: the secretsKey, AES-256-GCM bound to tenant and field, and what the compiler makes of them.

import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { isDuoMfaError } from '../../lib/errors';
import { compilePolicy, validatePolicy, validateTenant } from '../../lib/policy/compile';
import {
  decryptSecret,
  encryptSecret,
  generateSecretsKey,
  openSecret,
  parseSecretsKey,
} from '../../lib/policy/secrets';
import { CLIENT_ID, OTHER_SECRET, SECRET, tenantDoc } from './helpers';

const KEY_TEXT = Buffer.alloc(32, 7).toString('base64');
const OTHER_KEY_TEXT = Buffer.alloc(32, 9).toString('base64');
const key = parseSecretsKey(KEY_TEXT)!;
const otherKey = parseSecretsKey(OTHER_KEY_TEXT)!;
const ACME_SECRET = { tenant: 'acme', field: 'duo.clientSecret' };

function encryptedTenant(value: string, secretKey?: unknown): Record<string, unknown> {
  return tenantDoc({
    duo: {
      clientId: CLIENT_ID,
      clientSecret: { encrypted: value },
      apiHost: 'api-12345678.duosecurity.com',
      ...(secretKey === undefined
        ? {}
        : {
            adminApi: { integrationKey: 'DIADMINADMINADMIN001', secretKey, apiHost: 'api-1.duosecurity.com' },
          }),
    },
  });
}

describe('secrets', () => {
  describe('parseSecretsKey', () => {
    it('reads 32 bytes of base64 (or base64url), and nothing for an empty or missing value', () => {
      assert.equal(parseSecretsKey(KEY_TEXT)!.size, 1);
      assert.equal(parseSecretsKey(Buffer.alloc(32, 250).toString('base64url'))!.size, 1);
      assert.equal(parseSecretsKey(undefined), undefined);
      assert.equal(parseSecretsKey('  '), undefined);
      assert.equal(parseSecretsKey(key), key);
    });

    it('takes several keys separated by commas, the encrypting one first (rotation)', () => {
      const both = parseSecretsKey(`${OTHER_KEY_TEXT}, ${KEY_TEXT}`)!;
      assert.equal(both.size, 2);
      const old = encryptSecret(key, SECRET, ACME_SECRET);
      assert.equal(decryptSecret(both, old, ACME_SECRET), SECRET);
      const fresh = encryptSecret(both, SECRET, ACME_SECRET);
      assert.equal(decryptSecret(otherKey, fresh, ACME_SECRET), SECRET);
      assert.equal(openSecret(key, fresh, ACME_SECRET).ok, false);
    });

    const bad: [string, unknown, RegExp][] = [
      [
        'too short',
        Buffer.alloc(16).toString('base64'),
        /secretsKey must decode to 32 bytes \(it decodes to 16\)/,
      ],
      ['not base64', 'not a key!', /secretsKey must be base64/],
      ['a number', 42, /secretsKey must be a string/],
      [
        'one bad key of two',
        `${KEY_TEXT},abc`,
        /secretsKey \(key 2 of 2\) must decode to 32 bytes \(it decodes to 2\)/,
      ],
    ];
    for (const [what, value, message] of bad) {
      it(`throws a TypeError naming the option for ${what}`, () => {
        assert.throws(
          () => parseSecretsKey(value as string),
          (error: unknown) => {
            assert.ok(error instanceof TypeError);
            assert.match(error.message, message);
            return true;
          },
        );
      });
    }

    it('never shows the key in JSON or inspect()', () => {
      const bytes = Buffer.alloc(32, 7);
      assert.equal(JSON.stringify({ key }), '{"key":"[redacted]"}');
      const shown = inspect({ key }, { depth: 10, showHidden: true });
      assert.ok(!shown.includes(KEY_TEXT), shown);
      assert.ok(!shown.includes(bytes.toString('hex')), shown);
      assert.match(shown, /SecretsKey \{ 1 key, \[redacted\] \}/);
    });

    it('generates fresh keys that parse', () => {
      const generated = generateSecretsKey();
      assert.notEqual(generated, generateSecretsKey());
      assert.equal(parseSecretsKey(generated)!.size, 1);
    });
  });

  describe('encryptSecret / decryptSecret', () => {
    it('round-trips, with a fresh nonce each time', () => {
      const a = encryptSecret(key, SECRET, ACME_SECRET);
      const b = encryptSecret(key, SECRET, ACME_SECRET);
      assert.match(a, /^v1:[A-Za-z0-9_-]+$/);
      assert.notEqual(a, b);
      assert.ok(!a.includes(SECRET));
      assert.equal(decryptSecret(key, a, ACME_SECRET), SECRET);
    });

    it('refuses to encrypt without a key: ERR_SECRETS_KEY_MISSING naming secretsKey', () => {
      assert.throws(
        () => encryptSecret(undefined, SECRET, ACME_SECRET),
        (error: unknown) =>
          isDuoMfaError(error, 'ERR_SECRETS_KEY_MISSING') && /secretsKey/.test(error.message),
      );
    });

    const refusals: [string, () => ReturnType<typeof openSecret>, string][] = [
      ['no key', () => openSecret(undefined, encryptSecret(key, SECRET, ACME_SECRET), ACME_SECRET), 'no-key'],
      [
        'a wrong key',
        () => openSecret(otherKey, encryptSecret(key, SECRET, ACME_SECRET), ACME_SECRET),
        'cannot-open',
      ],
      [
        'a value moved to another tenant',
        () =>
          openSecret(key, encryptSecret(key, SECRET, ACME_SECRET), {
            tenant: 'globex',
            field: 'duo.clientSecret',
          }),
        'cannot-open',
      ],
      [
        'a value moved to another field',
        () =>
          openSecret(key, encryptSecret(key, SECRET, ACME_SECRET), {
            tenant: 'acme',
            field: 'duo.adminApi.secretKey',
          }),
        'cannot-open',
      ],
      [
        'a tampered value',
        () => {
          const token = encryptSecret(key, SECRET, ACME_SECRET);
          const bytes = Buffer.from(token.slice(3), 'base64url');
          bytes[14]! ^= 1;
          return openSecret(key, `v1:${bytes.toString('base64url')}`, ACME_SECRET);
        },
        'cannot-open',
      ],
      ['a value that is not ours', () => openSecret(key, 'v2:abc', ACME_SECRET), 'malformed'],
    ];
    for (const [what, open, reason] of refusals) {
      it(`S49 cannot be opened with ${what} (reason ${reason}), and says so without the secret`, () => {
        const opened = open();
        assert.equal(opened.ok, false);
        assert.ok(!opened.ok && opened.reason === reason);
        assert.ok(!opened.ok && !opened.message.includes(SECRET));
      });
    }
  });

  describe('in a policy', () => {
    it('compiles an encrypted clientSecret and Admin API secretKey with the key', () => {
      const doc = {
        tenants: {
          acme: encryptedTenant(encryptSecret(key, SECRET, ACME_SECRET), {
            encrypted: encryptSecret(key, OTHER_SECRET, { tenant: 'acme', field: 'duo.adminApi.secretKey' }),
          }),
        },
      };
      const acme = compilePolicy(doc, { secretsKey: KEY_TEXT }).tenants.get('acme')!;
      assert.equal(acme.duo.clientSecret, SECRET);
      assert.equal(acme.duo.adminApi!.secretKey, OTHER_SECRET);
      assert.equal(acme.duo.adminApi!.integrationKey, 'DIADMINADMINADMIN001');
      const shown = `${JSON.stringify(acme)}${inspect(acme, { depth: 10 })}`;
      assert.ok(!shown.includes(SECRET) && !shown.includes(OTHER_SECRET), shown);
      assert.match(JSON.stringify(acme.duo), /"secretKey":"\[redacted\]"/);
    });

    it('S49 is a load error for that tenant only, naming it and the path, when the key cannot open it', () => {
      const doc = {
        tenants: {
          acme: encryptedTenant(encryptSecret(otherKey, SECRET, ACME_SECRET)),
          globex: tenantDoc(),
        },
      };
      const result = validatePolicy(doc, { secretsKey: key });
      assert.deepEqual(result.issues, [
        {
          path: 'tenants.acme.duo.clientSecret',
          message:
            'the encrypted secret cannot be opened with the configured secretsKey (a different key, a changed value, or a value encrypted for another tenant or field)',
        },
      ]);
      assert.equal(validateTenant('globex', tenantDoc(), { secretsKey: key }).ok, true);
    });

    it('S49 refuses a ciphertext copied from another tenant', () => {
      const copied = encryptSecret(key, SECRET, { tenant: 'globex', field: 'duo.clientSecret' });
      const result = validateTenant('acme', encryptedTenant(copied), { secretsKey: key, paths: 'tenant' });
      assert.equal(result.ok, false);
      assert.equal(result.issues[0]!.path, 'duo.clientSecret');
    });

    it('says that no key is configured, naming the option and the variable', () => {
      const result = validateTenant('acme', encryptedTenant(encryptSecret(key, SECRET, ACME_SECRET)));
      assert.deepEqual(result.issues, [
        {
          path: 'tenants.acme.duo.clientSecret',
          message:
            'the secret is encrypted but no secretsKey is configured (option secretsKey, or the DUO_MFA_SECRETS_KEY environment variable)',
        },
      ]);
    });

    it('checks the length of what it opens', () => {
      const result = validateTenant('acme', encryptedTenant(encryptSecret(key, 'short', ACME_SECRET)), {
        secretsKey: key,
      });
      assert.equal(
        result.issues[0]!.message,
        'the encrypted client secret must be 40 characters (it holds 5)',
      );
    });

    it('leaves encrypted secrets closed with skipEncryptedSecrets or skipSecrets', () => {
      const doc = encryptedTenant(encryptSecret(key, SECRET, ACME_SECRET));
      for (const options of [{ skipEncryptedSecrets: true }, { skipSecrets: true }]) {
        const result = validateTenant('acme', doc, options);
        assert.ok(result.ok);
        assert.equal(result.tenant.duo.clientSecret, '');
      }
    });

    it('rejects a value that is not an encrypted secret, at its path', () => {
      const result = validateTenant('acme', encryptedTenant('plain-text'), {
        secretsKey: key,
        paths: 'tenant',
      });
      assert.deepEqual(result.issues, [
        {
          path: 'duo.clientSecret.encrypted',
          message:
            'must be a secret encrypted by express-duo-mfa ("v1:" followed by base64url) (got "plain-text")',
        },
      ]);
    });
  });
});
