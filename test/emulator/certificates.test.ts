// The emulator's throw-away CA and server certificate: standard X.509 that Node (and browsers) accept.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import https from 'node:https';
import { der, generateCertificates, ipv6Bytes } from '../../lib/emulator/certificates';
import { startDuoEmulator } from '../../lib/emulator/index';
import { TEST_APP, emulatorRequest } from '../helpers/duo';

describe('emulator certificates', () => {
  describe('when generated', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    const pems = generateCertificates({ now, extraNames: ['duo.test', '10.1.2.3'] });
    const ca = new X509Certificate(pems.caCert);
    const leaf = new X509Certificate(pems.serverCert);

    it('makes a self-signed CA that may only sign certificates', () => {
      assert.equal(ca.ca, true);
      assert.equal(ca.subject, ca.issuer);
      assert.ok(ca.verify(ca.publicKey));
      assert.equal(ca.publicKey.asymmetricKeyType, 'ec');
      assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    });

    it('signs a server certificate the CA verifies and issued', () => {
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

    it('is valid from one hour before now to 30 days after', () => {
      assert.equal(new Date(leaf.validFrom).toISOString(), '2026-03-01T11:00:00.000Z');
      assert.equal(new Date(leaf.validTo).toISOString(), '2026-03-31T12:00:00.000Z');
      assert.ok(new Date(ca.validTo) >= new Date(leaf.validTo));
    });

    it('uses a random positive serial number', () => {
      const other = new X509Certificate(generateCertificates({ now }).serverCert);
      assert.notEqual(leaf.serialNumber, other.serialNumber);
      assert.match(leaf.serialNumber, /^[4-7][0-9A-F]{31}$/);
    });

    it('gives the server a private key that matches its certificate', () => {
      assert.ok(leaf.checkPrivateKey(createPrivateKey(pems.serverKey)));
    });
  });

  describe('when encoding DER', () => {
    it('encodes OIDs, integers and long lengths as X.509 expects', () => {
      assert.equal(der.oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
      assert.equal(der.integer(Buffer.from([0x00, 0x00, 0x7f])).toString('hex'), '02017f');
      assert.equal(der.integer(Buffer.from([0x80])).toString('hex'), '02020080');
      assert.equal(der.octetString(Buffer.alloc(200)).subarray(0, 3).toString('hex'), '0481c8');
      assert.equal(der.time(new Date('2049-12-31T23:59:59Z')).toString('latin1').slice(2), '491231235959Z');
      assert.equal(der.time(new Date('2050-01-01T00:00:00Z')).toString('latin1').slice(2), '20500101000000Z');
    });

    it('reads IPv6 literals into 16 bytes', () => {
      assert.equal(ipv6Bytes('::1').toString('hex'), '00000000000000000000000000000001');
      assert.equal(ipv6Bytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
      assert.equal(ipv6Bytes('::ffff:127.0.0.1').toString('hex'), '00000000000000000000ffff7f000001');
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
  });
});
