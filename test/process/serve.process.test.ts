import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegistryEvent } from '../../src/domain/changes.js';
import { EventStream, parsePrometheus, rawRequest, startServe, stopChildren, stopServe } from '../support/monitor.js';
import { CLI, Child, cli, tempRegistryDir, waitFor } from '../support/processes.js';

/**
 * `marcus-registry serve` as a user runs it: a real process, real HTTP (fetch,
 * and node:http where a forged Host or Origin is needed), real registrants
 * (`marcus-registry run -- sleep …`) in other processes. Every server binds 127.0.0.1.
 */
const children: Child[] = [];
afterEach(() => stopChildren(children));

async function serve(store: string, args: readonly string[] = [], env: Record<string, string> = {}) {
  const started = await startServe(store, args, env);
  children.push(started.child);
  return started;
}

/**
 * A registered `sleep 60` under `run`, until SIGTERM. Heartbeats every 2 s: healthy for 6 s after the last
 * one (a 500 ms beat, fsynced, left a loaded machine 1.5 s before the instance read as heartbeat-missed).
 */
async function registrant(store: string, id: string, args: readonly string[] = []): Promise<Child> {
  const child = new Child(process.execPath, [CLI, '--store', store, 'run', '--instance-id', id, '--heartbeat', '2000', ...args, '--', 'sleep', '60']);
  children.push(child);
  await waitFor(async () => (await cli(['--store', store, 'show', id])).code === 0, { message: () => `${id} never registered: ${child.stderrText}` });
  return child;
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
}

const TOKEN = 'correct-horse-battery-staple';

describe('marcus-registry serve (a real process)', () => {
  it('answers healthz, services with filters, one service, preferred, and 404/400/405 as JSON', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const { child, url } = await serve(store);
    const alpha = await registrant(store, 'marcus_alpha', ['--project', 'alpha', '--provider', 'github', '--capability', 'kanban']);
    await registrant(store, 'marcus_beta', ['--project', 'beta', '--provider', 'linear']);

    const health = await json(`${url}healthz`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', store: 'json', location: tmp.dir });
    expect(health.headers.get('content-type')).toBe('application/json; charset=utf-8');

    const all = await json(`${url}v1/services`);
    expect(all.status).toBe(200);
    const entries = all.body['services'] as Array<{ health: string; record: Record<string, unknown> }>;
    expect(entries.map((e) => e.record['instance_id'])).toEqual(['marcus_alpha', 'marcus_beta']);
    expect(entries.every((e) => e.health === 'healthy')).toBe(true);
    // The record exactly as `list --records` (the on-disk keys) gives it.
    const listed = JSON.parse((await cli(['--store', store, 'list', '--records'])).stdout) as Array<Record<string, unknown>>;
    expect(entries[0]?.record).toEqual({ ...listed[0], last_heartbeat: entries[0]?.record['last_heartbeat'] });
    expect(entries[0]?.record['pid']).toBe(listed[0]?.['pid']);

    for (const [query, expected] of [
      ['project=alpha', ['marcus_alpha']],
      ['provider=linear', ['marcus_beta']],
      ['capability=kanban', ['marcus_alpha']],
      ['status=running&project=beta', ['marcus_beta']],
      ['project=gamma', []],
      ['all=1', ['marcus_alpha', 'marcus_beta']],
    ] as const) {
      const filtered = await json(`${url}v1/services?${query}`);
      expect(filtered.status, query).toBe(200);
      expect((filtered.body['services'] as Array<{ record: { instance_id: string } }>).map((e) => e.record.instance_id), query).toEqual(expected);
    }
    expect((await json(`${url}v1/services?projet=alpha`)).body).toMatchObject({ error: { code: 'INVALID_QUERY' } });

    const one = await json(`${url}v1/services/marcus_alpha`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ health: 'healthy', record: { instance_id: 'marcus_alpha', project_name: 'alpha', provider: 'github', pid: expect.any(Number) } });
    expect((one.body['record'] as { pid: number }).pid).not.toBe(alpha.pid); // the child's (sleep's) pid, not run's

    const absent = await json(`${url}v1/services/marcus_nobody`);
    expect(absent.status).toBe(404);
    expect(absent.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const invalid = await json(`${url}v1/services/..%2F..%2Fetc`);
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ error: { code: 'INVALID_INSTANCE_ID' } });

    const preferredBeta = await json(`${url}v1/services/preferred?project=beta`);
    expect(preferredBeta.status).toBe(200);
    expect(preferredBeta.body).toMatchObject({ health: 'healthy', record: { instance_id: 'marcus_beta' } });
    const pinned = await json(`${url}v1/services/preferred?instance=marcus_alpha`);
    expect(pinned.body).toMatchObject({ record: { instance_id: 'marcus_alpha' } });
    // As the CLI's --instance: that instance or none, never another one.
    expect((await json(`${url}v1/services/preferred?instance=marcus_absent`)).status).toBe(404);
    const none = await json(`${url}v1/services/preferred?provider=nobody`);
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({ error: { code: 'NO_MATCHING_INSTANCE' } });

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const refused = await json(`${url}v1/services/marcus_alpha`, { method });
      expect(refused.status, method).toBe(405);
      expect(refused.headers.get('allow')).toBe('GET, HEAD');
    }
    expect((await json(`${url}nothing-here`)).status).toBe(404);
    // Both registrants are still registered: nothing above wrote to the store.
    expect((await cli(['--store', store, 'list', '--records'])).stdout).toContain('marcus_beta');
    await stopServe(child, 'SIGTERM');
  });

  it('sends its security headers, and no CORS header at all; a preflight is refused', async () => {
    await using tmp = await tempRegistryDir();
    const { child, url } = await serve(`json:${tmp.dir}`);
    for (const path of ['', 'app.js', 'app.css', 'healthz', 'v1/services', 'metrics', 'nothing']) {
      const res = await rawRequest(`${url}${path}`);
      expect(res.headers['content-security-policy'], path).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
      expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
    const preflight = await rawRequest(`${url}v1/services`, {
      method: 'OPTIONS',
      headers: { origin: `${url.slice(0, -1)}`, 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(405);
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    // A page of another origin may send a simple GET; it is refused (and could not read the answer anyway).
    const crossOrigin = await rawRequest(`${url}v1/services`, { headers: { origin: 'http://evil.example' } });
    expect(crossOrigin.status).toBe(403);
    expect(JSON.parse(crossOrigin.body)).toMatchObject({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
    await stopServe(child);
  });

  it('rejects a forged Host header (DNS rebinding) and accepts its own address and localhost', async () => {
    await using tmp = await tempRegistryDir();
    const { child, url } = await serve(`json:${tmp.dir}`);
    const port = new URL(url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${Number(port) + 1}`, `127.0.0.2:${port}`, `localhost.evil.example:${port}`]) {
      const res = await rawRequest(`${url}v1/services`, { headers: { host } });
      expect(res.status, host).toBe(403);
      expect(JSON.parse(res.body), host).toMatchObject({ error: { code: 'HOST_NOT_ALLOWED' } });
      expect(res.body).not.toContain('"services"');
    }
    // No Host at all (HTTP/1.0 allows it) is refused too.
    const bare = await rawExchange(Number(port), 'GET /v1/services HTTP/1.0\r\n\r\n');
    expect(bare).toMatch(/^HTTP\/1\.1 403 /);
    expect(bare).toContain('HOST_NOT_ALLOWED');
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      expect((await rawRequest(`${url}healthz`, { headers: { host } })).status, host).toBe(200);
    }
    await stopServe(child);
  });

  it('refuses unsafe or bad flags at start-up with exit 2, before listening', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const cases: Array<[string[], RegExp]> = [
      [['--host', '0.0.0.0'], /not a loopback address.*--allow-remote/],
      [['--host', '0.0.0.0', '--allow-remote'], /needs a token/],
      [['--host', '192.0.2.1', '--allow-remote'], /needs a token/],
      [['--host', '::', '--allow-remote', '--token', 'short'], /at least 16 characters/],
      [['--host', 'example.com'], /must be an IP address or localhost/],
      [['--port', '70000'], /--port must be an integer from 0 to 65535/],
      [['--port', 'abc'], /--port must be an integer/],
      [['--bogus'], /unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(['--store', store, 'serve', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stdout).not.toContain('serving');
    }
    // The environment's token counts, but a remote bind still needs --allow-remote.
    const env = await cli(['--store', store, 'serve', '--host', '0.0.0.0'], { MARCUS_REGISTRY_TOKEN: TOKEN });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/--allow-remote/);
  });

  it('with a token, every request needs it (Bearer, or Basic for browsers), compared exactly', async () => {
    await using tmp = await tempRegistryDir();
    const { child, url } = await serve(`json:${tmp.dir}`, ['--token', TOKEN]);
    for (const path of ['', 'healthz', 'v1/services', 'metrics', 'v1/events']) {
      const res = await rawRequest(`${url}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/Bearer/);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ', `Token ${TOKEN}`, `Basic ${Buffer.from(`u:${TOKEN}!`).toString('base64')}`]) {
      expect((await rawRequest(`${url}healthz`, { headers: { authorization } })).status, authorization).toBe(401);
    }
    expect((await json(`${url}healthz`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await json(`${url}v1/services`, { headers: { authorization: `Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}` } })).status).toBe(200);
    await stopServe(child);
  });

  it('streams added then removed over /v1/events for a short-lived run, with ids, and closes the watch when the client goes', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const { child, url } = await serve(store, ['--sweep', '200']);
    const stream = await EventStream.open(`${url}v1/events`);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toBe('text/event-stream; charset=utf-8');
    await waitFor(() => stream.comments.length > 0, { message: () => 'no opening comment' });
    await waitFor(async () => (await metricValue(url, 'marcus_registry_event_streams')) === 1, { message: () => 'the stream is not counted' });

    // The child leaves once the stream has reported it added (a `sleep 2` could come and go unseen on a loaded machine).
    await using gate = await tempRegistryDir();
    const release = join(gate.dir, 'release');
    const untilReleased = `while [ ! -e '${release}' ] && [ -d '${gate.dir}' ]; do sleep 0.02; done`;
    const running = cli(['--store', store, 'run', '--instance-id', 'marcus_sleeper', '--project', 'alpha', '--heartbeat', '2000', '--', 'sh', '-c', untilReleased]);
    const added = await stream.next((m) => m.event === 'added', 'an added event');
    await writeFile(release, '');
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const removed = await stream.next((m) => m.event === 'removed', 'a removed event');
    const addedEvent = JSON.parse(added.data) as RegistryEvent;
    expect(addedEvent).toMatchObject({ type: 'added', health: 'healthy', record: { instance_id: 'marcus_sleeper', project_name: 'alpha' } });
    const removedEvent = JSON.parse(removed.data) as RegistryEvent;
    expect(removedEvent).toMatchObject({ type: 'removed', record: { instance_id: 'marcus_sleeper' } });
    expect((removedEvent as Extract<RegistryEvent, { type: 'removed' }>).reason).toBe('unregistered');
    const ids = stream.messages.map((m) => Number(m.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(stream.messages.findIndex((m) => m.event === 'added')).toBeLessThan(stream.messages.findIndex((m) => m.event === 'removed'));

    // The client goes away: its watch is closed and the stream no longer counted.
    stream.close();
    await waitFor(async () => (await metricValue(url, 'marcus_registry_event_streams')) === 0, { message: () => 'the closed stream is still open on the server' });
    await stopServe(child);
  });

  it('ends open event streams and exits 0 on SIGINT while a client is connected', async () => {
    await using tmp = await tempRegistryDir();
    const { child, url } = await serve(`json:${tmp.dir}`);
    const stream = await EventStream.open(`${url}v1/events`);
    await waitFor(() => stream.comments.length > 0);
    await stopServe(child, 'SIGINT');
    await waitFor(() => stream.ended, { message: () => 'the stream did not end when the server stopped' });
  });

  it('serves /metrics as valid Prometheus text: HELP and TYPE for each family, the gauge counting the running instance', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const { child, url } = await serve(store);
    await registrant(store, 'marcus_metered', ['--project', 'alpha', '--provider', 'github']);
    const res = await fetch(`${url}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, help, types } = parsePrometheus(await res.text());
    for (const [name, type] of [
      ['marcus_registry_instances', 'gauge'],
      ['marcus_registry_discovery_duration_seconds', 'histogram'],
      ['marcus_registry_stale_entries_pruned_total', 'counter'],
      ['marcus_registry_store_errors_total', 'counter'],
      ['marcus_registry_event_streams', 'gauge'],
      ['process_cpu_user_seconds_total', 'counter'],
    ] as const) {
      expect(types.get(name), name).toBe(type);
      expect(help.get(name), name).toMatch(/\S/);
    }
    // Every sample belongs to a family that has a TYPE line.
    for (const s of samples) expect(types.has(s.name.replace(/_(bucket|sum|count)$/, '')) || types.has(s.name), s.name).toBe(true);
    const instances = samples.filter((s) => s.name === 'marcus_registry_instances');
    expect(instances).toEqual([{ name: 'marcus_registry_instances', labels: { status: 'running', provider: 'github', health: 'healthy' }, value: 1 }]);
    expect(samples.find((s) => s.name === 'marcus_registry_discovery_duration_seconds_count')?.value).toBeGreaterThanOrEqual(1);
    await stopServe(child);
  });

  it('healthz says 503 with the error code when the store cannot be used', async () => {
    await using tmp = await tempRegistryDir();
    const { child, url } = await serve(`json:${tmp.dir}`);
    expect((await json(`${url}healthz`)).status).toBe(200);
    await chmod(tmp.dir, 0o777); // other users could now plant records: the store refuses the directory
    const down = await json(`${url}healthz`);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', store: 'json', error: { code: 'INSECURE_DIRECTORY' } });
    const services = await json(`${url}v1/services`);
    expect(services.status).toBe(503);
    expect(services.body).toMatchObject({ error: { code: 'INSECURE_DIRECTORY' } });
    const { samples } = parsePrometheus(await (await fetch(`${url}metrics`)).text());
    expect(samples.find((s) => s.name === 'marcus_registry_store_errors_total' && s.labels['code'] === 'INSECURE_DIRECTORY')?.value).toBeGreaterThanOrEqual(2);
    await chmod(tmp.dir, 0o700);
    expect((await json(`${url}healthz`)).status).toBe(200);
    await stopServe(child);
  });

  it('returns untrusted record text as data: a project_name of markup is escaped in JSON and never in the page', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const { child, url } = await serve(store);
    const evil = '<img src=x onerror=alert(1)>';
    await registrant(store, 'marcus_evil', ['--project', evil]);
    const res = await fetch(`${url}v1/services`);
    const text = await res.text();
    expect(text).not.toContain('<img');
    expect(text).toContain('\\u003cimg src=x onerror=alert(1)\\u003e');
    const body = JSON.parse(text) as { services: Array<{ record: { project_name: string } }> };
    expect(body.services[0]?.record.project_name).toBe(evil);
    const stream = await EventStream.open(`${url}v1/events`);
    const added = await stream.next((m) => m.event === 'added', 'the evil instance');
    expect(added.data).not.toContain('<img');
    expect((JSON.parse(added.data) as RegistryEvent).record.project_name).toBe(evil);
    stream.close();
    // The page is static: record text only ever reaches it through textContent (see the browser test).
    const page = await (await fetch(url)).text();
    expect(page).not.toContain('onerror');
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)/);
    await stopServe(child);
  });
});

/** Writes `text` to 127.0.0.1:port and returns everything the server answers before closing. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(text));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

async function metricValue(url: string, name: string): Promise<number | undefined> {
  const { samples } = parsePrometheus(await (await fetch(`${url}metrics`)).text());
  return samples.find((s) => s.name === name && Object.keys(s.labels).length === 0)?.value;
}
