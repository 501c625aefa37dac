import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceRecord } from '../../domain/record.schema.js';
import type { MonitorContext } from './context.js';
import { instanceIdOf, queryOf } from './query.js';
import { HttpError, send, safeJson } from './responses.js';

/**
 * MCP catalog discovery (ADR 0023), in the shape of the MCP Server Card
 * proposal (SEP-2127, modelcontextprotocol/experimental-ext-server-card,
 * docs/discovery.md and schema.ts): an MCP Catalog at the well-known path
 * listing one Server Card per live instance that has an HTTP endpoint, each
 * card served by this monitor.
 */
export const CATALOG_PATH = '/.well-known/mcp/catalog.json';
/** Where this monitor serves the card of instance :id (a card may live at any unreserved URI). */
export const CARD_PREFIX = '/v1/server-cards/';

const CARD_MEDIA_TYPE = 'application/mcp-server+json';
const CARD_SCHEMA = 'https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json';
/** The reverse-DNS namespace of the cards' names: local Marcus instances, not a published server. */
const NAMESPACE = 'local.marcus';
/** A live list: clients must not keep it (the proposal's hour-long cache is for static catalogs). */
const NO_CACHE = { 'cache-control': 'no-cache' } as const;

export interface ServerCard {
  readonly $schema: string;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly title: string;
  readonly remotes: ReadonlyArray<{ readonly type: 'streamable-http' | 'sse'; readonly url: string }>;
  readonly _meta: Record<string, unknown>;
}

/** The card of one instance, or undefined when it has no HTTP endpoint to point at. */
export function serverCard(ctx: MonitorContext, record: ServiceRecord): ServerCard | undefined {
  let remote: { type: 'streamable-http' | 'sse'; url: string };
  try {
    const connection = ctx.registry.connectionFor(record);
    if (connection.kind !== 'http') return undefined;
    remote = { type: connection.transport, url: connection.url };
  } catch {
    return undefined; // no usable endpoint (a bad mcp_url, a stdio-only record of another host)
  }
  const project = typeof record.project_name === 'string' && record.project_name !== '' ? record.project_name : undefined;
  const version = (record as Record<string, unknown>)['version'];
  const about = `Marcus${project ? ` for project ${project}` : ''}, pid ${String(record.pid)}${typeof record.hostname === 'string' ? ` on ${record.hostname}` : ''}`;
  return {
    $schema: CARD_SCHEMA,
    name: `${NAMESPACE}/${record.instance_id}`,
    version: typeof version === 'string' && version !== '' ? version.slice(0, 255) : 'unknown',
    description: about.slice(0, 100),
    title: `Marcus ${project ?? record.instance_id}`.slice(0, 100),
    remotes: [remote],
    _meta: {
      'marcus-registry/instance': {
        instance_id: record.instance_id,
        pid: record.pid,
        ...(project !== undefined && { project_name: project }),
        ...(typeof record.provider === 'string' && { provider: record.provider }),
        started_at: record.started_at,
      },
    },
  };
}

/** GET /.well-known/mcp/catalog.json: `{ specVersion: 'draft', entries: [...] }`, one entry per live HTTP instance. */
export async function catalog(ctx: MonitorContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
  queryOf(url, []);
  const base = `http://${req.headers.host ?? '127.0.0.1'}`;
  const entries = [];
  for (const record of await ctx.registry.discover()) {
    const card = serverCard(ctx, record);
    if (!card) continue;
    entries.push({
      identifier: `urn:mcp:server:${card.name}`,
      displayName: card.title,
      mediaType: CARD_MEDIA_TYPE,
      url: `${base}${CARD_PREFIX}${encodeURIComponent(record.instance_id)}`,
    });
  }
  send(res, 200, 'application/json; charset=utf-8', `${safeJson({ specVersion: 'draft', entries })}\n`, NO_CACHE);
  return 200;
}

/** GET /v1/server-cards/:id: the card of a live instance with an HTTP endpoint, as application/mcp-server+json. */
export async function card(ctx: MonitorContext, res: ServerResponse, url: URL, rawId: string): Promise<number> {
  queryOf(url, []);
  const id = instanceIdOf(rawId);
  const entry = await ctx.registry.get(id);
  const found = entry && entry.health !== 'stale' ? serverCard(ctx, entry.record) : undefined;
  if (!found) throw new HttpError(404, 'NOT_FOUND', `no live instance ${id} with an HTTP endpoint`);
  send(res, 200, `${CARD_MEDIA_TYPE}; charset=utf-8`, `${safeJson(found)}\n`, NO_CACHE);
  return 200;
}
