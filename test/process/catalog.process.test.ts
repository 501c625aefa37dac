import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest, startServe } from '../support/monitor.js';
import { STDIO_SERVER, Started, httpInstance, runRegistered, untilGone, whoami } from '../support/mcp-instances.js';
import { tempRegistryDir, waitFor } from '../support/processes.js';

const started = new Started();
afterEach(() => started.stop());

interface CatalogEntry {
  identifier: string;
  displayName: string;
  mediaType: string;
  url: string;
}

async function fetchCatalog(base: string, init?: RequestInit): Promise<{ specVersion: string; entries: CatalogEntry[] }> {
  const res = await fetch(`${base}.well-known/mcp/catalog.json`, init);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return (await res.json()) as { specVersion: string; entries: CatalogEntry[] };
}

describe('serve: the MCP catalog of server cards (ADR 0023)', () => {
  it('lists each live instance with an HTTP endpoint; its card points at the live server; gone instances leave it', async () => {
    await using tmp = await tempRegistryDir();
    const { child, url } = await startServe(`json:${tmp.dir}`);
    started.children.push(child);
    const alpha = await httpInstance(started, tmp.dir, 'alpha', 'A');
    const beta = await httpInstance(started, tmp.dir, 'beta', 'B');
    // A stdio-only instance has no endpoint to point at: not in the catalog.
    await runRegistered(started, tmp.dir, ['--project', 'C', '--', process.execPath, STDIO_SERVER, 'gamma']);

    const catalog = await fetchCatalog(url);
    expect(catalog.specVersion).toBe('draft');
    const ids = [alpha, beta].map((s) => String(s.record['instance_id']));
    expect(catalog.entries.map((e) => e.identifier).sort()).toEqual(ids.map((id) => `urn:mcp:server:local.marcus/${id}`).sort());
    for (const server of [alpha, beta]) {
      const id = String(server.record['instance_id']);
      const entry = catalog.entries.find((e) => e.identifier.endsWith(`/${id}`)) as CatalogEntry;
      expect(entry.mediaType).toBe('application/mcp-server+json');
      const res = await fetch(entry.url, { headers: { accept: 'application/mcp-server+json' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/mcp-server+json; charset=utf-8');
      const card = (await res.json()) as { $schema: string; name: string; version: string; description: string; remotes: Array<{ type: string; url: string }> };
      expect(card.$schema).toBe('https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json');
      expect(`urn:mcp:server:${card.name}`).toBe(entry.identifier);
      expect(card.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
      expect(card.description.length).toBeGreaterThan(0);
      expect(card.description.length).toBeLessThanOrEqual(100);
      expect(card.remotes).toEqual([{ type: 'streamable-http', url: server.url }]);
      // The card leads a real MCP client to that very instance.
      const client = new Client({ name: 'catalog-test', version: '1.0.0' });
      started.clients.push(client);
      await client.connect(new StreamableHTTPClientTransport(new URL(card.remotes[0]?.url ?? '')));
      expect(await whoami(client)).toMatchObject({ pid: server.pid });
    }

    process.kill(alpha.pid, 'SIGKILL');
    await untilGone(alpha.pid);
    await waitFor(async () => (await fetchCatalog(url)).entries.length === 1);
    const goneCard = await fetch(`${url}v1/server-cards/${String(alpha.record['instance_id'])}`);
    expect(goneCard.status).toBe(404);
  });

  it('has the monitor’s security: a foreign Host is refused, and with a token the catalog needs it', async () => {
    await using tmp = await tempRegistryDir();
    const token = 'catalog-token-catalog-token';
    const { child, url } = await startServe(`json:${tmp.dir}`, ['--token', token]);
    started.children.push(child);
    await httpInstance(started, tmp.dir, 'alpha', 'A');
    expect((await rawRequest(`${url}.well-known/mcp/catalog.json`)).status).toBe(401);
    const forged = await rawRequest(`${url}.well-known/mcp/catalog.json`, { headers: { host: 'evil.example', authorization: `Bearer ${token}` } });
    expect(forged.status).toBe(403);
    const catalog = await fetchCatalog(url, { headers: { authorization: `Bearer ${token}` } });
    expect(catalog.entries).toHaveLength(1);
    // A catalog on loopback is not readable by any web page: no wildcard CORS.
    const res = await rawRequest(`${url}.well-known/mcp/catalog.json`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
