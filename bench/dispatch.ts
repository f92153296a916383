// npx tsx bench/dispatch.ts: what it costs to send every request of a host app through an Express Router to find
// duoMfa's two routes, against comparing the path with them. Why lib/middleware/index.ts uses the Router only for
// its own paths. Prints ns per request, variants alternating; no pass/fail.

import { Router, type NextFunction, type Request, type Response } from 'express';
import { median } from './common';

const START = '/duo/start';
const CALLBACK = '/duo/callback';
const passOn = (_req: Request, _res: Response, next: NextFunction) => next();

const router = Router({ caseSensitive: true, strict: true });
router.get(START, passOn);
router.all(CALLBACK, passOn);
router.use(passOn);

const routes = Router({ caseSensitive: true, strict: true });
routes.get(START, passOn);
routes.all(CALLBACK, passOn);

type Handler = (req: Request, res: Response, next: NextFunction) => void;
const variants: Record<string, Handler> = {
  'everything through a Router': (req, res, next) => router(req, res, next),
  'path compared, Router for our paths only': (req, res, next) => {
    const path = req.path;
    if (path === START || path === CALLBACK) return routes(req, res, next);
    passOn(req, res, next);
  },
};

/** A request as Express hands it on (the fields a Router reads), for a host route. */
function hostRequest(): Request {
  return {
    url: '/reports/2026?tab=1',
    originalUrl: '/reports/2026?tab=1',
    path: '/reports/2026',
    method: 'GET',
    baseUrl: '',
    params: {},
  } as unknown as Request;
}

function measure(handler: Handler, calls: number): number {
  const res = {} as Response;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) handler(hostRequest(), res, () => undefined);
  return Number(process.hrtime.bigint() - started) / calls;
}

const results = new Map<string, number[]>(Object.keys(variants).map((name) => [name, []]));
for (const handler of Object.values(variants)) measure(handler, 50_000); // warm-up
for (let round = 0; round < 5; round++) {
  for (const [name, handler] of Object.entries(variants)) results.get(name)!.push(measure(handler, 200_000));
}
for (const [name, rounds] of results) {
  console.log(
    `${name.padEnd(44)} ${median(rounds).toFixed(0).padStart(6)} ns/request (median of ${rounds.length})`,
  );
}
