// A real etcd for the benchmarks, as the tests start it (test/support/etcd-container.ts):
// the local image built by scripts/ci/setup-etcd-container.sh, host networking,
// 127.0.0.1 only. MARCUS_BENCH_ETCD=127.0.0.1:PORT uses a running etcd instead.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export async function startEtcd(env = process.env) {
  const given = env['MARCUS_BENCH_ETCD']?.trim();
  if (given) return { hosts: given, stop: async () => {} };
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
  const { GenericContainer, Wait } = await import('testcontainers');
  const local = readFileSync(new URL('../docker/etcd/image-name', import.meta.url), 'utf8').trim();
  const image = env['MARCUS_ETCD_IMAGE']?.trim() || local;
  const binary = env['MARCUS_ETCD_BINARY']?.trim() || (image === local ? '/usr/bin/etcd' : '/usr/local/bin/etcd');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let container;
  try {
    container = await new GenericContainer(image)
      .withNetworkMode('host')
      .withEntrypoint([binary])
      .withCommand([
        '--name=registry-bench',
        '--data-dir=/tmp/etcd-data',
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=registry-bench=${peer}`,
        '--initial-cluster-state=new',
      ])
      .withWaitStrategy(Wait.forLogMessage(/ready to serve client requests/))
      .withStartupTimeout(60_000)
      .start();
  } catch (error) {
    throw new Error(
      `cannot start etcd (${error instanceof Error ? error.message : String(error)}). Run \`bash scripts/ci/setup-etcd-container.sh\` as root, ` +
        'set MARCUS_BENCH_ETCD=127.0.0.1:PORT to use a running etcd, or leave etcd out with --stores json,sqlite',
      { cause: error },
    );
  }
  return { hosts: `127.0.0.1:${clientPort}`, stop: () => container.stop({ timeout: 0, remove: true }) };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
