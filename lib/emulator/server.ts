// The emulator's HTTPS server: an Express app routing Duo's endpoints, counting requests, parsing bodies with
// Express's own parsers, injecting faults (down, error, hang, slow), and a close() that leaves no socket or timer.

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import https from 'node:https';
import type { Socket } from 'node:net';
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
import { FormParams, MAX_BODY_BYTES } from './params';
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

/** Mounts extra routes (the Admin API, activation links) before the 404. */
export type RouteInstaller = (app: express.Express) => void;

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
  installers: readonly RouteInstaller[] = [],
): EmulatorServer {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  /** Runs `task` after `ms` unless the client leaves or the emulator closes first. */
  const later = (res: Response, ms: number, task: () => void) => {
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

  /** Applies the health or token fault in force when the request arrived, then answers with `answer()`. */
  const withFault = async (
    res: Response,
    endpoint: 'health' | 'token',
    answer: () => Promise<Reply>,
  ): Promise<void> => {
    const fault = state.fault;
    const kind = endpoint === 'health' ? fault?.health : fault?.token;
    switch (kind) {
      case 'down':
        state.record({ endpoint, outcome: 'fault:down' });
        return send(res, loadBalancerDown());
      case 'error':
        state.record({ endpoint, outcome: 'fault:error' });
        return send(res, injectedError(state, endpoint));
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
        // Answered as of when the delay ends (a code may expire meanwhile), as a slow Duo would.
        return later(res, fault?.delayMs ?? DEFAULT_SLOW_MS, () => {
          answer().then(
            (reply) => send(res, reply),
            () => send(res, textReply(500, 'Duo emulator internal error')),
          );
        });
      default:
        return send(res, await answer());
    }
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  app.use((req, res, next) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    // Responses are dated by the emulator's clock, as a Duo whose clock differs from ours would date them.
    res.setHeader('date', new Date(state.now()).toUTCString());
    const endpoint = endpointFor(req.path);
    if (endpoint) state.count(endpoint);
    next();
  });

  const body = readBody(state);
  app.all(
    HEALTH_PATH,
    body,
    handle(async (req, res) =>
      withFault(res, 'health', async () => handleHealth(state, await requestContext(req))),
    ),
  );
  app.all(
    TOKEN_PATH,
    body,
    handle(async (req, res) =>
      withFault(res, 'token', async () => handleToken(state, await requestContext(req))),
    ),
  );
  app.all(
    AUTHORIZE_PATH,
    body,
    handle(async (req, res) => send(res, await handleAuthorize(state, await requestContext(req)))),
  );
  app.all(
    PROMPT_PATH,
    body,
    handle(async (req, res) => {
      const context = await requestContext(req);
      if (req.method === 'GET') return send(res, showPrompt(state, context.params.get('sid')));
      if (req.method === 'POST') return send(res, advancePrompt(state, context.params));
      return send(res, textReply(405, 'Method not allowed', { allow: 'GET, POST' }));
    }),
  );
  for (const install of installers) install(app);

  app.use((_req, res) => send(res, textReply(404, 'Not found')));
  app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // A bug, never bad input: answer something rather than leave the request open.
    if (!res.headersSent) send(res, textReply(500, 'Duo emulator internal error'));
    else res.destroy();
  });

  const server = https.createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, app);
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

/**
 * The parsed request as handlers see it: parameters from the query and the body, the browser's address and
 * User-Agent (reported as the access device).
 *
 * @example
 * ```ts
 * const context = await requestContext(req);
 * context.params.get('client_id');
 * ```
 */
export async function requestContext(req: Request): Promise<RequestContext> {
  return {
    method: req.method,
    path: req.path,
    params: await FormParams.fromRequest(req),
    remoteAddress: normaliseAddress(req.socket.remoteAddress),
    userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
  };
}

/**
 * Reads a POST body with Express's parsers, capped at 64 KB: urlencoded into `req.body`, multipart kept as bytes
 * for the platform's parser, anything else read (so the cap applies) and ignored. Too large → 413 and the
 * connection closed; a broken upload → the connection dropped; an unsupported charset or encoding → no body.
 *
 * @example
 * ```ts
 * app.all('/oauth/v1/token', readBody(state), tokenHandler);
 * ```
 */
export function readBody(state: EmulatorState): RequestHandler {
  const parsers: RequestHandler[] = [
    express.urlencoded({ extended: false, limit: MAX_BODY_BYTES, parameterLimit: 1000 }),
    express.raw({ type: 'multipart/form-data', limit: MAX_BODY_BYTES }),
    express.raw({ type: () => true, limit: MAX_BODY_BYTES }),
  ];
  return (req, res, next) => {
    const endpoint = endpointFor(req.path);
    const run = (index: number): void => {
      const parser = parsers[index];
      if (!parser) return next();
      void parser(req, res, (error?: unknown) => {
        if (error === undefined || error === null || error === 'route' || error === 'router')
          return run(index + 1);
        const type = (error as { type?: unknown }).type;
        if (type === 'entity.too.large' || type === 'parameters.too.many') {
          if (endpoint) state.record({ endpoint, outcome: 'body_too-large' });
          return send(res, textReply(413, 'Request body too large', { connection: 'close' }));
        }
        if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') {
          if (endpoint) state.record({ endpoint, outcome: 'body_aborted' });
          return void res.destroy();
        }
        // An encoding or charset the parsers do not read: carry on as if no body had been sent.
        req.body = undefined;
        return run(index + 1);
      });
    };
    run(0);
  };
}

/** Wraps an async handler so a rejection becomes the app's 500, never an unhandled rejection. */
function handle(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}

function endpointFor(path: string): Exclude<EmulatorEndpoint, 'admin'> | undefined {
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

function injectedError(state: EmulatorState, endpoint: 'health' | 'token'): Reply {
  return endpoint === 'health'
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
      });
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
