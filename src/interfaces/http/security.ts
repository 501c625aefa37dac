import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { IncomingMessage } from 'node:http';
import type { BindAddress } from './monitor-options.js';

/**
 * Headers on every response. No Access-Control-* header is ever sent: other
 * origins cannot read anything, and preflights are refused (405).
 * Scripts and styles come only from this origin (/app.js, /app.css): no inline
 * script or style is allowed, so injected markup could not run even if some
 * record text escaped its text node.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * The Host header values a request may carry (lower case, with the port):
 * the bound address and, on 127.0.0.1 / ::1, `localhost`. This is the defence
 * against DNS rebinding: a page of evil.example whose name was re-pointed at
 * 127.0.0.1 reaches the port, but its requests say `Host: evil.example:PORT`.
 * Bound to a wildcard (0.0.0.0, ::; only with a token), the machine's own
 * interface addresses and host name are allowed.
 */
export function allowedHosts(bind: BindAddress, port: number): ReadonlySet<string> {
  const names = new Set<string>();
  const add = (name: string) => {
    const host = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
    names.add(`${host.toLowerCase()}:${port}`);
    if (port === 80) names.add(host.toLowerCase());
  };
  add(bind.urlHost);
  add(bind.address);
  if (bind.address === '127.0.0.1' || bind.address === '::1') add('localhost');
  if (bind.kind === 'wildcard') {
    for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) add(a.address);
    add('localhost');
    add(hostname());
  }
  return names;
}

export function hostAllowed(request: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const host = request.headers.host;
  return typeof host === 'string' && allowed.has(host.toLowerCase());
}

/**
 * A browser sends Origin on cross-origin requests (and on some same-origin
 * ones); when present it must be this server's own origin.
 */
export function originAllowed(request: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const match = /^http:\/\/(.+)$/i.exec(origin);
  return match !== null && allowed.has((match[1] as string).toLowerCase());
}

/**
 * `Authorization: Bearer <token>`, or `Basic` with the token as the password
 * (what a browser sends after its login prompt, also on EventSource requests).
 * Compared in constant time (hashes of equal length).
 */
export function authorized(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return false;
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  let given: string;
  if (scheme.toLowerCase() === 'bearer') given = value;
  else if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return false;
    given = decoded.slice(colon + 1);
  } else return false;
  return timingSafeEqual(digest(given), digest(token));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
