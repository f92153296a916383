// A private redis-server child process on its own loopback port, which reliability tests stop, freeze and start
// again (the shared Redis on 6379 is never touched). Under CI=true a missing redis-server fails; locally it skips.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

/** The redis-server binary: $REDIS_SERVER_BIN, else /usr/bin/redis-server, else the first one on the PATH. */
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? findRedisServer();

function findRedisServer(): string {
  const candidates = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter)].map((dir) =>
    join(dir, 'redis-server'),
  );
  return candidates.find((path) => existsSync(path)) ?? '/usr/bin/redis-server';
}

/** A free loopback TCP port (asked from the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends PING over a raw socket; true when Redis answers +PONG within `timeoutMs`. */
export function pingRedis(port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One redis-server child process bound to 127.0.0.1:`port`, without persistence (a restart loses every key, as
 * a crashed cache would).
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderr = '';

  private constructor(readonly port: number) {}

  /** Starts a redis-server on a free port and waits until it answers PING. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port; resolves when it answers PING. */
  async start(): Promise<void> {
    if (this.child) return;
    this.stderr = '';
    const child = spawn(
      REDIS_SERVER_BIN,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        tmpdir(),
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child = child;
    // Never leave a redis-server behind when the test process ends early.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        process.off('exit', reap);
        resolve();
      }),
    );
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (!this.child) break;
      if (await pingRedis(this.port)) return;
      await sleep(25);
    }
    await this.stop();
    throw new Error(`redis-server did not start on port ${this.port}: ${this.stderr.trim()}`);
  }

  /** Stops the server (SIGTERM, SIGKILL after 3 s) and waits for the process to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT'); // a frozen server cannot handle SIGTERM
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(killer);
    this.child = undefined;
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Resumes a frozen server (SIGCONT). */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }
}

/**
 * Starts a private redis-server, or skips the suite when the binary is absent — except under CI=true, where a
 * missing redis-server is a failure, never a skip.
 */
export async function redisServerOrSkip(context: Mocha.Context): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER_BIN)) {
    if (process.env.CI === 'true') {
      throw new Error(`${REDIS_SERVER_BIN} is required under CI=true for the Redis fault tests`);
    }
    context.skip();
  }
  return RedisServer.start();
}

/** Client settings as the README recommends, with a retry strategy that never gives up (so it recovers). */
export const RESILIENT_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  commandTimeout: 1000,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  lazyConnect: true,
  retryStrategy: (times: number) => Math.min(50 * times, 250),
};

/** An ioredis client configured as the README recommends, connected to `port`. */
export async function resilientRedis(port: number, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(port, '127.0.0.1', { ...RESILIENT_REDIS_OPTIONS, ...options });
  client.on('error', () => undefined); // outages are reported through the failed commands
  await client.connect();
  return client;
}

/** Resolves when `client` is ready again (after an outage), or rejects after `timeoutMs`. */
export async function waitReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (client.status === 'ready') {
      try {
        if ((await client.ping()) === 'PONG') return;
      } catch {
        // not yet
      }
    }
    await sleep(25);
  }
  throw new Error(`ioredis did not recover within ${timeoutMs} ms (status ${client.status})`);
}
