// Runs the example staff portal on 127.0.0.1 (PORT, default 3000): memory sessions (or Redis with REDIS_URL),
// and the offline Duo emulator in interactive mode for every tenant whose apiHost is on this machine.
//
//   npm start                              # the demo: no Duo account, no Redis
//   npm start -- ./my-duo-mfa.json         # your own policy file (real Duo apiHosts talk to real Duo)
//   REDIS_URL=redis://127.0.0.1:6379 npm start
//
// A development session secret, a development secretsKey (it encrypts the Duo secrets an admin saves on MFA
// Settings) and the emulator's CA are kept in example-app/.data/ (PORTAL_DATA_DIR), so sessions, saved secrets and
// the browser's trust in the emulator survive a restart.

import { createServer, type Server } from 'node:http';
import { join, relative, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Redis } from 'ioredis';
import { isDuoMfaError } from 'express-duo-mfa';
import { loadPolicyFile, type CompiledPolicy } from 'express-duo-mfa/policy';
import { startDuoEmulator, type DuoEmulator } from 'express-duo-mfa/emulator';
import { DEMO_LOGINS, DEMO_PASSWORD, TENANTS, scriptDemoUsers } from './demo';
import { DATA_FILES, emulatorCa, secretsKey, sessionSecret, type Kept } from './local-data';
import { consoleLogger, createApp, type PortalApp } from './portal';

const logger = consoleLogger({ debug: process.env.DEBUG === '1' });

class StartError extends Error {}

async function main(): Promise<void> {
  const port = parsePort(process.env.PORT);
  const policyPath = resolve(
    process.argv[2] ?? process.env.DUO_MFA_POLICY ?? join(__dirname, 'duo-mfa.json'),
  );
  const dataDir = resolve(process.env.PORTAL_DATA_DIR || join(__dirname, '.data'));
  const secret = sessionSecret(dataDir, process.env);
  // Before the policy: a secret an admin saved on MFA Settings is in the file encrypted with this key.
  const key = loadSecretsKey(dataDir);
  const policy = loadPolicy(policyPath, key.value);

  const closers: Array<() => Promise<void> | void> = [];
  const shutdown = async (exitCode: number) => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // best effort: we are exiting anyway
      }
    }
    process.exit(exitCode);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    const duo = await startDuo(policy, policyPath, dataDir);
    if (duo.emulator) {
      const emulator = duo.emulator;
      closers.push(() => emulator.close());
    }
    const redis = process.env.REDIS_URL ? await connectRedis(process.env.REDIS_URL) : undefined;
    if (redis) closers.push(async () => void (await redis.quit().catch(() => redis.disconnect())));

    const server = createServer();
    await listen(server, port);
    closers.push(
      () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    );
    const address = server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const baseUrl = `http://127.0.0.1:${actualPort}`;
    const portal: PortalApp = createApp({
      policy: policyPath,
      baseUrl,
      duoTls: duo.tls,
      redis,
      sessionSecret: secret.value,
      secretsKey: key.value,
      logger,
    });
    closers.push(() => portal.close());
    server.on('request', portal);
    printBanner({ baseUrl, policyPath, policy, duo, secret, key, redisUrl: process.env.REDIS_URL });
  } catch (error) {
    if (error instanceof StartError) {
      console.error(`\nCannot start the example: ${error.message}\n`);
      await shutdown(1);
    }
    throw error;
  }
}

/** A path as the person typing commands here would write it: relative when inside the working directory. */
function displayPath(path: string): string {
  const nearby = relative(process.cwd(), path);
  return nearby && !nearby.startsWith('..') ? nearby : path;
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number (0-65535), got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return port;
}

function loadSecretsKey(dataDir: string): Kept<string> {
  try {
    return secretsKey(dataDir, process.env);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    console.error(`\nCannot start the example: ${error.message}. Unset it to use a development key.\n`);
    process.exit(2);
  }
}

function loadPolicy(path: string, key: string): CompiledPolicy {
  try {
    return loadPolicyFile(path, { secretsKey: key });
  } catch (error) {
    if (isDuoMfaError(error)) {
      const issues = (error.details.issues as Array<{ path: string; message: string }> | undefined) ?? [];
      console.error(`\n${error.message}`);
      for (const issue of issues) console.error(`  ${issue.path}: ${issue.message}`);
      console.error(`\nCheck it with: node dist/cli/main.js check ${displayPath(path)}\n`);
      process.exit(1);
    }
    throw error;
  }
}

interface DuoSetup {
  emulator: DuoEmulator | undefined;
  /** The emulator's CA, kept in the data directory (or made for this run only when it cannot be written). */
  ca: Kept<unknown> | undefined;
  /** The emulator's CA certificate file, for people who want their browser to trust it. */
  caFile: string | undefined;
  tls: { ca: string | string[] } | undefined;
  emulated: string[];
  /** Tenants whose Admin API application (staff status and recovery) the emulator serves. */
  adminApi: string[];
  real: Array<{ tenant: string; apiHost: string }>;
}

/** Where a loopback apiHost (127.0.0.1:8443, localhost:8443, [::1]:8443) asks the emulator to listen. */
function loopbackAddress(apiHost: string): { host: string; port: number } | undefined {
  const match = /^(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?$/i.exec(apiHost.trim());
  if (!match) return undefined;
  return { host: match[1] === '[::1]' ? '::1' : '127.0.0.1', port: match[2] ? Number(match[2]) : 443 };
}

/**
 * Tenants whose apiHost is on this machine get the offline emulator, started on exactly that host and port so the
 * policy file stays the single source of truth (and the MFA Settings page shows what the file says). Tenants
 * with a real Duo apiHost talk to Duo.
 */
async function startDuo(policy: CompiledPolicy, policyPath: string, dataDir: string): Promise<DuoSetup> {
  const emulatedTenants = [...policy.tenants.values()].filter((t) => loopbackAddress(t.duo.apiHost));
  const real = [...policy.tenants.values()]
    .filter((t) => !loopbackAddress(t.duo.apiHost))
    .map((t) => ({ tenant: t.id, apiHost: t.duo.apiHost }));
  if (emulatedTenants.length === 0)
    return {
      emulator: undefined,
      ca: undefined,
      caFile: undefined,
      tls: undefined,
      emulated: [],
      adminApi: [],
      real,
    };

  // Every emulated apiHost, the Admin API applications' included: one emulator serves them all.
  const hosts = emulatedTenants.flatMap((t) => [
    t.duo.apiHost,
    ...(t.duo.adminApi && loopbackAddress(t.duo.adminApi.apiHost) ? [t.duo.adminApi.apiHost] : []),
  ]);
  const addresses = new Set(hosts.map((apiHost) => apiHost.trim().toLowerCase()));
  const { host, port } = loopbackAddress(emulatedTenants[0]!.duo.apiHost)!;
  if (new Set(hosts.map((apiHost) => JSON.stringify(loopbackAddress(apiHost)))).size > 1) {
    throw new StartError(
      `the tenants on this machine use different emulator addresses (${[...addresses].join(', ')}) in ` +
        `${displayPath(policyPath)}: give them all the same apiHost (adminApi.apiHost included), e.g. "127.0.0.1:8443".`,
    );
  }
  const applications = new Map<string, { clientId: string; clientSecret: string; name: string }>();
  for (const tenant of emulatedTenants) {
    const name = TENANTS.find((t) => t.id === tenant.id)?.name ?? tenant.id;
    applications.set(tenant.duo.clientId, {
      clientId: tenant.duo.clientId,
      clientSecret: tenant.duo.clientSecret,
      name: `${name} Staff Portal`,
    });
  }

  // Their Admin API applications: staff status, reactivation and bypass codes on MFA Settings.
  const adminTenants = emulatedTenants.filter(
    (t) => t.duo.adminApi && loopbackAddress(t.duo.adminApi.apiHost),
  );
  const adminApplications = adminTenants.map((t) => ({
    integrationKey: t.duo.adminApi!.integrationKey,
    secretKey: t.duo.adminApi!.secretKey,
    name: `${TENANTS.find((known) => known.id === t.id)?.name ?? t.id} Admin API`,
  }));

  // The same CA at every start: a browser told to trust it (or to proceed) keeps doing so after a restart.
  const ca = await emulatorCa(dataDir);
  let emulator: DuoEmulator;
  try {
    emulator = await startDuoEmulator({
      applications: [...applications.values()],
      adminApplications,
      mode: 'interactive',
      host,
      port,
      certificateAuthority: ca.value,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new StartError(
        `the offline Duo emulator cannot listen on ${host}:${port} (${code === 'EADDRINUSE' ? 'already in use' : 'permission denied'}).\n` +
          `That address is the "apiHost" of ${emulatedTenants.map((t) => t.id).join(', ')} in ${displayPath(policyPath)}.\n` +
          `Stop whatever listens there (another "npm start" or "duo-mfa emulator"?), or change every such apiHost ` +
          `in the file to a free port, e.g. "127.0.0.1:8444".`,
      );
    }
    if (error instanceof TypeError)
      throw new StartError(`the emulator refused the policy's Duo credentials: ${error.message}`);
    throw error;
  }
  scriptDemoUsers(emulator);

  const caFile = ca.file ? join(dataDir, DATA_FILES.emulatorCaPem) : undefined;
  // Tenants on real Duo and on the emulator at once: trust the public roots (real Duo) and the emulator's CA.
  const tls = real.length > 0 ? { ca: [...rootCertificates, emulator.ca] } : { ca: emulator.ca };
  return {
    emulator,
    ca,
    caFile,
    tls,
    emulated: emulatedTenants.map((t) => t.id),
    adminApi: adminTenants.map((t) => t.id),
    real,
  };
}

async function connectRedis(url: string): Promise<Redis> {
  let where = url;
  try {
    const parsed = new URL(url);
    parsed.password = '';
    where = parsed.toString();
  } catch {
    throw new StartError(`REDIS_URL is not a URL (expected e.g. redis://127.0.0.1:6379)`);
  }
  // As the README recommends: fail fast while Redis is down (503 pages), recover by itself when it is back.
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  });
  let lastWarning = 0;
  let lastError: Error | undefined;
  let connected = false;
  redis.on('error', (error: Error) => {
    lastError = error;
    if (!connected || Date.now() - lastWarning < 10_000) return; // before start-up, the error below says it
    lastWarning = Date.now();
    logger.warn({ err: { message: error.message } }, `redis ${where}`);
  });
  try {
    await redis.connect();
    connected = true;
  } catch (error) {
    redis.disconnect();
    throw new StartError(
      `Redis at ${where} did not answer (${(lastError ?? (error as Error)).message}). Start Redis, or unset REDIS_URL to use the memory store.`,
    );
  }
  return redis;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new StartError(`port ${port} on 127.0.0.1 is already in use: try PORT=${port + 1} npm start`)
          : error,
      );
    });
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
}

/** The policy's default push-fatigue limit: the banner points out tenants that raise it. */
const DEFAULT_CHALLENGE_LIMIT = 5;

function printBanner(info: {
  baseUrl: string;
  policyPath: string;
  policy: CompiledPolicy;
  duo: DuoSetup;
  secret: Kept<string>;
  key: Kept<string>;
  redisUrl: string | undefined;
}): void {
  const { duo, secret, key } = info;
  const policyFile = displayPath(info.policyPath);
  const lines: string[] = ['', 'Staff Portal — the express-duo-mfa example', ''];
  lines.push(`  Open      ${info.baseUrl}`);
  if (duo.emulator) {
    const trust = duo.caFile
      ? `trust ${displayPath(duo.caFile)} (the same CA at every start, so this is needed once)`
      : 'trust the emulator CA (a new one at each start: the data directory cannot be written)';
    lines.push(
      `  Duo       offline emulator at ${duo.emulator.url} for ${duo.emulated.join(', ')} (interactive: enroll, Send me a Push, Approve / Deny / Report fraud)`,
      `            Your browser warns about its certificate: choose Advanced → Proceed, or ${trust}.`,
    );
    if (duo.adminApi.length > 0)
      lines.push(
        `            Admin API for ${duo.adminApi.join(', ')}: MFA Settings shows each person's Duo status, Send reactivation, Issue bypass code`,
      );
  }
  for (const { tenant, apiHost } of duo.real) lines.push(`  Duo       real Duo at ${apiHost} for ${tenant}`);
  lines.push(
    `  Policy    ${policyFile} — change it on Admin Tools → MFA Settings (as alice), or edit the file and watch the page update`,
  );
  for (const tenant of info.policy.tenants.values()) {
    if (tenant.challengeLimit > DEFAULT_CHALLENGE_LIMIT)
      lines.push(
        `            ${tenant.id}: challengeLimit ${tenant.challengeLimit} Duo prompts per person per 15 minutes (default ${DEFAULT_CHALLENGE_LIMIT}), so exploring does not lock anyone out`,
      );
  }
  lines.push(
    info.redisUrl
      ? `  Sessions  Redis (connect-redis + ioredis): they survive a restart`
      : `  Sessions  memory store, gone at each restart (REDIS_URL=redis://127.0.0.1:6379 npm start to keep them in Redis)`,
  );
  lines.push(`  Secret    ${secretLine(secret)}`);
  lines.push(`  Key       ${keyLine(key)}`);
  for (const note of [secret.note, key.note, duo.ca?.note]) if (note) lines.push(`            Note: ${note}`);
  lines.push('', `Demo logins — the password is ${DEMO_PASSWORD} for everyone:`, '');
  const rows = DEMO_LOGINS.map((login) => [
    TENANTS.find((t) => t.id === login.tenant)?.name ?? login.tenant,
    login.username,
    login.demonstrates,
  ]);
  const header = ['ORGANIZATION', 'USERNAME', 'WHAT IT SHOWS'];
  const widths = [0, 1].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) {
    lines.push(`  ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`);
  }
  if (duo.real.length > 0)
    lines.push('', '  (With real Duo, enrollment and device trust are whatever your Duo account says.)');
  lines.push(
    '',
    'Any of them can press Deny or Report fraud in the Duo prompt: the denied page, then a new sign-in. Stop with Ctrl+C.',
    '',
  );
  console.log(lines.join('\n'));
}

/** Where the session secret came from, in the banner's words. */
function secretLine(secret: Kept<string>): string {
  switch (secret.origin) {
    case 'environment':
      return 'SESSION_SECRET from the environment';
    case 'temporary':
      return 'random for this run only (sessions end at restart): the data directory cannot be written';
    default:
      return `development secret ${secret.origin === 'created' ? 'created in' : 'kept in'} ${displayPath(
        secret.file!,
      )} (0600, ignored by git; with the emulator's CA beside it): cookies stay valid across restarts. SESSION_SECRET overrides it.`;
  }
}

/** Where the secretsKey came from, in the banner's words. */
function keyLine(key: Kept<string>): string {
  switch (key.origin) {
    case 'environment':
      return 'DUO_MFA_SECRETS_KEY from the environment encrypts the Duo secrets saved on MFA Settings';
    case 'temporary':
      return 'a secretsKey for this run only encrypts the Duo secrets saved on MFA Settings (they cannot be opened after a restart): the data directory cannot be written';
    default:
      return `development secretsKey ${key.origin === 'created' ? 'created in' : 'kept in'} ${displayPath(
        key.file!,
      )} (0600, ignored by git): it encrypts the Duo secrets saved on MFA Settings. DUO_MFA_SECRETS_KEY overrides it; in production keep the key with your other secrets.`;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
