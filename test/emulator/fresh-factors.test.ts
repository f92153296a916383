// Results Duo grants (or refuses) without a live factor, with the factor and reason Duo logs for each, so the
// middleware's step-up can tell them from a fresh push.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startDuoEmulator, type DuoEmulator, type EmulatedUser } from '../../lib/emulator/index';
import {
  TEST_APP,
  authorizeClaims,
  authorizePath,
  emulatorRequest,
  issueCode,
  tokenForm,
} from '../helpers/duo';

describe('emulator results without a live factor', () => {
  let emulator: DuoEmulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
  });
  after(() => emulator.close());
  afterEach(() => emulator.setMode('auto'));

  const claimsFor = async (code: string) => {
    const res = await emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
      form: tokenForm(emulator, TEST_APP, code),
    });
    assert.equal(res.status, 200, res.body);
    return decodeJwt(res.json.id_token) as Record<string, any>;
  };

  const cases: Array<[string, EmulatedUser, 'allow' | 'deny', string, string]> = [
    ['a remembered device', { rememberedDevice: true }, 'allow', 'remembered_device', 'remembered_device'],
    ['an authorized network', { trustedNetwork: true }, 'allow', 'trusted_network', 'trusted_network'],
    ['a user in bypass status', { status: 'bypass' }, 'allow', 'not_available', 'bypass_user'],
    [
      'an unenrolled user the New User policy lets in',
      { enrolled: false, newUserPolicy: 'allow' },
      'allow',
      'not_available',
      'allow_unenrolled_user',
    ],
    [
      'an unenrolled user the New User policy denies',
      { enrolled: false, newUserPolicy: 'deny' },
      'deny',
      'not_available',
      'deny_unenrolled_user',
    ],
    ['a disabled user', { status: 'disabled' }, 'deny', 'not_available', 'user_disabled'],
    ['a locked-out user', { status: 'locked out' }, 'deny', 'not_available', 'locked_out'],
  ];

  for (const mode of ['auto', 'interactive'] as const) {
    describe(`in ${mode} mode`, () => {
      for (const [name, spec, result, factor, reason] of cases) {
        it(`${name}: redirects back at once; the token says ${result}, factor ${factor}, reason ${reason}`, async () => {
          emulator.setMode(mode);
          emulator.setUser('fresh', spec);
          const res = await emulatorRequest(
            emulator,
            'GET',
            authorizePath(TEST_APP, authorizeClaims(emulator, TEST_APP, 'fresh')),
          );
          assert.equal(res.status, 302, 'no prompt page: Duo decides without a factor');
          const code = new URL(String(res.headers.location)).searchParams.get('duo_code');
          assert.ok(code);
          const claims = await claimsFor(code);
          assert.equal(claims.auth_result.result, result);
          assert.equal(claims.auth_context.result, result === 'allow' ? 'success' : 'denied');
          assert.equal(claims.auth_context.factor, factor);
          assert.equal(claims.auth_context.reason, reason);
          assert.deepEqual(claims.auth_context.auth_device, { ip: null, location: {}, name: null });
        });
      }
    });
  }

  it('a live push still reports duo_push / user_approved and the phone it went to', async () => {
    emulator.setUser('live', {});
    const claims = await claimsFor((await issueCode(emulator, TEST_APP, 'live')).code);
    assert.equal(claims.auth_context.factor, 'duo_push');
    assert.equal(claims.auth_context.reason, 'user_approved');
    assert.equal(claims.auth_context.auth_device.name, '+1 734-555-0100');
  });

  it('lets factor and reason overrides win, as for any result', async () => {
    emulator.setUser('override', {
      rememberedDevice: true,
      factor: 'Remembered device',
      reason: 'remembered_device',
    });
    const claims = await claimsFor((await issueCode(emulator, TEST_APP, 'override')).code);
    assert.equal(claims.auth_context.factor, 'Remembered device');
  });

  it('applies a remembered device only to a user scripted to be allowed', async () => {
    emulator.setUser('denied-anyway', { rememberedDevice: true, result: 'deny' });
    const claims = await claimsFor((await issueCode(emulator, TEST_APP, 'denied-anyway')).code);
    assert.equal(claims.auth_result.result, 'deny');
    assert.equal(claims.auth_context.reason, 'user_marked_fraud');
  });

  it('sends an unenrolled user under require-enrollment through enrollment (interactive)', async () => {
    emulator.setMode('interactive');
    emulator.setUser('newbie', { enrolled: false, newUserPolicy: 'require-enrollment' });
    const res = await emulatorRequest(
      emulator,
      'GET',
      authorizePath(TEST_APP, authorizeClaims(emulator, TEST_APP, 'newbie')),
    );
    assert.equal(res.status, 303);
    assert.match(String(res.headers.location), /^\/frame\/prompt\?sid=/);
  });

  it('refuses bad status and New User policy values with TypeErrors', () => {
    for (const spec of [
      { status: 'paused' },
      { newUserPolicy: 'maybe' },
      { rememberedDevice: 'yes' },
      { trustedNetwork: 1 },
    ]) {
      assert.throws(() => emulator.setUser('bad', spec as EmulatedUser), TypeError, JSON.stringify(spec));
    }
  });
});
