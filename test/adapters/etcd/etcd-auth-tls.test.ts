import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/app/create-registry.js';
import { startMonitor } from '../../../src/interfaces/http/start-monitor.js';
import type { ServiceRegistry } from '../../../src/app/service-registry.js';
import type { StoreConfig } from '../../../src/app/store-uri.js';
import { openStore } from '../../../src/app/store-factory.js';
import { silentLogger } from '../../../src/app/logger.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { isRegistryError, type RegistryError } from '../../../src/domain/errors.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';
import { enableAuth, makePki, startTlsEtcd, type SecureEtcd, type TestPki } from '../../support/etcd-secure.js';
import { cli, tempRegistryDir, waitFor } from '../../support/processes.js';

/**
 * A real etcd with authentication on (users made through the etcd3 client),
 * and a real etcd serving TLS with client-certificate auth (certificates made
 * with openssl now). Credentials come from the environment, a file or the
 * config object; never from the URI; never in an error, a log or /healthz.
 */
const PASSWORD = `pw-${randomUUID()}`;
const ROOT_PASSWORD = `root-${randomUUID()}`;
const PREFIX = '/secure/';

const registries: ServiceRegistry[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) await r.close();
});

async function open(store: string | StoreConfig | RegistryStore, env: Record<string, string> = {}): Promise<ServiceRegistry> {
  const r = await createRegistry({ store, env, settings: { exitHooks: false, heartbeatIntervalMs: 1_000 } });
  registries.push(r);
  return r;
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRegistryError(error)) throw new Error(`expected a RegistryError, got ${inspect(error)}`);
  return error;
}

/** Everything an error can show: message, toJSON, the whole cause chain as inspect prints it. */
function everything(error: unknown): string {
  return `${String(error)}\n${JSON.stringify(error)}\n${inspect(error, { depth: 20, showHidden: true })}`;
}

describe('etcd with authentication', () => {
  let etcd: EtcdContainer;
  beforeAll(async () => {
    etcd = await startEtcd();
    await enableAuth({ hosts: etcd.endpoint }, { rootPassword: ROOT_PASSWORD, user: 'marcus', password: PASSWORD, prefix: PREFIX });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('works with the user and password from the environment, from a password file, or from the config object', async () => {
    const uri = `etcd://${etcd.hosts}${PREFIX}`;
    const a = await open(uri, { MARCUS_REGISTRY_ETCD_USER: 'marcus', MARCUS_REGISTRY_ETCD_PASSWORD: PASSWORD });
    await a.register({ mcpCommand: 'node a.js', instanceId: 'marcus_auth_a' });

    await using tmp = await tempRegistryDir();
    const file = join(tmp.dir, 'etcd-password');
    await writeFile(file, `${PASSWORD}\n`, { mode: 0o600 });
    const b = await open(uri, { MARCUS_REGISTRY_ETCD_USER: 'marcus', MARCUS_REGISTRY_ETCD_PASSWORD_FILE: file });
    expect((await b.discover()).map((r) => r.instance_id)).toEqual(['marcus_auth_a']);

    const cStore = await openStore({ kind: 'etcd', hosts: [etcd.hosts], prefix: PREFIX, auth: { username: 'marcus', password: PASSWORD } }, silentLogger);
    const c = await open(cStore);
    expect((await c.discover()).map((r) => r.instance_id)).toEqual(['marcus_auth_a']);

    // Another store object (as on another host) learns the entry's lease TTL under auth too (3 beats × 1 s).
    expect((await cStore.list()).entries.map((e) => e.leaseTtlMs)).toEqual([3_000]);

    // The prefix watch (watch, serve's event streams) is authenticated too: it sees a new instance.
    const controller = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const event of c.watch({ signal: controller.signal, sweepIntervalMs: 60_000 })) {
        seen.push(`${event.type}:${event.record.instance_id}`);
        if (seen.includes('added:marcus_auth_b')) controller.abort();
      }
    })();
    await waitFor(() => seen.includes('added:marcus_auth_a'), { message: () => `watch saw ${JSON.stringify(seen)}` });
    await b.register({ mcpCommand: 'node b.js', instanceId: 'marcus_auth_b' });
    await watching;
    expect(seen).toContain('added:marcus_auth_b');

    // The monitor's /healthz names the store, never the credentials.
    await using monitor = await startMonitor(b, { port: 0 });
    const health = await (await fetch(`${monitor.url}healthz`)).text();
    expect(health).toContain('"status":"ok"');
    expect(health).not.toContain(PASSWORD);
  });

  it('a wrong password is AUTH_FAILED, no credentials is AUTH_FAILED: clear, and the password appears nowhere', async () => {
    const uri = `etcd://${etcd.hosts}${PREFIX}`;
    const wrong = `wrong-${PASSWORD}`;
    const bad = await open(uri, { MARCUS_REGISTRY_ETCD_USER: 'marcus', MARCUS_REGISTRY_ETCD_PASSWORD: wrong });
    const error = await failure(bad.discover());
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/authentication to registry store etcd:\/\/127\.0\.0\.1:\d+\/secure\/ failed: .*user name or password/);
    expect(everything(error)).not.toContain(wrong);

    await using monitor = await startMonitor(bad, { port: 0 });
    const res = await fetch(`${monitor.url}healthz`);
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).toContain('AUTH_FAILED');
    expect(body).not.toContain(wrong);

    const anonymous = await open(uri);
    const none = await failure(anonymous.discover());
    expect(none.code).toBe('AUTH_FAILED');
    expect(none.message).toMatch(/requires authentication.*MARCUS_REGISTRY_ETCD_USER/);
  });

  it('the CLI takes them from the environment; a wrong one exits 1 with AUTH_FAILED and never prints it', async () => {
    const uri = `etcd://${etcd.hosts}${PREFIX}`;
    const ok = await cli(['--store', uri, 'list', '--json'], { MARCUS_REGISTRY_ETCD_USER: 'marcus', MARCUS_REGISTRY_ETCD_PASSWORD: PASSWORD });
    expect(ok.code, ok.stderr).toBe(0);
    const wrong = `wrong-${PASSWORD}`;
    const bad = await cli(['--store', uri, '--debug', 'list'], { MARCUS_REGISTRY_ETCD_USER: 'marcus', MARCUS_REGISTRY_ETCD_PASSWORD: wrong });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('AUTH_FAILED');
    expect(bad.stderr + bad.stdout).not.toContain(wrong);
  });

  it('refuses a URI that carries user:password, without repeating the password', async () => {
    const secret = `in-uri-${randomUUID()}`;
    const error = await failure(open(`etcd://marcus:${secret}@${etcd.hosts}${PREFIX}`));
    expect(error.code).toBe('INVALID_STORE_URI');
    expect(error.message).toMatch(/credentials do not belong in the store URI.*MARCUS_REGISTRY_ETCD_USER/);
    expect(everything(error)).not.toContain(secret);
    const result = await cli(['--store', `etcds://marcus:${secret}@${etcd.hosts}/`, 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/credentials do not belong in the store URI.*\[INVALID_STORE_URI\]/);
    expect(result.stderr).not.toContain(secret);
  });
});

describe('etcd over TLS with client certificates', () => {
  let pki: TestPki;
  let etcd: SecureEtcd;
  beforeAll(async () => {
    pki = await makePki();
    etcd = await startTlsEtcd(pki);
  });
  afterAll(async () => {
    await etcd?.stop();
    await pki?.[Symbol.asyncDispose]();
  });

  const tlsEnv = (ca: string) => ({ MARCUS_REGISTRY_ETCD_CA: ca, MARCUS_REGISTRY_ETCD_CERT: pki.clientCert, MARCUS_REGISTRY_ETCD_KEY: pki.clientKey });

  it('etcds:// with the CA, client certificate and key from the environment registers and lists', async () => {
    const uri = `etcds://${etcd.hosts}/tls/`;
    const a = await open(uri, tlsEnv(pki.ca));
    await a.register({ mcpCommand: 'node a.js', instanceId: 'marcus_tls_a' });
    const b = await open({ kind: 'etcd', hosts: [etcd.hosts], prefix: '/tls/', tls: { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey } });
    expect((await b.discover()).map((r) => r.instance_id)).toEqual(['marcus_tls_a']);
    expect(b.storeInfo.location).toBe(`etcds://${etcd.hosts}/tls/`);
  });

  it('a server certificate the CA did not sign is TLS_FAILED, as is a missing client certificate', async () => {
    const uri = `etcds://${etcd.hosts}/tls/`;
    const untrusted = await failure((await open(uri, tlsEnv(pki.otherCa))).discover());
    expect(untrusted.code).toBe('TLS_FAILED');
    expect(untrusted.retryable).toBe(false);
    expect(untrusted.message).toMatch(/TLS connection to registry store etcds:\/\/127\.0\.0\.1:\d+\/tls\/ failed: .*certificate/);

    const noClientCert = await failure((await open(uri, { MARCUS_REGISTRY_ETCD_CA: pki.ca })).discover());
    expect(noClientCert.code).toBe('TLS_FAILED');
    expect(noClientCert.message).toMatch(/refused the TLS handshake.*client certificate/);
  });

  it('TLS files with a plain etcd:// URI, or an unreadable one, are refused before connecting', async () => {
    const plain = await failure(open(`etcd://${etcd.hosts}/tls/`, tlsEnv(pki.ca)));
    expect(plain.code).toBe('INVALID_STORE_URI');
    expect(plain.message).toMatch(/MARCUS_REGISTRY_ETCD_CA.*etcd:\/\/ is plain text: use etcds:\/\//);
    const missing = await failure(open(`etcds://${etcd.hosts}/tls/`, tlsEnv(join(pki.dir, 'nope.crt'))));
    expect(missing.code).toBe('INVALID_STORE_URI');
    expect(missing.message).toMatch(/cannot read the CA certificate file .*nope\.crt: ENOENT/);
  });
});

describe('etcd over TLS with authentication: the README\u2019s setup', () => {
  it('etcds:// + CA + user/password file works; a wrong password is AUTH_FAILED', async () => {
    await using pki = await makePki();
    await using etcd = await startTlsEtcd(pki);
    const credentials = { rootCertificate: await readPem(pki.ca), certChain: await readPem(pki.clientCert), privateKey: await readPem(pki.clientKey) };
    await enableAuth({ hosts: `https://${etcd.hosts}`, credentials }, { rootPassword: ROOT_PASSWORD, user: 'marcus', password: PASSWORD, prefix: PREFIX });
    const file = join(pki.dir, 'etcd-password');
    await writeFile(file, PASSWORD);
    const env = { ...{ MARCUS_REGISTRY_ETCD_CA: pki.ca, MARCUS_REGISTRY_ETCD_CERT: pki.clientCert, MARCUS_REGISTRY_ETCD_KEY: pki.clientKey } };
    const r = await open(`etcds://${etcd.hosts}${PREFIX}`, { ...env, MARCUS_REGISTRY_ETCD_USER: 'marcus', MARCUS_REGISTRY_ETCD_PASSWORD_FILE: file });
    await r.register({ mcpCommand: 'node a.js', instanceId: 'marcus_both' });
    expect((await r.discover()).map((x) => x.instance_id)).toEqual(['marcus_both']);
    const bad = await open(`etcds://${etcd.hosts}${PREFIX}`, { ...env, MARCUS_REGISTRY_ETCD_USER: 'marcus', MARCUS_REGISTRY_ETCD_PASSWORD: 'nope-nope' });
    expect((await failure(bad.discover())).code).toBe('AUTH_FAILED');
    for (const x of registries.splice(0)) await x.close();
  });
});

async function readPem(path: string): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path);
}
