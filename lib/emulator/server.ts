// The emulator's HTTPS server: routing, request counting, injected faults (down, error, hang, slow), body
// limits, and a close() that leaves no socket or timer behind.

import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { FormParams, readBody } from './body';
import {
  AUTHORIZE_PATH,
  HEALTH_PATH,
  TOKEN_PATH,
  handleAuthorize,
  handleHealth,
  handleToken,
  type RequestContext,
} from './oauth';
import { PROMPT_PATH } from './pages';
import { advancePrompt, showPrompt } from './prompt';
import { jsonReply, send, textReply, type Reply } from './reply';
import type { EmulatorState } from './state';
import type { EmulatorEndpoint } from './types';

/** Delay of a `slow` fault when the fault sets none. */
export const DEFAULT_SLOW_MS = 2000;

export interface EmulatorServer {
  readonly server: https.Server;
  /** Resolves once the server is closed, every connection destroyed and every timer cleared. Idempotent. */
  readonly close: () => Promise<void>;
}

/**
 * Builds (does not start) the HTTPS server answering Duo's endpoints from `state`.
 *
 * @example
 * ```ts
 * const { server, close } = createEmulatorServer(state, { key: serverKey, cert: serverCert });
 * server.listen(0, '127.0.0.1');
 * await close();
 * ```
 */
export function createEmulatorServer(
  state: EmulatorState,
  tls: { key: string; cert: string },
): EmulatorServer {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  /** Runs `task` after `ms` unless the client leaves or the emulator closes first. */
  const later = (res: ServerResponse, ms: number, task: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      task();
    }, ms);
    timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const path = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : raw.slice(queryAt + 1));
    const method = req.method ?? 'GET';
    const endpoint = endpointFor(path);
    if (endpoint) state.count(endpoint);
    if (!endpoint && path !== PROMPT_PATH) return send(res, textReply(404, 'Not found'));

    let body: Buffer | undefined;
    if (method === 'POST') {
      const read = await readBody(req);
      if (!read.ok) {
        if (endpoint) state.record({ endpoint, outcome: `body_${read.reason}` });
        if (read.reason === 'too-large') {
          return send(res, textReply(413, 'Request body too large', { connection: 'close' }));
        }
        return void res.destroy();
      }
      body = read.body;
    }
    const context: RequestContext = {
      method,
      path,
      params: FormParams.parse(query, body, req.headers['content-type']),
      remoteAddress: normaliseAddress(req.socket.remoteAddress),
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
    };

    switch (endpoint) {
      case 'health':
        return withFault(res, 'health', () => handleHealth(state, context));
      case 'token':
        return withFault(res, 'token', () => handleToken(state, context));
      case 'authorize':
        return send(res, handleAuthorize(state, context));
      default:
        if (method === 'GET') return send(res, showPrompt(state, query.get('sid')));
        if (method === 'POST') return send(res, advancePrompt(state, context.params));
        return send(res, textReply(405, 'Method not allowed', { allow: 'GET, POST' }));
    }
  };

  /** Applies the health or token fault in force when the request arrived, then answers with `answer()`. */
  const withFault = (res: ServerResponse, endpoint: 'health' | 'token', answer: () => Reply): void => {
    const fault = state.fault;
    const kind = endpoint === 'health' ? fault?.health : fault?.token;
    switch (kind) {
      case 'down':
        state.record({ endpoint, outcome: 'fault:down' });
        return send(res, loadBalancerDown());
      case 'error':
        state.record({ endpoint, outcome: 'fault:error' });
        return send(
          res,
          endpoint === 'health'
            ? jsonReply(200, {
                stat: 'FAIL',
                code: 50000,
                message: 'Internal server error',
                message_detail: 'The Duo emulator is injecting a health check failure.',
                timestamp: state.nowSeconds(),
              })
            : jsonReply(500, {
                error: 'server_error',
                error_description: 'The Duo emulator is injecting a token endpoint failure.',
              }),
        );
      case 'refused':
        state.record({ endpoint, outcome: 'fault:refused' });
        return send(
          res,
          jsonReply(401, {
            stat: 'FAIL',
            code: 40002,
            message: 'invalid_client',
            message_detail: 'The provided client_assertion was invalid.',
            timestamp: state.nowSeconds(),
          }),
        );
      case 'hang':
        state.record({ endpoint, outcome: 'fault:hang' });
        return; // accepted, never answered: close() destroys the connection
      case 'slow':
        state.record({ endpoint, outcome: 'fault:slow' });
        return later(res, fault?.delayMs ?? DEFAULT_SLOW_MS, () => send(res, answer()));
      default:
        return send(res, answer());
    }
  };

  const server = https.createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, (req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    // Responses are dated by the emulator's clock, as a Duo whose clock differs from ours would date them.
    res.setHeader('date', new Date(state.now()).toUTCString());
    handle(req, res).catch(() => {
      // A bug, never bad input: answer something rather than leave the request open.
      if (!res.headersSent) send(res, textReply(500, 'Duo emulator internal error'));
      else res.destroy();
    });
  });
  // Raw TCP sockets, tracked from accept so even one stuck in the TLS handshake is destroyed by close().
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // libuv releases the listening handle in the close-callbacks phase that follows 'close': two check phases
      // later it is gone, so callers counting handles see none.
      server.close(() => setImmediate(() => setImmediate(resolve)));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });
    return closing;
  };

  return { server, close };
}

function endpointFor(path: string): EmulatorEndpoint | undefined {
  switch (path) {
    case HEALTH_PATH:
      return 'health';
    case AUTHORIZE_PATH:
      return 'authorize';
    case TOKEN_PATH:
      return 'token';
    default:
      return undefined;
  }
}

/** What a failing load balancer in front of Duo answers: not Duo's JSON at all. */
function loadBalancerDown(): Reply {
  return {
    status: 503,
    headers: { 'content-type': 'text/html', 'cache-control': 'no-store', 'retry-after': '30' },
    body: '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>',
  };
}

function normaliseAddress(address: string | undefined): string {
  if (!address) return '0.0.0.0';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
