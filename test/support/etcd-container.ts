import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { StartedTestContainer } from 'testcontainers';

/**
 * A real etcd in a container, for tests. The image is pinned in one place,
 * docker/etcd/image-name (built by scripts/ci/setup-etcd-container.sh);
 * MARCUS_ETCD_IMAGE overrides it, e.g. with quay.io/coreos/etcd:v3.5.17 on a
 * laptop with Docker Desktop (MARCUS_ETCD_BINARY names the binary inside it if
 * it is neither /usr/bin/etcd nor /usr/local/bin/etcd). Host networking on 127.0.0.1 only: no bridge is
 * needed and nothing listens beyond loopback.
 */
export const LOCAL_ETCD_IMAGE = readFileSync(new URL('../../docker/etcd/image-name', import.meta.url), 'utf8').trim();

export function etcdImage(env: NodeJS.ProcessEnv = process.env): string {
  return env['MARCUS_ETCD_IMAGE']?.trim() || LOCAL_ETCD_IMAGE;
}

export const NO_ENGINE_HINT =
  'etcd tests need a container engine: run `bash scripts/ci/setup-etcd-container.sh` (as root) to install and start ' +
  `dockerd and build ${LOCAL_ETCD_IMAGE}, or set MARCUS_ETCD_IMAGE to an etcd image your engine has`;

export interface EtcdContainer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** `127.0.0.1:PORT`, as an etcd:// store URI names it. */
  readonly hosts: string;
  readonly image: string;
  /** Stops and removes the container: etcd and its data are gone. */
  stop(): Promise<void>;
  /** Starts a fresh etcd (empty data) on the same ports after stop(). */
  start(): Promise<void>;
  /** Restarts the same container: etcd comes back with its data (leases included). */
  restart(): Promise<void>;
}

/**
 * Starts etcd and resolves once it serves clients. Rejects with NO_ENGINE_HINT
 * when no container engine answers: the etcd suites fail then, never skip.
 */
export async function startEtcd(env: NodeJS.ProcessEnv = process.env): Promise<EtcdContainer> {
  // Read by testcontainers when it first talks to the engine: the reaper image
  // cannot be pulled here, and without a bridge it cannot work out the host.
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
  const { GenericContainer, Wait } = await import('testcontainers');

  const image = etcdImage(env);
  // Ours holds Debian's /usr/bin/etcd; the official images keep it in /usr/local/bin.
  const binary = env['MARCUS_ETCD_BINARY']?.trim() || (image === LOCAL_ETCD_IMAGE ? '/usr/bin/etcd' : '/usr/local/bin/etcd');
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const command = [
    '--name=registry-test',
    '--data-dir=/tmp/etcd-data',
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=registry-test=${peer}`,
    '--initial-cluster-state=new',
  ];

  const launch = async (): Promise<StartedTestContainer> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await new GenericContainer(image)
          .withNetworkMode('host')
          .withEntrypoint([binary])
          .withCommand(command)
          .withWaitStrategy(Wait.forLogMessage(/ready to serve client requests/))
          .withStartupTimeout(60_000)
          .start();
      } catch (error) {
        // On a loaded machine the engine's first ping can time out although dockerd runs: ask again a few times.
        if (attempt < ENGINE_ATTEMPTS && isEngineUnreachable(error) && existsSync(DOCKER_SOCKET)) {
          await new Promise((resolve) => setTimeout(resolve, 2_000 * attempt));
          continue;
        }
        throw engineProblem(error, image);
      }
    }
  };

  let container: StartedTestContainer | undefined = await launch();
  const handle: EtcdContainer = {
    endpoint,
    hosts: `127.0.0.1:${clientPort}`,
    image,
    async stop() {
      const running = container;
      container = undefined;
      await running?.stop({ timeout: 0, remove: true });
    },
    async start() {
      if (container) return;
      container = await launch();
    },
    async restart() {
      if (!container) throw new Error('etcd container is stopped: call start()');
      await container.restart({ timeout: 0 });
    },
    async [Symbol.asyncDispose]() {
      await handle.stop();
    },
  };
  return handle;
}

const ENGINE_ATTEMPTS = 5;
const DOCKER_SOCKET = '/var/run/docker.sock';

function isEngineUnreachable(error: unknown): boolean {
  return /container runtime strategy/i.test(error instanceof Error ? error.message : String(error));
}

function engineProblem(error: unknown, image: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/container runtime strategy|no docker|ENOENT|ECONNREFUSED|docker\.sock|Could not find a working container runtime/i.test(message)) {
    return new Error(`${NO_ENGINE_HINT} (${message})`, { cause: error });
  }
  if (/no such image|not found|pull access denied|manifest unknown|getaddrinfo/i.test(message)) {
    return new Error(`etcd image ${image} is not available to the container engine and cannot be pulled here. ${NO_ENGINE_HINT} (${message})`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(message);
}

/** A port on 127.0.0.1 nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
