// Child process: the HTTP load generator (autocannon), one connection per session cookie, on loopback.

import { createRequire } from 'node:module';
import { cpuMicros, serveParent } from './common';

interface AutocannonClient {
  setHeaders(headers: Record<string, string>): void;
}

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  setupClient: (client: AutocannonClient) => void;
}) => Promise<AutocannonResult>;

const autocannon = createRequire(__filename)('autocannon') as Autocannon; // ships no types

export interface LoadRequest {
  readonly url: string;
  /** One cookie per connection: every connection is its own signed-in browser. */
  readonly cookies: readonly string[];
  readonly seconds: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latency in ms. */
  readonly p50: number;
  readonly p99: number;
  /** Errors, timeouts and answers other than 2xx: any of them spoils the round. */
  readonly failures: number;
  /** CPU used by this load generator, as a share of one core. */
  readonly loaderCpu: number;
}

serveParent({
  async run(request: LoadRequest): Promise<LoadResult> {
    let next = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const result = await autocannon({
      url: request.url,
      connections: request.cookies.length,
      duration: request.seconds,
      pipelining: 1,
      setupClient: (client) =>
        client.setHeaders({ cookie: request.cookies[next++ % request.cookies.length]! }),
    });
    const wall = (performance.now() - started) * 1000;
    return {
      requests: result.requests.total,
      seconds: result.duration,
      rps: result.requests.total / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      failures: result.errors + result.timeouts + result.non2xx,
      loaderCpu: cpuMicros(cpuBefore, process.cpuUsage()) / wall,
    };
  },
});
