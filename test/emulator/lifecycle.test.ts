// Starting and stopping the emulator: option validation with clear TypeErrors, addresses, and a close() that
// leaves no socket or timer behind (mocha runs without --exit).
import assert from 'node:assert/strict';
import https from 'node:https';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { TEST_APP, emulatorRequest, healthForm, issueCode, tokenForm } from '../helpers/duo';

/** Handles that could keep the process alive, by type. */
function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) {
    if (type === 'TCPSocketWrap' || type === 'TCPServerWrap' || type === 'TLSWrap' || type === 'Timeout') {
      counts[type] = (counts[type] ?? 0) + 1;
    }
  }
  return counts;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('emulator lifecycle', () => {
  describe('when the options are invalid', () => {
    const app = { clientId: TEST_APP.clientId, clientSecret: TEST_APP.clientSecret };
    const cases: Array<[string, unknown, RegExp]> = [
      ['no options', undefined, /options must be an object/],
      ['no applications', {}, /applications must be a non-empty array/],
      ['an empty application list', { applications: [] }, /non-empty array/],
      [
        'a client id of 19 characters',
        { applications: [{ ...app, clientId: 'D'.repeat(19) }] },
        /clientId must be a string of exactly 20/,
      ],
      [
        'a secret of 39 characters',
        { applications: [{ ...app, clientSecret: 's'.repeat(39) }] },
        /clientSecret must be a string of exactly 40/,
      ],
      ['a duplicate client id', { applications: [app, app] }, /listed twice/],
      ['an unknown mode', { applications: [app], mode: 'manual' }, /mode must be 'interactive' or 'auto'/],
      ['a port out of range', { applications: [app], port: 70000 }, /port must be an integer/],
      ['an empty host', { applications: [app], host: '' }, /host must be a non-empty string/],
      [
        'a misspelt key',
        { applications: [app], mdoe: 'auto' },
        /unknown key "mdoe" \(did you mean "mode"\?\)/,
      ],
      [
        'a misspelt application key',
        { applications: [{ ...app, clientSecert: 'x' }] },
        /unknown key "clientSecert"/,
      ],
    ];
    for (const [name, options, message] of cases) {
      it(`rejects ${name} with a TypeError`, async () => {
        await assert.rejects(startDuoEmulator(options as never), (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, message);
          return true;
        });
      });
    }
  });

  describe('when setters get bad values', () => {
    let emulator: DuoEmulator;
    before(async () => {
      emulator = await startDuoEmulator({ applications: [TEST_APP] });
    });
    after(() => emulator.close());

    it('rejects bad user specs with TypeErrors', () => {
      const bad: Array<[unknown, unknown]> = [
        ['', {}],
        ['alice', 'allow'],
        ['alice', { result: 'maybe' }],
        ['alice', { enrolled: 'yes' }],
        ['alice', { device: { platform: 'Windows', trusted: 'trusted' } }],
        ['alice', { device: { platform: 'iOS', trusted: 'yes' } }],
        ['alice', { reason: '' }],
        ['alice', { reslt: 'deny' }],
      ];
      for (const [username, spec] of bad) {
        assert.throws(
          () => emulator.setUser(username as string, spec as never),
          TypeError,
          JSON.stringify(spec),
        );
      }
    });

    it('rejects bad faults, modes and clock offsets with TypeErrors', () => {
      for (const fault of [
        { health: 'broken' },
        { token: 'down' },
        { delayMs: -1 },
        { helth: 'down' },
        'down',
      ]) {
        assert.throws(() => emulator.setFault(fault as never), TypeError, JSON.stringify(fault));
      }
      assert.throws(() => emulator.setMode('manual' as never), TypeError);
      assert.throws(() => emulator.setClockOffset(Number.NaN), TypeError);
      assert.throws(() => emulator.setClockOffset('60' as never), TypeError);
    });
  });

  describe('when started', () => {
    it('listens on a free port of 127.0.0.1 by default and reports url and apiHost', async () => {
      const emulator = await startDuoEmulator({ applications: [TEST_APP] });
      try {
        assert.match(emulator.apiHost, /^127\.0\.0\.1:\d+$/);
        assert.equal(emulator.url, `https://${emulator.apiHost}`);
        assert.notEqual(emulator.apiHost, '127.0.0.1:0');
        assert.match(emulator.ca, /^-----BEGIN CERTIFICATE-----\n/);
      } finally {
        await emulator.close();
      }
    });

    it('uses the host option in url and apiHost, and its certificate names it', async () => {
      const emulator = await startDuoEmulator({ applications: [TEST_APP], host: 'localhost', mode: 'auto' });
      try {
        assert.match(emulator.apiHost, /^localhost:\d+$/);
        const res = await emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', {
          form: healthForm(emulator, TEST_APP),
        });
        assert.equal(res.json.stat, 'OK');
      } finally {
        await emulator.close();
      }
    });

    it('rejects when the port is taken', async () => {
      const first = await startDuoEmulator({ applications: [TEST_APP] });
      try {
        const port = Number(first.apiHost.split(':')[1]);
        await assert.rejects(startDuoEmulator({ applications: [TEST_APP], port }), { code: 'EADDRINUSE' });
      } finally {
        await first.close();
      }
    });
  });

  describe('when closed', () => {
    it('leaves no socket, server or timer behind, even with hanging, slow and keep-alive requests', async () => {
      await settle();
      const baseline = liveHandles();
      const emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
      const { code } = await issueCode(emulator, TEST_APP, 'alice');

      // A keep-alive connection left idle, a request that hangs, one that waits on a slow timer.
      const agent = new https.Agent({ keepAlive: true, ca: emulator.ca });
      await new Promise<void>((resolve, reject) => {
        https
          .request(`${emulator.url}/nowhere`, { agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject)
          .end();
      });
      emulator.setFault({ health: 'hang', token: 'slow', delayMs: 60_000 });
      const outcome = (request: Promise<unknown>) =>
        request.then(
          () => 'answered',
          (error: Error) => error,
        );
      const hanging = outcome(
        emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', {
          form: healthForm(emulator, TEST_APP),
          timeoutMs: 60_000,
        }),
      );
      const slow = outcome(
        emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
          form: tokenForm(emulator, TEST_APP, code),
          timeoutMs: 60_000,
        }),
      );
      const outcomes = () => emulator.log.map((entry) => entry.outcome);
      while (!outcomes().includes('fault:hang') || !outcomes().includes('fault:slow')) {
        await new Promise((resolve) => setImmediate(resolve));
      }

      await emulator.close();
      assert.ok((await hanging) instanceof Error, 'the hanging request was answered');
      assert.ok((await slow) instanceof Error, 'the slow request was answered');
      agent.destroy();
      await settle();
      const after = liveHandles();
      for (const type of ['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap', 'Timeout']) {
        assert.ok(
          (after[type] ?? 0) <= (baseline[type] ?? 0),
          `${type}: ${after[type]} after close, ${baseline[type] ?? 0} before`,
        );
      }
    });

    it('resolves again when called twice', async () => {
      const emulator = await startDuoEmulator({ applications: [TEST_APP] });
      await Promise.all([emulator.close(), emulator.close()]);
      await emulator.close();
    });
  });
});
