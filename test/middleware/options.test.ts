// duoMfa(options) is validated once, at start-up: every mistake is a TypeError that names the option.

import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { duoMfa, requireRecentMfa, type DuoMfaOptions } from '../../lib/index';
import { parseOptions } from '../../lib/middleware/options';
import { testPolicy } from '../helpers/app';

const policy = testPolicy('127.0.0.1:1');
const valid = { policy, baseUrl: 'https://portal.example.com' };

function typeError(options: unknown, message: RegExp): void {
  assert.throws(
    () => parseOptions(options),
    (error: unknown) => {
      assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
      assert.match(error.message, /^express-duo-mfa: /);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('duoMfa options', () => {
  describe('when valid', () => {
    it('fills every default', () => {
      const config = parseOptions(valid);
      assert.equal(config.origin, 'https://portal.example.com');
      assert.equal(config.redirectUrl, 'https://portal.example.com/duo/callback');
      assert.equal(config.callbackPath, '/duo/callback');
      assert.equal(config.startPath, '/duo/start');
      assert.equal(config.afterLoginPath, '/');
      assert.equal(config.maxAgeMs, 12 * 3_600_000);
      assert.equal(config.failOpenMaxAgeMs, 5 * 60_000);
      assert.equal(config.duoTimeoutMs, 5000);
      assert.equal(config.redisPrefix, 'duo-mfa:');
      assert.deepEqual(config.ignore, []);
      assert.ok(Object.isFrozen(config));
    });

    it('accepts http only for loopback hosts', () => {
      for (const baseUrl of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000']) {
        assert.equal(parseOptions({ ...valid, baseUrl }).origin, new URL(baseUrl).origin);
      }
    });

    it('reads durations as ms or "15m" / "12h"', () => {
      assert.equal(parseOptions({ ...valid, maxAge: '15m' }).maxAgeMs, 900_000);
      assert.equal(parseOptions({ ...valid, maxAge: 60_000 }).maxAgeMs, 60_000);
      assert.equal(parseOptions({ ...valid, maxAge: '2d' }).maxAgeMs, 2 * 86_400_000);
    });
  });

  describe('when something is wrong', () => {
    it('rejects an unknown option, suggesting the closest one', () => {
      typeError({ ...valid, maxage: '1h' }, /unknown option "maxage" — did you mean "maxAge"\?/);
      typeError({ ...valid, baseURL: 'x' }, /did you mean "baseUrl"/);
      typeError({ ...valid, duoTimeout: 5 }, /did you mean "duoTimeoutMs"/);
      typeError({ ...valid, zzzzzz: 1 }, /unknown option "zzzzzz" \(known options: policy, baseUrl/);
    });

    it('requires policy and baseUrl', () => {
      typeError({ baseUrl: valid.baseUrl }, /option "policy" is required/);
      typeError({ policy }, /option "baseUrl" is required/);
      typeError(undefined, /needs an options object/);
      typeError('duo-mfa.json', /needs an options object/);
    });

    it('refuses a baseUrl that is not an https origin', () => {
      typeError(
        { ...valid, baseUrl: 'http://portal.example.com' },
        /must use https; http is allowed only for localhost/,
      );
      typeError({ ...valid, baseUrl: 'portal.example.com' }, /must be an absolute URL/);
      typeError({ ...valid, baseUrl: 'https://portal.example.com/app' }, /must be an origin only/);
      typeError({ ...valid, baseUrl: 'https://user:pw@portal.example.com' }, /must be an origin only/);
      typeError({ ...valid, baseUrl: 'ftp://portal.example.com' }, /must use https/);
    });

    it('refuses bad values with what is allowed', () => {
      typeError({ ...valid, maxAge: 'forever' }, /"maxAge" must be milliseconds or a duration/);
      typeError({ ...valid, maxAge: -5 }, /"maxAge"/);
      typeError({ ...valid, duoTimeoutMs: 0 }, /"duoTimeoutMs" must be a whole number/);
      typeError({ ...valid, duoTimeoutMs: '5000' }, /"duoTimeoutMs"/);
      typeError({ ...valid, callbackPath: 'duo/callback' }, /"callbackPath" must be a plain path/);
      typeError({ ...valid, callbackPath: '//evil' }, /"callbackPath"/);
      typeError({ ...valid, callbackPath: '/x', startPath: '/x' }, /must differ/);
      typeError({ ...valid, afterLoginPath: 'https://evil.example' }, /"afterLoginPath" must be a path/);
      typeError({ ...valid, afterLoginPath: '//evil.example' }, /"afterLoginPath" must be a path/);
      typeError({ ...valid, signOutPath: 'logout' }, /"signOutPath" must be a path/);
      typeError({ ...valid, signOutPath: '/\\evil' }, /"signOutPath" must be a path/);
      typeError({ ...valid, ignore: '/login' }, /"ignore" must be an array/);
      typeError({ ...valid, ignore: ['login'] }, /"ignore\[0\]" must be a path prefix/);
      typeError({ ...valid, getUser: 'user' }, /"getUser" must be a function/);
      typeError({ ...valid, duoTls: { ca: 'not a pem' } }, /"duoTls" must be \{ ca:/);
      typeError(
        { ...valid, redis: {} },
        /"redis" must be an ioredis client \(new Redis\(...\)\); it lacks set, getdel/,
      );
      typeError(
        { ...valid, logger: { info() {} } },
        /"logger" must be a pino-compatible logger; it lacks debug, warn, error/,
      );
      typeError({ ...valid, policy: '' }, /"policy" is required/);
    });

    it('throws the policy file’s problems at start-up (ERR_POLICY_INVALID)', () => {
      assert.throws(
        () => duoMfa({ ...valid, policy: { tenants: { acme: { mfa: { enabled: 'yes' } } } } }),
        (error: any) => error.code === 'ERR_POLICY_INVALID' && /tenants\.acme/.test(error.message),
      );
    });

    it('explains app.use(duoMfa) without the call', async () => {
      const app = express();
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      app.use(duoMfa as unknown as express.RequestHandler);
      app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).send(err.message);
      });
      const res = await request(app).get('/').expect(500);
      assert.match(
        res.text,
        /duoMfa was used as middleware without being called\. Write app\.use\(duoMfa\(\{ policy, baseUrl \}\)\)/,
      );
    });

    it('requireRecentMfa validates its maxAge and needs duoMfa mounted first', async () => {
      assert.throws(() => requireRecentMfa('soon'), /requireRecentMfa\(maxAge\) needs milliseconds/);
      const app = express();
      app.get('/x', requireRecentMfa('5m'), (_req, res) => res.send('never'));
      app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).send(err.message);
      });
      const res = await request(app).get('/x').expect(500);
      assert.match(res.text, /needs duoMfa\(\) mounted before it/);
    });

    it('gives TypeScript users a typed options object', () => {
      const options: DuoMfaOptions = { policy: './duo-mfa.json', baseUrl: 'https://x.example', maxAge: '1h' };
      assert.equal(typeof options.policy, 'string');
    });
  });
});
