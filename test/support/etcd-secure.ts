import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3, Range, type IOptions } from 'etcd3';
import type { StartedTestContainer } from 'testcontainers';
import { etcdImage, freePort, LOCAL_ETCD_IMAGE, NO_ENGINE_HINT } from './etcd-container.js';

const run = promisify(execFile);

/**
 * Certificates made at test time with openssl (EC P-256, valid one day): a CA,
 * a server certificate for 127.0.0.1 signed by it, a client certificate signed
 * by it, and a second CA that signed nothing we serve (to be distrusted).
 */
export interface TestPki extends AsyncDisposable {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that did not sign the server's certificate. */
  readonly otherCa: string;
}

export async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'marcus-pki-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    await openssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '1', '-subj', `/CN=marcus-test-${ca}`);
  }
  const leaf = async (name: string, subject: string, ext: string) => {
    await openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    await run('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', ext, at(`${name}.ext`)]);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  };
  await leaf('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth');
  await leaf('client', '/CN=marcus-client', 'extendedKeyUsage=clientAuth');
  // The container's etcd runs as root, the test as whoever: both read them.
  await chmod(dir, 0o755);
  for (const f of ['server.key', 'client.key']) await chmod(at(f), 0o644);
  return {
    dir,
    ca: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    otherCa: at('other-ca.crt'),
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface SecureEtcd extends AsyncDisposable {
  /** `127.0.0.1:PORT` */
  readonly hosts: string;
  stop(): Promise<void>;
}

/**
 * A real etcd (the image of etcd-container.ts, host network, 127.0.0.1 only)
 * serving clients over TLS with client-certificate authentication: `pki.dir`
 * is mounted read-only at the same path inside the container.
 */
export async function startTlsEtcd(pki: TestPki, env: NodeJS.ProcessEnv = process.env): Promise<SecureEtcd> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
  const { GenericContainer, Wait } = await import('testcontainers');
  const image = etcdImage(env);
  const binary = env['MARCUS_ETCD_BINARY']?.trim() || (image === LOCAL_ETCD_IMAGE ? '/usr/bin/etcd' : '/usr/local/bin/etcd');
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `https://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let container: StartedTestContainer | undefined;
  try {
    container = await new GenericContainer(image)
      .withNetworkMode('host')
      .withBindMounts([{ source: pki.dir, target: pki.dir, mode: 'ro' }])
      .withEntrypoint([binary])
      .withCommand([
        '--name=registry-tls-test',
        '--data-dir=/tmp/etcd-data',
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=registry-tls-test=${peer}`,
        '--initial-cluster-state=new',
        `--cert-file=${pki.serverCert}`,
        `--key-file=${pki.serverKey}`,
        `--trusted-ca-file=${pki.ca}`,
        '--client-cert-auth',
      ])
      .withWaitStrategy(Wait.forLogMessage(/ready to serve client requests/))
      .withStartupTimeout(60_000)
      .start();
  } catch (error) {
    throw new Error(`could not start a TLS etcd from ${image}. ${NO_ENGINE_HINT} (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  const started = container;
  const stop = async () => {
    await started.stop({ timeout: 0, remove: true });
  };
  return { hosts: `127.0.0.1:${clientPort}`, stop, [Symbol.asyncDispose]: stop };
}

/**
 * Turns authentication on in a running etcd through the etcd3 client (etcdctl
 * need not be installed): a root user (required by etcd), and `user` with a
 * role that may read and write `prefix` only.
 */
export async function enableAuth(connect: IOptions, options: { rootPassword: string; user: string; password: string; prefix: string }): Promise<void> {
  const client = new Etcd3(connect);
  try {
    await client.user('root').create(options.rootPassword);
    await client.user('root').addRole('root');
    const role = client.role('registry');
    await role.create();
    await role.grant({ permission: 'Readwrite', range: Range.prefix(options.prefix) });
    await client.user(options.user).create(options.password);
    await client.user(options.user).addRole('registry');
    await client.auth.authEnable();
  } finally {
    client.close();
  }
}
