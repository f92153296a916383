// Child process: the app(s) under test on loopback ports, with CPU accounting and on-demand profiling. Each variant
// of the hot path gets a process of its own, so no variant shares JIT or heap state with another.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { Redis } from 'ioredis';
import type { DuoMfaMiddleware } from '../lib/index';
import { hostApp, mfaApp, type HostOptions, type MfaTiming } from './apps';
import { connectRedis, serveParent } from './common';
import { mountPlainDuo } from './plain-duo';
import { Profiler } from './profile';

export interface DuoSetup {
  readonly apiHost: string;
  readonly ca: string;
  /** Redis key prefix of this run. */
  readonly prefix: string;
}

/** One hot-path app: (a) express + express-session, or (b) the same plus duoMfa, with one session store. */
export interface HotApp extends DuoSetup {
  readonly store: 'memory' | 'redis';
  readonly withMfa: boolean;
  /** Without duoMfa: one middleware that only calls next() where duoMfa would be, as a floor for (b). */
  readonly layer?: boolean;
  /**
   * (a″)'s app in a process that also loads express-duo-mfa and makes the same duoMfa() instance as (b), but does
   * not mount it — what holding the library costs a process, apart from what the middleware does per request.
   */
  readonly loaded?: boolean;
}

/** Ports of the login apps: duoMfa, and the hand-written integration. */
export interface LoginPorts {
  readonly ours: number;
  readonly plain: number;
}

const servers: http.Server[] = [];
const middlewares: DuoMfaMiddleware[] = [];
const timings: MfaTiming[] = [];
const clients: Redis[] = [];
let profiler: Profiler | undefined;

/** Listens first, so the app can be built with its own origin as baseUrl (the redirect_uri Duo sends back to). */
async function listen(build: (baseUrl: string) => express.Express): Promise<number> {
  const server = http.createServer();
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  server.on('request', build(`http://127.0.0.1:${port}`));
  servers.push(server);
  return port;
}

async function redisClient(): Promise<Redis> {
  const client = await connectRedis();
  clients.push(client);
  return client;
}

/** Redis commands sent by each login app (sessions and the middleware's store alike), counted at the client. */
const commandCounts: Record<'ours' | 'plain', number> = { ours: 0, plain: 0 };

/** A Redis client whose every command (pipelined and scripted ones too) is counted for `variant`. */
async function countedClient(variant: 'ours' | 'plain'): Promise<Redis> {
  const client = await redisClient();
  const send = client.sendCommand.bind(client);
  client.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
    commandCounts[variant] += 1;
    return send(...args);
  };
  return client;
}

function withMfa(host: HostOptions, setup: DuoSetup) {
  return (baseUrl: string) => {
    const { app, mfa, timing } = mfaApp(host, { apiHost: setup.apiHost, ca: setup.ca, baseUrl });
    middlewares.push(mfa);
    timings.push(timing);
    return app;
  };
}

/** The cheapest middleware there is: what mounting any middleware at all costs express. */
function passOn(_req: express.Request, _res: express.Response, next: express.NextFunction): void {
  next();
}

serveParent({
  async hot(setup: HotApp): Promise<number> {
    const host: HostOptions = {
      prefix: setup.prefix,
      redis: setup.store === 'redis' ? await redisClient() : undefined,
    };
    if (setup.withMfa) return listen(withMfa(host, setup));
    if (setup.loaded) {
      return listen((baseUrl) => {
        withMfa(host, setup)(baseUrl); // made, kept (closed with the others), never mounted
        return hostApp(host, (app) => app.use(passOn));
      });
    }
    return listen(() => (setup.layer ? hostApp(host, (app) => app.use(passOn)) : hostApp(host)));
  },

  async login(setup: DuoSetup): Promise<LoginPorts> {
    const ours = await listen(
      withMfa({ prefix: `${setup.prefix}ours:`, redis: await countedClient('ours') }, setup),
    );
    const plainHost: HostOptions = { prefix: `${setup.prefix}plain:`, redis: await countedClient('plain') };
    const plain = await listen((baseUrl) =>
      hostApp(plainHost, (app) => mountPlainDuo(app, { apiHost: setup.apiHost, ca: setup.ca, baseUrl })),
    );
    return { ours, plain };
  },

  cpu(): NodeJS.CpuUsage {
    return process.cpuUsage();
  },

  /** Redis commands the login apps have sent so far, per variant. */
  redisCommands(): Record<'ours' | 'plain', number> {
    return { ...commandCounts };
  },

  /** Starts timing duoMfa in this process's apps, or stops and returns what was recorded. */
  mfaTiming({ on }: { on: boolean }): ReturnType<MfaTiming['take']> | undefined {
    for (const timing of timings) timing.on = on;
    return on ? undefined : timings[0]?.take();
  },

  async profileStart(): Promise<void> {
    profiler ??= new Profiler();
    await profiler.start();
  },

  async profileStop({ file }: { file: string }): Promise<void> {
    await profiler!.stop(file);
  },

  async close(): Promise<void> {
    for (const mfa of middlewares) mfa.close();
    await Promise.all(
      servers.map((server) => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
    await Promise.all(clients.map((client) => client.quit()));
  },
});
