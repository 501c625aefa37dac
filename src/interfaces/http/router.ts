import type { IncomingMessage, ServerResponse } from 'node:http';
import { CARD_PREFIX, CATALOG_PATH, card, catalog } from './catalog.js';
import type { MonitorContext } from './context.js';
import { healthz, metrics, preferred, service, services } from './handlers.js';
import { APP_CSS, APP_JS, PAGE_HTML } from './page.js';
import { HttpError, send, sendError, statusOf } from './responses.js';
import { authorized, hostAllowed, originAllowed } from './security.js';
import { events } from './sse.js';

type Handler = (ctx: MonitorContext, req: IncomingMessage, res: ServerResponse, url: URL, param: string) => Promise<number>;

interface Route {
  /** A label for metrics: the pattern, never the raw path. */
  readonly name: string;
  readonly match: (path: string) => string | undefined;
  readonly handle: Handler;
}

const exact = (path: string) => (p: string) => (p === path ? '' : undefined);
const SERVICE_PREFIX = '/v1/services/';
/** `/v1/services/id/<id>`: always the instance of that id, even one named `preferred` (ids never hold a `/`). */
const SERVICE_BY_ID_PREFIX = '/v1/services/id/';

const staticFile =
  (contentType: string, body: string): Handler =>
  (_ctx, _req, res, url) => {
    if (url.search !== '') throw new HttpError(400, 'INVALID_QUERY', 'this resource takes no query parameters');
    send(res, 200, contentType, body);
    return Promise.resolve(200);
  };

/**
 * Read-only: GET (and HEAD) only. `/v1/services/preferred` comes before
 * `/v1/services/:id`; `/v1/services/id/:id` names any instance, `preferred` included.
 */
const ROUTES: readonly Route[] = [
  { name: '/', match: exact('/'), handle: staticFile('text/html; charset=utf-8', PAGE_HTML) },
  { name: '/app.js', match: exact('/app.js'), handle: staticFile('text/javascript; charset=utf-8', APP_JS) },
  { name: '/app.css', match: exact('/app.css'), handle: staticFile('text/css; charset=utf-8', APP_CSS) },
  { name: '/healthz', match: exact('/healthz'), handle: (ctx, _req, res, url) => healthz(ctx, res, url) },
  { name: '/metrics', match: exact('/metrics'), handle: (ctx, _req, res, url) => metrics(ctx, res, url) },
  { name: '/v1/services', match: exact('/v1/services'), handle: (ctx, _req, res, url) => services(ctx, res, url) },
  { name: '/v1/services/preferred', match: exact('/v1/services/preferred'), handle: (ctx, _req, res, url) => preferred(ctx, res, url) },
  {
    name: '/v1/services/id/:id',
    match: (p) => (p.startsWith(SERVICE_BY_ID_PREFIX) && p.length > SERVICE_BY_ID_PREFIX.length ? p.slice(SERVICE_BY_ID_PREFIX.length) : undefined),
    handle: (ctx, _req, res, url, id) => service(ctx, res, url, decodePathSegment(id)),
  },
  {
    name: '/v1/services/:id',
    match: (p) => (p.startsWith(SERVICE_PREFIX) && p.length > SERVICE_PREFIX.length ? p.slice(SERVICE_PREFIX.length) : undefined),
    handle: (ctx, _req, res, url, id) => service(ctx, res, url, decodePathSegment(id)),
  },
  { name: '/v1/events', match: exact('/v1/events'), handle: (ctx, req, res, url) => events(ctx, req, res, url) },
  // MCP catalog discovery (ADR 0023): the catalog at its well-known path, and the cards it points at.
  { name: CATALOG_PATH, match: exact(CATALOG_PATH), handle: (ctx, req, res, url) => catalog(ctx, req, res, url) },
  {
    name: `${CARD_PREFIX}:id`,
    match: (p) => (p.startsWith(CARD_PREFIX) && p.length > CARD_PREFIX.length ? p.slice(CARD_PREFIX.length) : undefined),
    handle: (ctx, _req, res, url, id) => card(ctx, res, url, decodePathSegment(id)),
  },
];

/**
 * Every request, in this order: the Host (and Origin) must name this server
 * (403), the method must be GET or HEAD (405, also for CORS preflights), the
 * token must match when one is set (401), then the route (404).
 */
export function createRouter(ctx: MonitorContext, allowedHosts: ReadonlySet<string>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let routeName = 'unmatched';
    const answer = async (): Promise<number> => {
      if (!hostAllowed(req, allowedHosts)) throw new HttpError(403, 'HOST_NOT_ALLOWED', `Host ${JSON.stringify(req.headers.host ?? '')} is not this server's address`);
      if (!originAllowed(req, allowedHosts)) throw new HttpError(403, 'ORIGIN_NOT_ALLOWED', `Origin ${JSON.stringify(req.headers.origin)} is not this server`);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method ?? '?'} is not allowed: this server is read-only (GET, HEAD)`, { allow: 'GET, HEAD' });
      }
      if (ctx.config.token !== undefined && !authorized(req, ctx.config.token)) {
        throw new HttpError(401, 'UNAUTHORIZED', 'a valid Authorization: Bearer <token> is required', { 'www-authenticate': 'Bearer, Basic realm="marcus-registry", charset="UTF-8"' });
      }
      const target = req.url ?? '/';
      if (!target.startsWith('/')) throw new HttpError(400, 'BAD_REQUEST_TARGET', 'the request target must be a path');
      const url = new URL(`http://monitor.invalid${target}`);
      for (const route of ROUTES) {
        const param = route.match(url.pathname);
        if (param === undefined) continue;
        routeName = route.name;
        return route.handle(ctx, req, res, url, param);
      }
      throw new HttpError(404, 'NO_SUCH_ROUTE', `no such resource: ${url.pathname}`);
    };
    answer().then(
      (status) => ctx.metrics.request(routeName, status),
      (error: unknown) => {
        sendError(res, error);
        ctx.metrics.request(routeName, statusOf(error));
      },
    );
  };
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'INVALID_INSTANCE_ID', 'the instance id is not valid percent-encoding');
  }
}
