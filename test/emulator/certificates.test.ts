// The emulator's CA and server certificate (made with selfsigned): standard X.509 that Node (and browsers) accept,
// and a CA callers can save and hand back so every start is trusted the same way.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import https from 'node:https';
import {
  createEmulatorCa,
  generateCertificates,
  parseCertificateAuthority,
} from '../../lib/emulator/certificates';
import { startDuoEmulator, createEmulatorCa as exportedCreateCa } from '../../lib/emulator/index';
import { TEST_APP, emulatorRequest, healthForm } from '../helpers/duo';

describe('emulator certificates', () => {
  describe('when generated', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    let ca: X509Certificate;
    let leaf: X509Certificate;
    let serverKey: string;
    before(async () => {
      const pems = await generateCertificates({ now, extraNames: ['duo.test', '10.1.2.3', '[::1]'] });
      ca = new X509Certificate(pems.caCert);
      leaf = new X509Certificate(pems.serverCert);
      serverKey = pems.serverKey;
    });

    it('makes a self-signed EC P-256 CA', () => {
      assert.equal(ca.ca, true);
      assert.equal(ca.subject, ca.issuer);
      assert.ok(ca.verify(ca.publicKey));
      assert.equal(ca.publicKey.asymmetricKeyType, 'ec');
      assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    });

    it('signs a server certificate the CA verifies and issued, for TLS servers only', () => {
      assert.equal(leaf.ca, false);
      assert.ok(leaf.verify(ca.publicKey));
      assert.ok(leaf.checkIssued(ca));
      assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    });

    it('names 127.0.0.1, ::1, localhost and the extra names in subjectAltName', () => {
      assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(leaf.checkIP('::1'), '::1');
      assert.equal(leaf.checkHost('localhost'), 'localhost');
      assert.equal(leaf.checkHost('duo.test'), 'duo.test');
      assert.equal(leaf.checkIP('10.1.2.3'), '10.1.2.3');
      assert.equal(leaf.checkHost('evil.example'), undefined);
      assert.equal(leaf.checkIP('127.0.0.2'), undefined);
    });

    it('is valid from one hour before now to 30 days after, inside the CA’s validity', () => {
      assert.equal(new Date(leaf.validFrom).toISOString(), '2026-03-01T11:00:00.000Z');
      assert.equal(new Date(leaf.validTo).toISOString(), '2026-03-31T12:00:00.000Z');
      assert.ok(new Date(ca.validTo) >= new Date(leaf.validTo));
      assert.ok(new Date(ca.validFrom) <= new Date(leaf.validFrom));
    });

    it('uses random positive serial numbers', async () => {
      const other = new X509Certificate((await generateCertificates({ now })).serverCert);
      assert.notEqual(leaf.serialNumber, other.serialNumber);
      assert.match(leaf.serialNumber, /^[0-7][0-9A-F]+$/);
    });

    it('gives the server a private key that matches its certificate', () => {
      assert.ok(leaf.checkPrivateKey(createPrivateKey(serverKey)));
    });
  });

  describe('when a saved CA is given', () => {
    it('signs the new server certificate with it', async () => {
      const saved = await createEmulatorCa();
      const pems = await generateCertificates({ ca: saved });
      assert.equal(pems.caCert, saved.cert);
      assert.ok(new X509Certificate(pems.serverCert).checkIssued(new X509Certificate(saved.cert)));
    });

    it('refuses PEMs that do not parse, a key of another CA, a leaf, or an expired CA, with TypeErrors', async () => {
      const where = 'startDuoEmulator(options): certificateAuthority';
      const a = await createEmulatorCa();
      const b = await createEmulatorCa();
      const leaf = await generateCertificates({ ca: a });
      const old = await createEmulatorCa({ now: new Date('2015-01-01T00:00:00Z') });
      const cases: Array<[unknown, RegExp]> = [
        [undefined, /must be \{ cert, key \}/],
        ['pem', /must be \{ cert, key \}/],
        [{ cert: a.cert }, /must be \{ cert, key \}/],
        [{ ...a, chain: '' }, /unknown key "chain"/],
        [{ cert: 'not a certificate', key: a.key }, /\.cert is not a PEM certificate/],
        [{ cert: a.cert, key: 'not a key' }, /\.key is not an unencrypted PEM private key/],
        [{ cert: a.cert, key: b.key }, /\.key does not match \.cert/],
        [{ cert: leaf.serverCert, key: leaf.serverKey }, /not a CA certificate/],
        [old, /is not valid now/],
      ];
      for (const [value, message] of cases) {
        assert.throws(
          () => parseCertificateAuthority(value, where),
          (error: Error) => {
            assert.ok(error instanceof TypeError, String(error));
            assert.match(error.message, message);
            assert.ok(error.message.startsWith(where), error.message);
            return true;
          },
        );
      }
      assert.deepEqual(parseCertificateAuthority(a, where), a);
    });
  });

  describe('when the emulator serves HTTPS', () => {
    let emulator: Awaited<ReturnType<typeof startDuoEmulator>>;
    before(async () => {
      emulator = await startDuoEmulator({ applications: [TEST_APP] });
    });
    after(() => emulator.close());

    it('is trusted by Node’s https client given only the emulator’s CA', async () => {
      const res = await emulatorRequest(emulator, 'GET', '/nowhere');
      assert.equal(res.status, 404);
    });

    it('is refused by a client that does not trust the CA', async () => {
      const error = await new Promise<Error>((resolve) => {
        https
          .get(`${emulator.url}/`, { agent: false }, (res) => {
            res.resume();
            resolve(new Error('connected'));
          })
          .on('error', resolve);
      });
      assert.match(String((error as NodeJS.ErrnoException).code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    });

    it('makes a fresh CA at every start, which does not vouch for another emulator', async () => {
      const second = await startDuoEmulator({ applications: [TEST_APP] });
      try {
        assert.notEqual(second.ca, emulator.ca);
        await assert.rejects(
          emulatorRequest({ url: emulator.url, ca: second.ca }, 'GET', '/'),
          (error: NodeJS.ErrnoException) => /CERT|SIGNATURE|VERIFY/.test(String(error.code)),
        );
      } finally {
        await second.close();
      }
    });

    it('keeps a saved CA across restarts: a client trusting it reaches every later start', async () => {
      const saved = await exportedCreateCa();
      for (let start = 0; start < 2; start++) {
        const run = await startDuoEmulator({ applications: [TEST_APP], certificateAuthority: saved });
        try {
          assert.equal(run.ca, saved.cert);
          const res = await emulatorRequest(
            { url: run.url, ca: saved.cert },
            'POST',
            '/oauth/v1/health_check',
            {
              form: healthForm(run, TEST_APP),
            },
          );
          assert.equal(res.json.stat, 'OK');
        } finally {
          await run.close();
        }
      }
    });

    it('refuses to start with a CA whose key does not match, naming the option', async () => {
      const a = await exportedCreateCa();
      const b = await exportedCreateCa();
      await assert.rejects(
        startDuoEmulator({ applications: [TEST_APP], certificateAuthority: { cert: a.cert, key: b.key } }),
        (error: Error) =>
          error instanceof TypeError &&
          /^startDuoEmulator\(options\): certificateAuthority\.key does not match \.cert/.test(error.message),
      );
    });
  });
});
