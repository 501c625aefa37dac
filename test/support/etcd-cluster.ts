import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './etcd-container.js';

/** The etcd binary the cluster tests run directly (scripts/ci/setup-etcd-container.sh installs etcd-server). */
export const ETCD_BINARY = process.env['MARCUS_ETCD_HOST_BINARY']?.trim() || '/usr/bin/etcd';

export interface ClusterMember {
  readonly name: string;
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly process: ChildProcess;
  /** Everything the member wrote to stderr (etcd logs there). */
  log(): string;
  alive(): boolean;
}

export interface EtcdCluster extends AsyncDisposable {
  readonly members: readonly ClusterMember[];
  /** `h1:p1,h2:p2,h3:p3`, as an etcd:// URI or the registrant fixture wants them. */
  readonly hosts: string;
  /** The member the others follow, asked of the members themselves (maintenance status). */
  leader(): Promise<ClusterMember>;
  /** The server version the members report, e.g. `3.4.23`. */
  readonly version: string;
  /** How many watch streams `member` serves now (its /metrics gauge). */
  watchStreams(member: ClusterMember): Promise<number>;
  /** Stops every member and removes their data. */
  stop(): Promise<void>;
}

/**
 * A real 3-member etcd cluster on 127.0.0.1, each member a child process of
 * the test (so SIGSTOP/SIGCONT/SIGKILL reach it directly). Resolves once a
 * leader is elected. Fails (never skips) when the etcd binary is missing.
 */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  if (!existsSync(ETCD_BINARY)) {
    throw new Error(`${ETCD_BINARY} is missing: the cluster tests run etcd directly; run \`bash scripts/ci/setup-etcd-container.sh\` (installs etcd-server) or set MARCUS_ETCD_HOST_BINARY`);
  }
  const dataRoot = await mkdtemp(join(tmpdir(), 'marcus-etcd-cluster-'));
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const names = ports.map((_, i) => `m${i}`);
  const initialCluster = ports.map((p, i) => `${names[i]}=http://127.0.0.1:${p.peer}`).join(',');
  const token = `marcus-test-${randomUUID()}`;

  const members: ClusterMember[] = ports.map((p, i) => {
    const name = names[i] as string;
    const client = `http://127.0.0.1:${p.client}`;
    const peer = `http://127.0.0.1:${p.peer}`;
    const child = spawn(
      ETCD_BINARY,
      [
        `--name=${name}`,
        `--data-dir=${join(dataRoot, name)}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      log = (log + chunk).slice(-200_000);
    });
    return {
      name,
      host: `127.0.0.1:${p.client}`,
      process: child,
      log: () => log,
      alive: () => child.exitCode === null && child.signalCode === null,
    };
  });

  const stop = async () => {
    await Promise.all(
      members.map(async (m) => {
        if (!m.alive()) return;
        const exited = new Promise((resolve) => m.process.once('exit', resolve));
        m.process.kill('SIGCONT');
        m.process.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(dataRoot, { recursive: true, force: true });
  };

  let version = '';
  const cluster: EtcdCluster = {
    members,
    hosts: members.map((m) => m.host).join(','),
    get version() {
      return version;
    },
    async watchStreams(member) {
      const response = await fetch(`http://${member.host}/metrics`, { signal: AbortSignal.timeout(5_000) });
      const match = /^etcd_debugging_mvcc_watch_stream_total (\d+)/m.exec(await response.text());
      if (!match) throw new Error(`${member.name}'s /metrics has no etcd_debugging_mvcc_watch_stream_total`);
      return Number(match[1]);
    },
    async leader() {
      for (const m of members) {
        if (!m.alive()) continue;
        const client = new Etcd3({ hosts: [`http://${m.host}`], dialTimeout: 2_000, defaultCallOptions: { deadline: Date.now() + 3_000 } });
        try {
          const status = await client.maintenance.status({ deadline: Date.now() + 3_000 });
          version = status.version;
          if (status.leader !== '0' && status.leader === status.header.member_id) return m;
        } catch {
          // a stopped or frozen member: ask the next one
        } finally {
          client.close();
        }
      }
      throw new Error('no member says it is the leader');
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    const dead = members.find((m) => !m.alive());
    if (dead) {
      await stop();
      throw new Error(`etcd member ${dead.name} exited while the cluster started: ${dead.log().slice(-2_000)}`);
    }
    try {
      await cluster.leader();
      return cluster;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the etcd cluster elected no leader within 60 s: ${String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Whether an etcd server still has etcd-io/etcd#15247: a leader that was hung
 * past its leases' TTLs revokes them when it resumes, though the new leader
 * kept them alive (its revocations are forwarded as a follower's proposals).
 * Fixed in 3.4.28 and 3.5.11 (etcd-io/etcd#16822): later servers ignore them.
 */
export function revokesLeasesAfterAHang(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  if (major !== 3) return false;
  if (minor < 4) return true;
  if (minor === 4) return patch < 28;
  if (minor === 5) return patch < 11;
  return false;
}
