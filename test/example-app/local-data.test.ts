// What the example keeps in example-app/.data/: the session secret (SESSION_SECRET wins), the secretsKey
// (DUO_MFA_SECRETS_KEY wins) and the emulator's CA, created owner-only, reused while usable, replaced when not, and
// never fatal when the directory is read-only.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caProblem, emulatorCa, secretsKey, sessionSecret } from '../../example-app/local-data';
import { decryptSecret, encryptSecret, generateSecretsKey, parseSecretsKey } from '../../lib/policy/index';

describe('example app: the data directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'portal-data-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('session secret', () => {
    it('is created once (0600) and kept afterwards', () => {
      const data = join(dir, 'data');
      const first = sessionSecret(data, {});
      assert.equal(first.origin, 'created');
      assert.match(first.value, /^[0-9a-f]{64}$/);
      assert.equal(first.file, join(data, 'session-secret'));
      assert.equal(statSync(first.file).mode & 0o777, 0o600);
      assert.equal(statSync(data).mode & 0o777, 0o700);
      const second = sessionSecret(data, {});
      assert.deepEqual(second, { value: first.value, origin: 'kept', file: first.file });
    });

    it('comes from SESSION_SECRET when set, and then no file is written', () => {
      const kept = sessionSecret(dir, { SESSION_SECRET: 'from-env' });
      assert.deepEqual(kept, { value: 'from-env', origin: 'environment' });
      assert.throws(() => statSync(join(dir, 'session-secret')), /ENOENT/);
      assert.equal(
        sessionSecret(dir, { SESSION_SECRET: '' }).origin,
        'created',
        'an empty variable is unset',
      );
    });

    it('tightens a file someone made readable by others back to 0600', () => {
      const file = join(dir, 'session-secret');
      writeFileSync(file, `${'a'.repeat(64)}\n`, { mode: 0o644 });
      chmodSync(file, 0o644);
      assert.equal(sessionSecret(dir, {}).origin, 'kept');
      assert.equal(statSync(file).mode & 0o777, 0o600);
    });

    it('replaces a saved secret too short to sign cookies, and says why', () => {
      writeFileSync(join(dir, 'session-secret'), 'short\n');
      const kept = sessionSecret(dir, {});
      assert.equal(kept.origin, 'created');
      assert.match(kept.note ?? '', /shorter than 32 characters/);
      assert.equal(readFileSync(join(dir, 'session-secret'), 'utf8'), `${kept.value}\n`);
    });

    it('is random for this run only when the directory cannot be written (a read-only checkout…)', () => {
      // A regular file where the directory should be: refused even for root, unlike a read-only mode.
      writeFileSync(join(dir, 'blocked'), '');
      const kept = sessionSecret(join(dir, 'blocked', 'data'), {});
      assert.equal(kept.origin, 'temporary');
      assert.match(kept.value, /^[0-9a-f]{64}$/);
      assert.match(kept.note ?? '', /cannot be written \(ENOTDIR\)/);
      assert.equal(kept.file, undefined);
    });
  });

  describe('secretsKey', () => {
    it('is created once (0600, 32 random bytes in base64) and kept: a secret encrypted at one start opens at the next', () => {
      const data = join(dir, 'data');
      const first = secretsKey(data, {});
      assert.equal(first.origin, 'created');
      assert.equal(first.file, join(data, 'secrets-key'));
      assert.equal(Buffer.from(first.value, 'base64').length, 32);
      assert.equal(statSync(first.file).mode & 0o777, 0o600);
      const context = { tenant: 'acme', field: 'duo.clientSecret' } as const;
      const stored = encryptSecret(parseSecretsKey(first.value), 's'.repeat(40), context);
      const second = secretsKey(data, {});
      assert.deepEqual(second, { value: first.value, origin: 'kept', file: first.file });
      assert.equal(decryptSecret(parseSecretsKey(second.value), stored, context), 's'.repeat(40));
    });

    it('comes from DUO_MFA_SECRETS_KEY when set (no file written); a malformed one is refused naming the variable', () => {
      const key = generateSecretsKey();
      assert.deepEqual(secretsKey(dir, { DUO_MFA_SECRETS_KEY: key }), { value: key, origin: 'environment' });
      assert.throws(() => statSync(join(dir, 'secrets-key')), /ENOENT/);
      assert.throws(
        () => secretsKey(dir, { DUO_MFA_SECRETS_KEY: 'not-a-key' }),
        (error: Error) => error instanceof TypeError && /DUO_MFA_SECRETS_KEY/.test(error.message),
      );
      assert.equal(
        secretsKey(dir, { DUO_MFA_SECRETS_KEY: '' }).origin,
        'created',
        'an empty variable is unset',
      );
    });

    it('replaces a saved value that is not a key, and says so', () => {
      writeFileSync(join(dir, 'secrets-key'), 'hello\n');
      const kept = secretsKey(dir, {});
      assert.equal(kept.origin, 'created');
      assert.match(kept.note ?? '', /did not hold a key \(32 random bytes in base64\)/);
      assert.equal(readFileSync(join(dir, 'secrets-key'), 'utf8'), `${kept.value}\n`);
    });

    it('is made for this run only when the directory cannot be written', () => {
      writeFileSync(join(dir, 'blocked'), '');
      const kept = secretsKey(join(dir, 'blocked', 'data'), {});
      assert.equal(kept.origin, 'temporary');
      assert.equal(Buffer.from(kept.value, 'base64').length, 32);
      assert.match(kept.note ?? '', /cannot be written \(ENOTDIR\)/);
    });
  });

  describe('emulator CA', () => {
    it('is created once ({ cert, key } and the certificate alone, both 0600) and kept afterwards', async () => {
      const first = await emulatorCa(dir);
      assert.equal(first.origin, 'created');
      assert.equal(caProblem(first.value), undefined);
      assert.equal(readFileSync(join(dir, 'emulator-ca.pem'), 'utf8'), first.value.cert);
      for (const name of ['emulator-ca.json', 'emulator-ca.pem'])
        assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
      const second = await emulatorCa(dir);
      assert.equal(second.origin, 'kept');
      assert.deepEqual(second.value, first.value);
    });

    it('is replaced, with the reason, when the saved one is corrupt or about to expire', async () => {
      writeFileSync(join(dir, 'emulator-ca.json'), '{ "cert": 1 }');
      const replaced = await emulatorCa(dir);
      assert.equal(replaced.origin, 'created');
      assert.match(replaced.note ?? '', /is not the \{ cert, key \} JSON createEmulatorCa\(\) returns/);

      const validTo = Date.parse(new X509Certificate(replaced.value.cert).validTo);
      const expiring = await emulatorCa(dir, new Date(validTo - 3600_000));
      assert.equal(expiring.origin, 'created');
      assert.match(expiring.note ?? '', /expires on/);
      assert.notEqual(expiring.value.cert, replaced.value.cert);
    });

    it('names what is wrong with a CA', async () => {
      const a = await emulatorCa(join(dir, 'a'));
      const b = await emulatorCa(join(dir, 'b'));
      assert.equal(caProblem({ cert: a.value.cert, key: b.value.key }), 'its key is not the certificate’s');
      assert.equal(caProblem({ cert: 'x', key: 'y' }), 'its PEMs do not parse');
    });
  });
});
