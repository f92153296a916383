// Access devices and Trusted Endpoints as Duo documents them: Duo Mobile vouches only for its own phone's browser;
// a computer is trusted through Duo Desktop or a device-management integration that synced its identifier.
import assert from 'node:assert/strict';
import { jwtVerify } from 'jose';
import { DuoAdapter } from '../../lib/duo/adapter';
import { readAuthResult } from '../../lib/duo/result';
import { startDuoEmulator, type DuoEmulator, type EmulatedUser } from '../../lib/emulator/index';
import {
  REDIRECT_URL,
  TEST_APP,
  authorizeClaims,
  authorizePath,
  clickAndFollow,
  emulatorRequest,
  issueCode,
  openPrompt,
  tokenForm,
} from '../helpers/duo';

const WINDOWS_CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

describe('emulator access devices (Trusted Endpoints)', () => {
  let emulator: DuoEmulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
  });
  after(() => emulator.close());
  afterEach(() => emulator.setMode('auto'));

  /** Signs `username` in (auto mode) and returns the verified id_token's auth_context. */
  const signIn = async (username: string, spec: EmulatedUser) => {
    emulator.setUser(username, spec);
    const { code } = await issueCode(emulator, TEST_APP, username);
    const res = await emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
      form: tokenForm(emulator, TEST_APP, code),
    });
    assert.equal(res.status, 200, res.body);
    const { payload } = await jwtVerify(res.json.id_token, new TextEncoder().encode(TEST_APP.clientSecret), {
      algorithms: ['HS512'],
    });
    return (payload as Record<string, any>).auth_context;
  };

  describe('the trust rules', () => {
    const rules: Array<[string, EmulatedUser, string, string | null]> = [
      [
        'a phone’s own browser with Duo Mobile activated is trusted',
        { accessDevice: { platform: 'iOS', managedBy: 'duo_mobile' } },
        'trusted',
        'duo_mobile',
      ],
      [
        'an Ivanti-managed laptop whose identifier Ivanti synced is trusted',
        { accessDevice: { platform: 'Windows', managedBy: 'ivanti', identifierSynced: true } },
        'trusted',
        'ivanti',
      ],
      [
        'an Ivanti-managed laptop whose identifier has not synced yet is not trusted',
        { accessDevice: { platform: 'Windows', managedBy: 'ivanti' } },
        'not trusted',
        'ivanti',
      ],
      [
        'a laptop with Duo Desktop is trusted',
        { accessDevice: { platform: 'macOS', managedBy: 'duo_desktop' } },
        'trusted',
        'duo_desktop',
      ],
      [
        'an unmanaged laptop is not trusted, even for a user whose phone has Duo Mobile',
        { accessDevice: { platform: 'Windows' } },
        'not trusted',
        null,
      ],
      [
        'any device is unknown when no Trusted Endpoints integration is active for the user',
        { trustedEndpoints: false, accessDevice: { platform: 'Windows', managedBy: 'duo_desktop' } },
        'unknown',
        'duo_desktop',
      ],
      [
        'a managed device failing the policy’s device checks is not trusted',
        { accessDevice: { platform: 'Android', managedBy: 'duo_mobile', compliant: false } },
        'not trusted',
        'duo_mobile',
      ],
      [
        'a phone managed by Intune is trusted through Duo Mobile',
        { accessDevice: { platform: 'Android', managedBy: 'intune' } },
        'trusted',
        'intune',
      ],
    ];
    let n = 0;
    for (const [title, spec, trust, manager] of rules) {
      it(title, async () => {
        const context = await signIn(`rule-${++n}`, spec);
        assert.equal(context.trusted_endpoint_status, trust);
        assert.equal(context.access_device.management_system, manager);
      });
    }

    it('keeps the first version’s device shorthand: the phone’s browser with the trust it names', async () => {
      for (const trusted of ['trusted', 'not trusted', 'unknown'] as const) {
        const context = await signIn('shorthand', { device: { platform: 'Android', trusted } });
        assert.equal(context.trusted_endpoint_status, trusted);
        assert.equal(context.access_device.os, 'Android');
        assert.equal(context.access_device.os_version, '14');
        assert.equal(context.access_device.management_system, trusted === 'trusted' ? 'duo_mobile' : null);
        const flag = trusted === 'trusted' ? true : trusted === 'not trusted' ? false : 'unknown';
        assert.equal(context.access_device.is_encryption_enabled, flag);
        assert.equal(context.access_device.is_firewall_enabled, flag);
        assert.equal(context.access_device.is_password_set, true);
        assert.deepEqual(context.access_device.security_agents, []);
      }
    });
  });

  describe('the access_device claims', () => {
    it('reports what Duo Desktop sees on a computer: hostname, OS, health and security agents', async () => {
      const context = await signIn('laptop', {
        accessDevice: {
          platform: 'Windows',
          managedBy: 'ivanti',
          identifierSynced: true,
          hostname: 'LAPTOP-ACME-042',
          osVersion: '10',
          epkey: 'EP0123456789ABCDEFGH',
          health: { firewall: false },
          securityAgents: [{ name: 'CrowdStrike Falcon', version: '7.10' }, { name: 'Sophos' }],
        },
      });
      const device = context.access_device;
      assert.equal(device.hostname, 'LAPTOP-ACME-042');
      assert.equal(device.os, 'Windows');
      assert.equal(device.os_version, '10');
      assert.equal(device.epkey, 'EP0123456789ABCDEFGH');
      assert.equal(device.is_encryption_enabled, true);
      assert.equal(device.is_firewall_enabled, false);
      assert.equal(device.is_password_set, true);
      assert.deepEqual(device.security_agents, [
        { security_agent: 'CrowdStrike Falcon', version: '7.10' },
        { security_agent: 'Sophos', version: null },
      ]);
      assert.equal(device.ip, '127.0.0.1');
      assert.deepEqual(Object.keys(device.location).sort(), ['city', 'country', 'state']);
    });

    it('names macOS as Duo does, and reports unknown health for an unmanaged computer', async () => {
      const context = await signIn('mac', { accessDevice: { platform: 'macOS' } });
      assert.equal(context.access_device.os, 'Mac OS X');
      assert.equal(context.access_device.os_version, '14.5');
      assert.equal(context.access_device.hostname, null);
      assert.equal(context.access_device.is_encryption_enabled, 'unknown');
      assert.equal(context.access_device.security_agents, 'unknown');
      assert.match(context.access_device.epkey, /^EP[A-Z0-9]{18}$/);
    });

    it('reads the browser from the User-Agent of the access device', async () => {
      emulator.setUser('browser', { accessDevice: { platform: 'Windows', managedBy: 'duo_desktop' } });
      const claims = authorizeClaims(emulator, TEST_APP, 'browser');
      const res = await emulatorRequest(emulator, 'GET', authorizePath(TEST_APP, claims), {
        headers: { 'user-agent': WINDOWS_CHROME },
      });
      const code = new URL(String(res.headers.location)).searchParams.get('duo_code')!;
      const token = await emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
        form: tokenForm(emulator, TEST_APP, code),
      });
      const context = (await jwtVerify(token.json.id_token, new TextEncoder().encode(TEST_APP.clientSecret)))
        .payload.auth_context as Record<string, any>;
      assert.equal(context.access_device.browser, 'Chrome');
      assert.equal(context.access_device.browser_version, '126.0.0.0');
    });
  });

  describe('what the Duo result says vouched (readAuthResult)', () => {
    let adapter: DuoAdapter;
    before(() => {
      adapter = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: 5000, ca: emulator.ca });
    });
    after(() => adapter.close());
    const credentials = () => ({
      clientId: TEST_APP.clientId,
      clientSecret: TEST_APP.clientSecret,
      apiHost: emulator.apiHost,
    });

    it('gives device.vouchedBy for a trusted device, and nothing for one that is not trusted', async () => {
      emulator.setUser('vouched', {
        accessDevice: { platform: 'Linux', managedBy: 'jamf', identifierSynced: true, hostname: 'build-7' },
      });
      let result = await adapter.exchange(
        credentials(),
        (await issueCode(emulator, TEST_APP, 'vouched')).code,
        'vouched',
      );
      assert.equal(result.device.trusted, 'trusted');
      assert.equal(result.device.vouchedBy, 'jamf');
      assert.equal(result.device.hostname, 'build-7');
      emulator.setUser('vouched', { accessDevice: { platform: 'Linux', managedBy: 'jamf' } });
      result = await adapter.exchange(
        credentials(),
        (await issueCode(emulator, TEST_APP, 'vouched')).code,
        'vouched',
      );
      assert.equal(result.device.trusted, 'not trusted');
      assert.equal(result.device.vouchedBy, undefined);
    });

    it('tolerates absent and odd management values, never inventing one', () => {
      const read = (status: unknown, system: unknown) =>
        readAuthResult({
          auth_context: { trusted_endpoint_status: status, access_device: { management_system: system } },
        }).device.vouchedBy;
      assert.equal(read('trusted', undefined), undefined);
      assert.equal(read('trusted', null), undefined);
      assert.equal(read('trusted', 42), undefined);
      assert.equal(read('trusted', ['ivanti']), undefined);
      assert.equal(read('trusted', '<script>'), undefined);
      assert.equal(read('trusted', 'x'.repeat(65)), undefined);
      assert.equal(read('TRUSTED', 'intune'), 'intune');
      assert.equal(read('not trusted', 'intune'), undefined);
      assert.equal(read(undefined, 'intune'), undefined);
      assert.equal(read('trusted', 'kandji'), 'kandji');
      assert.equal(readAuthResult({ auth_context: { access_device: 'odd' } }).device.vouchedBy, undefined);
    });
  });

  describe('the interactive device check', () => {
    it('says which app checks the computer and what manages it', async () => {
      emulator.setMode('interactive');
      emulator.setUser('desk', {
        accessDevice: { platform: 'Windows', managedBy: 'ivanti', identifierSynced: true },
      });
      const adapter = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: 5000, ca: emulator.ca });
      try {
        const first = await openPrompt(
          emulator,
          await adapter.createAuthUrl(
            { clientId: TEST_APP.clientId, clientSecret: TEST_APP.clientSecret, apiHost: emulator.apiHost },
            'desk',
            'device-check-state-0123456789abcd',
          ),
        );
        const pushed = (await clickAndFollow(emulator, first, 'send-push')).page!;
        const check = (await clickAndFollow(emulator, pushed, 'approve')).page!;
        assert.match(check.html, /Checking your device with Duo Desktop…/);
        assert.match(check.html, /id="device-platform">Windows</);
        assert.match(check.html, /id="device-managed-by">Ivanti Neurons for MDM</);
        assert.match(check.html, /id="device-trust"[^>]*>trusted</);
      } finally {
        adapter.close();
      }
    });
  });

  describe('when the spec cannot be right', () => {
    const bad: Array<[unknown, RegExp]> = [
      [
        { accessDevice: { platform: 'Windows', managedBy: 'duo_mobile' } },
        /Duo Mobile vouches only for the phone it runs on/,
      ],
      [
        { accessDevice: { platform: 'iOS', managedBy: 'duo_desktop' } },
        /Duo Desktop runs on Windows, macOS and Linux/,
      ],
      [{ accessDevice: { platform: 'ChromeOS', managedBy: 'duo_desktop' } }, /Duo Desktop runs on Windows/],
      [{ accessDevice: { platform: 'Android', managedBy: 'active_directory' } }, /domain-joins computers/],
      [
        { accessDevice: { platform: 'iOS', identifierSynced: true } },
        /identifierSynced applies to computers/,
      ],
      [
        { accessDevice: { platform: 'Windows', managedBy: 'ivantii' } },
        /managedBy must be .* \(did you mean 'ivanti'\?\)/,
      ],
      [
        { accessDevice: { platform: 'BeOS' } },
        /platform must be 'iOS', 'Android', 'Windows', 'macOS', 'Linux' or 'ChromeOS'/,
      ],
      [{ accessDevice: { platform: 'Windows', epkey: 'EPshort' } }, /epkey must be a string matching/],
      [
        { accessDevice: { platform: 'Windows', health: { encryption: 'yes' } } },
        /health\.encryption must be a boolean/,
      ],
      [
        { accessDevice: { platform: 'Windows', securityAgents: ['Falcon'] } },
        /securityAgents must be an array/,
      ],
      [
        { accessDevice: { platform: 'Windows', manageBy: 'jamf' } },
        /unknown key "manageBy" \(did you mean "managedBy"\?\)/,
      ],
      [
        { accessDevice: { platform: 'Windows' }, device: { platform: 'iOS', trusted: 'trusted' } },
        /give accessDevice or its shorthand device, not both/,
      ],
      [{ device: { platform: 'Windows', trusted: 'trusted' } }, /describe a computer with accessDevice/],
      [{ trustedEndpoints: 'no' }, /trustedEndpoints must be a boolean/],
    ];
    for (const [spec, message] of bad) {
      it(`refuses ${JSON.stringify(spec)} with a TypeError`, () => {
        assert.throws(
          () => emulator.setUser('bad', spec as EmulatedUser),
          (error: Error) => error instanceof TypeError && message.test(error.message),
        );
      });
    }
  });
});
