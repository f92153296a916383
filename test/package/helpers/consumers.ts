// The consumer projects written into a temporary directory: a CommonJS script, an ESM script and TypeScript
// sources, each importing express-duo-mfa from the installed tarball exactly as an app would.

/** 20-character client id and 40-character secret, as the emulator requires. */
const APP = `{ clientId: 'DIPACKAGECONSUMER001', clientSecret: 'package-consumer-secret-0123456789abcdef' }`;

/**
 * One whole login from the installed package: emulator up, an Express app with express-session and duoMfa(),
 * password login, redirect to Duo, Duo's answer, callback, private page. Closes everything and relies on the
 * process exiting by itself (a leaked socket or timer would hang it, and the test's timeout would say so).
 * Expects `duoMfa`, `requireRecentMfa`, `startDuoEmulator`, `express`, `session`, `http`, `https` in scope.
 */
const FLOW = `
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function send(base, method, path, { cookie, ca, accept = 'text/html' } = {}) {
  const url = new URL(path, base);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      { method, agent: false, ca, headers: { accept, connection: 'close', ...(cookie ? { cookie } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function flow() {
  expect(typeof duoMfa === 'function', 'duoMfa is not a function');
  expect(typeof requireRecentMfa === 'function', 'requireRecentMfa is not a function');
  expect(typeof startDuoEmulator === 'function', 'startDuoEmulator is not a function');
  const application = ${APP};
  const duo = await startDuoEmulator({ applications: [application], mode: 'auto' });
  const mfa = duoMfa({
    policy: { defaultTenant: 'acme', tenants: { acme: { mfa: { enabled: true }, duo: { ...application, apiHost: duo.apiHost } } } },
    baseUrl: 'http://127.0.0.1',
    duoTls: { ca: duo.ca },
    logger: silent,
  });
  const app = express();
  app.use(session({ secret: 'consumer-secret', resave: false, saveUninitialized: false }));
  app.post('/login', (req, res) => {
    req.session.user = { username: 'Alice' };
    res.sendStatus(204);
  });
  app.use(mfa);
  app.get('/private', requireRecentMfa('5m'), (req, res) => res.json({ ok: true, state: req.duoMfa }));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = 'http://127.0.0.1:' + server.address().port;
  try {
    const login = await send(base, 'POST', '/login');
    expect(login.status === 204, 'login: ' + login.status);
    let cookie = login.headers['set-cookie'][0].split(';')[0];
    const gate = await send(base, 'GET', '/private', { cookie });
    expect(gate.status === 303, 'gate: ' + gate.status + ' ' + gate.text);
    cookie = gate.headers['set-cookie'][0].split(';')[0];
    const authorize = await send(gate.headers.location, 'GET', gate.headers.location, { ca: duo.ca });
    expect(authorize.status === 302 || authorize.status === 303, 'Duo: ' + authorize.status);
    const back = new URL(authorize.headers.location);
    const callback = await send(base, 'GET', back.pathname + back.search, { cookie });
    expect(callback.status === 303 && callback.headers.location === '/private', 'callback: ' + callback.status + ' ' + callback.text);
    cookie = callback.headers['set-cookie'][0].split(';')[0];
    const page = await send(base, 'GET', '/private', { cookie, accept: 'application/json' });
    const body = JSON.parse(page.text);
    expect(page.status === 200 && body.ok === true && body.state.verified === true && body.state.via === 'duo', 'page: ' + page.text);
    expect(duo.calls.token === 1, 'token calls: ' + duo.calls.token);
  } finally {
    mfa.close();
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    });
    await duo.close();
  }
}
`;

/** CommonJS: require() of every export, deep imports refused, the whole flow. */
export const CJS_CONSUMER = `'use strict';
const assert = require('node:assert/strict');
const http = require('node:http');
const https = require('node:https');
const express = require('express');
const session = require('express-session');
const mfaPackage = require('express-duo-mfa');
// The main entry loads nothing of the emulator (nor its certificate library): security code stays small.
const loadedWithMain = Object.keys(require.cache).filter((file) => /[\\/](emulator|selfsigned|@peculiar)[\\/]/.test(file));
assert.deepEqual(loadedWithMain, [], 'the main entry loaded emulator modules: ' + loadedWithMain.join(', '));
const { duoMfa, requireRecentMfa, DuoMfaError, isDuoMfaError, ERROR_CODES } = mfaPackage;
const policyTools = require('express-duo-mfa/policy');
const { startDuoEmulator } = require('express-duo-mfa/emulator');
const schema = require('express-duo-mfa/schema/duo-mfa.schema.json');
const pkg = require('express-duo-mfa/package.json');
${FLOW}
(async () => {
  assert.equal(pkg.name, 'express-duo-mfa');
  assert.equal(typeof schema, 'object');
  assert.ok(schema.properties && schema.properties.tenants, 'the JSON schema describes tenants');
  assert.ok(new DuoMfaError('ERR_DUO_TIMEOUT', 'x') instanceof Error);
  assert.ok(isDuoMfaError(new DuoMfaError('ERR_DUO_TIMEOUT', 'x')));
  assert.ok(Object.keys(ERROR_CODES).includes('ERR_STORE_UNAVAILABLE'));
  for (const name of ['compilePolicy', 'validatePolicy', 'openPolicy', 'decide', 'explainDecision']) {
    assert.equal(typeof policyTools[name], 'function', 'express-duo-mfa/policy exports ' + name);
  }
  assert.throws(() => require('express-duo-mfa/dist/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  assert.throws(() => require('express-duo-mfa/lib/index'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  assert.throws(() => duoMfa({ policy: {}, baseUrl: 'http://127.0.0.1', maxage: 1 }), TypeError);
  await flow();
  console.log('cjs ok');
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** ESM: named imports from the CommonJS build (cjs-module-lexer), the default import, JSON imports, the flow. */
export const ESM_CONSUMER = `import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import express from 'express';
import session from 'express-session';
import mfaDefault, { duoMfa, requireRecentMfa, DuoMfaError, isDuoMfaError, ERROR_CODES } from 'express-duo-mfa';
import { openPolicy, decide } from 'express-duo-mfa/policy';
import { startDuoEmulator } from 'express-duo-mfa/emulator';
import schema from 'express-duo-mfa/schema/duo-mfa.schema.json' with { type: 'json' };
import pkg from 'express-duo-mfa/package.json' with { type: 'json' };
${FLOW}
assert.equal(pkg.name, 'express-duo-mfa');
assert.ok(schema.properties && schema.properties.tenants);
assert.equal(mfaDefault.duoMfa, duoMfa, 'the default import is module.exports');
assert.equal(typeof openPolicy, 'function');
assert.equal(typeof decide, 'function');
assert.ok(isDuoMfaError(new DuoMfaError('ERR_DUO_TIMEOUT', 'x')));
assert.ok(Object.keys(ERROR_CODES).length > 10);
await assert.rejects(import('express-duo-mfa/dist/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
await flow();
console.log('esm ok');
`;

/** TypeScript, compiled as CommonJS (node16) or by a bundler: the public types, used as the README shows. */
export const TS_CONSUMER = `import express from 'express';
import session from 'express-session';
import {
  duoMfa,
  requireRecentMfa,
  DuoMfaError,
  isDuoMfaError,
  type AuditEvent,
  type DuoMfaErrorCode,
  type DuoMfaMiddleware,
  type DuoMfaOptions,
  type DuoMfaRequestState,
  type DuoMfaSessionData,
  type MfaUser,
  type RedisLike,
  type TenantSettings,
} from 'express-duo-mfa';
import { startDuoEmulator, type DuoEmulator, type EmulatorFault } from 'express-duo-mfa/emulator';

const events: AuditEvent[] = [];
const options: DuoMfaOptions = {
  policy: './duo-mfa.json',
  baseUrl: 'https://portal.example.com',
  ignore: ['/login', /^\\/assets\\//],
  maxAge: '12h',
  duoTimeoutMs: 5000,
  getUser: (req): MfaUser | undefined => (req.session as { user?: MfaUser } | undefined)?.user,
  onEvent: (event) => {
    events.push(event);
  },
};
const mfa: DuoMfaMiddleware = duoMfa(options);
const settings: TenantSettings | undefined = mfa.tenantSettings('acme');
const failmode: 'open' | 'closed' | undefined = settings?.failmode;

const app = express();
app.use(session({ secret: 'x', resave: false, saveUninitialized: false }));
app.use(mfa);
app.get('/', requireRecentMfa('5m'), (req, res) => {
  const state: DuoMfaRequestState | undefined = req.duoMfa; // the Request augmentation ships with the types
  const verified: boolean = state?.verified ?? false;
  res.json({ verified, failmode });
});

const data: DuoMfaSessionData = { verified: { username: 'alice', tenant: 'acme', at: 0, via: 'duo' } };
const code: DuoMfaErrorCode = 'ERR_DUO_TIMEOUT';
const error = new DuoMfaError(code, 'Duo did not answer');
if (isDuoMfaError(error)) {
  const status: number = error.status;
  void status;
}
const redisLike: RedisLike | undefined = undefined;

export async function emulator(): Promise<number> {
  const duo: DuoEmulator = await startDuoEmulator({
    applications: [{ clientId: 'DIXXXXXXXXXXXXXXXXXX', clientSecret: 'x'.repeat(40) }],
    mode: 'auto',
  });
  const fault: EmulatorFault = { health: 'hang' };
  duo.setFault(fault);
  duo.setUser('alice', { result: 'deny', reason: 'user_marked_fraud' });
  const tokens: number = duo.calls.token;
  await duo.close();
  return tokens;
}

// Misuse must not type-check: the types are real, not any.
// @ts-expect-error baseUrl is required
duoMfa({ policy: './duo-mfa.json' });
// @ts-expect-error a misspelt option
duoMfa({ policy: './duo-mfa.json', baseUrl: 'https://x.example', maxage: '1h' });
// @ts-expect-error not a fault the emulator knows
const badFault: EmulatorFault = { health: 'sideways' };
// @ts-expect-error not an error code
const badCode: DuoMfaErrorCode = 'ERR_NOPE';

export { app, data, events, redisLike, badFault, badCode };
`;

/** The same imports from an ES module compiled by tsc (node16: ESM importing the CommonJS build). */
export const TS_ESM_CONSUMER = `import { duoMfa, type DuoMfaOptions } from 'express-duo-mfa';
import { startDuoEmulator } from 'express-duo-mfa/emulator';

const options: DuoMfaOptions = { policy: './duo-mfa.json', baseUrl: 'https://portal.example.com' };
export const mfa = duoMfa(options);
export const start: typeof startDuoEmulator = startDuoEmulator;
// @ts-expect-error baseUrl is required
duoMfa({ policy: './duo-mfa.json' });
`;

export function tsconfig(kind: 'node16' | 'bundler'): string {
  const compilerOptions =
    kind === 'node16'
      ? { module: 'node16', moduleResolution: 'node16' }
      : { module: 'esnext', moduleResolution: 'bundler' };
  return JSON.stringify(
    {
      compilerOptions: {
        ...compilerOptions,
        target: 'ES2022',
        strict: true,
        noEmit: true,
        esModuleInterop: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: kind === 'node16' ? ['consumer.ts', 'consumer-esm.mts'] : ['consumer.ts'],
    },
    null,
    2,
  );
}

/** A policy the CLI checks from the installed package. */
export const CLI_POLICY = JSON.stringify(
  {
    defaultTenant: 'acme',
    tenants: {
      acme: {
        mfa: { enabled: true, rolesIncluded: ['admin'] },
        duo: {
          clientId: 'DIXXXXXXXXXXXXXXXXXX',
          clientSecret: { env: 'ACME_DUO_CLIENT_SECRET' },
          apiHost: 'api-12345678.duosecurity.com',
        },
      },
    },
  },
  null,
  2,
);
