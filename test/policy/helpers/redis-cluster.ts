// A private three-node Redis Cluster on free loopback ports, for the Cluster test of the Redis policy source.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, pingRedis, REDIS_SERVER_BIN } from '../../reliability/helpers/redis-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Three redis-server processes in cluster mode, the 16,384 slots split between them, no replicas. */
export class RedisCluster {
  private constructor(
    readonly ports: readonly number[],
    private readonly children: readonly ChildProcess[],
    private readonly dir: string,
  ) {}

  /** Starts the nodes, assigns the slots, introduces the nodes to each other; resolves once the cluster is ok. */
  static async start(): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'duo-mfa-cluster-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const children = ports.map((port) => {
      const child = spawn(
        REDIS_SERVER_BIN,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--loglevel',
          'warning',
        ],
        { stdio: 'ignore' },
      );
      process.once('exit', () => child.kill('SIGKILL'));
      return child;
    });
    const cluster = new RedisCluster(ports, children, dir);
    try {
      for (const port of ports) {
        const deadline = Date.now() + 5000;
        while (!(await pingRedis(port))) {
          if (Date.now() > deadline) throw new Error(`cluster node ${port} did not start`);
          await sleep(20);
        }
      }
      const clients = ports.map((port) => new Redis(port, '127.0.0.1', { lazyConnect: false }));
      try {
        const share = Math.ceil(16384 / ports.length);
        await Promise.all(
          clients.map((client, index) =>
            client.call(
              'CLUSTER',
              'ADDSLOTSRANGE',
              String(index * share),
              String(Math.min(16383, (index + 1) * share - 1)),
            ),
          ),
        );
        for (const port of ports.slice(1))
          await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(port));
        const deadline = Date.now() + 15_000;
        for (;;) {
          const states = await Promise.all(
            clients.map((client) => client.call('CLUSTER', 'INFO') as Promise<string>),
          );
          if (
            states.every(
              (state) => state.includes('cluster_state:ok') && state.includes('cluster_known_nodes:3'),
            )
          )
            break;
          if (Date.now() > deadline) throw new Error('the cluster did not become ok within 15 s');
          await sleep(50);
        }
      } finally {
        for (const client of clients) client.disconnect();
      }
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Stops every node and removes their files. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** True when a redis-server binary is there to start a cluster with. */
export function canStartCluster(): boolean {
  return existsSync(REDIS_SERVER_BIN);
}
