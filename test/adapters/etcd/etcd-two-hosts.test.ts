import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/app/create-registry.js';
import type { ServiceRegistry } from '../../../src/app/service-registry.js';
import type { ProcessFacts } from '../../../src/domain/staleness.js';
import type { LivenessProbe } from '../../../src/ports/liveness.port.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';

/**
 * One host's process table: only `alive` pids exist there. Each simulated host
 * gets its own, so a pid alive on host A is dead on host B, as on real machines.
 * It remembers every pid it was asked about.
 */
function hostProcesses(alive: readonly number[]): LivenessProbe & { asked: Set<number> } {
  const asked = new Set<number>();
  return {
    asked,
    async snapshot(pids) {
      for (const pid of pids) asked.add(pid);
      return { get: (pid: number): ProcessFacts => (alive.includes(pid) ? { alive: true } : { alive: false }) };
    },
    async startOf() {
      return undefined;
    },
  };
}

const PID_ON_A = 400_001;
const PID_ON_B = 400_002;

describe('etcd store through the facade: two hosts sharing one cluster', () => {
  let etcd: EtcdContainer;
  const registries: ServiceRegistry[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
  });

  async function registryOn(host: string, uri: string, alive: readonly number[]) {
    const liveness = hostProcesses(alive);
    const registry = await createRegistry({
      store: uri,
      liveness,
      settings: { hostname: host, exitHooks: false, heartbeatIntervalMs: 1_000 },
      env: {},
    });
    registries.push(registry);
    return { registry, liveness };
  }

  it('each sees the other\u2019s instance as healthy, by lease, and never judges it by pid', async () => {
    const uri = `etcd://${etcd.hosts}/marcus-test/${randomUUID()}/`;
    const a = await registryOn('host-a.test', uri, [PID_ON_A]);
    const b = await registryOn('host-b.test', uri, [PID_ON_B]);
    expect(a.registry.storeInfo.kind).toBe('etcd');
    await a.registry.register({ mcpCommand: 'marcus --stdio', instanceId: 'marcus_a', pid: PID_ON_A, projectName: 'alpha' });
    await b.registry.register({ mcpCommand: 'marcus --stdio', instanceId: 'marcus_b', pid: PID_ON_B, projectName: 'beta' });

    for (const side of [a, b]) {
      const report = await side.registry.inspect();
      expect(report.services.map((s) => [s.record.instance_id, s.record.hostname, s.health])).toEqual(
        expect.arrayContaining([
          ['marcus_a', 'host-a.test', 'healthy'],
          ['marcus_b', 'host-b.test', 'healthy'],
        ]),
      );
      expect(report.services).toHaveLength(2);
      expect(report.stale).toEqual([]);
      expect(report.removed).toEqual([]);
    }
    // Each host asked its own process table only about its own instance's pid.
    expect([...a.liveness.asked]).toEqual([PID_ON_A]);
    expect([...b.liveness.asked]).toEqual([PID_ON_B]);

    // Heartbeats (lease keepalive + last_heartbeat updates) keep both listed for several beats.
    await new Promise((r) => setTimeout(r, 3_500));
    expect((await b.registry.discover()).map((r) => r.instance_id).sort()).toEqual(['marcus_a', 'marcus_b']);
    expect((await a.registry.preferred({ project: 'beta' }))?.instance_id).toBe('marcus_b');

    // Unregistering on one host is seen at once on the other.
    expect(await b.registry.unregister()).toBe(true);
    expect((await a.registry.discover()).map((r) => r.instance_id)).toEqual(['marcus_a']);
  });

  it('judges a record by pid when it comes from its own hostname (the control: the pid check is real)', async () => {
    const uri = `etcd://${etcd.hosts}/marcus-test/${randomUUID()}/`;
    const a = await registryOn('host-a.test', uri, [PID_ON_A]);
    await a.registry.register({ mcpCommand: 'marcus --stdio', instanceId: 'marcus_a', pid: PID_ON_A });
    // A second client on host A, after A's process died: its process table no longer has PID_ON_A.
    const afterCrash = await registryOn('host-a.test', uri, []);
    const report = await afterCrash.registry.inspect();
    expect(report.stale.map((s) => [s.record.instance_id, s.reason])).toEqual([['marcus_a', 'process-exited']]);
    expect(report.removed.map((r) => r.record.instance_id)).toEqual(['marcus_a']);
    // The same record seen from host B stays healthy while its lease lives.
    const b = await registryOn('host-b.test', uri, []);
    await a.registry.heartbeat(); // A (alive after all) puts its entry back
    expect((await b.registry.inspect()).services.map((s) => [s.record.instance_id, s.health])).toEqual([['marcus_a', 'healthy']]);
  });
});
