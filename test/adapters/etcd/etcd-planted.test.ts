import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/app/create-registry.js';
import type { ServiceRegistry } from '../../../src/app/service-registry.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';
import { makeRecord } from '../../support/records.js';

/**
 * Records planted in etcd with a plain client (no registry): no lease, or a
 * lease the planter granted for an hour, `hostname` of another machine, a
 * heartbeat from 2020 and a start in 2099. A record is vouched for by a lease
 * only when the lease is live and no longer than its heartbeat TTL allows (60 s
 * at least); otherwise it is judged by its heartbeat like any remote record.
 * A timestamp in the future never makes a record healthy, so never preferred.
 */
describe('etcd: planted records are judged, not trusted', () => {
  let etcd: EtcdContainer;
  let planter: Etcd3;
  const registries: ServiceRegistry[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    planter = new Etcd3({ hosts: etcd.endpoint });
  });
  afterAll(async () => {
    planter?.close();
    await etcd?.stop();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
  });

  async function registry(uri: string): Promise<ServiceRegistry> {
    const r = await createRegistry({ store: uri, settings: { exitHooks: false, heartbeatIntervalMs: 1_000 }, env: {} });
    registries.push(r);
    return r;
  }

  const planted = (id: string, extra: Record<string, unknown> = {}) =>
    makeRecord({
      instance_id: id,
      pid: 1,
      hostname: 'elsewhere.example',
      last_heartbeat: '2020-01-01T00:00:00.000000',
      started_at: '2099-01-01T00:00:00.000000',
      working_directory: '/',
      project_name: 'demo',
      ...extra,
    });

  it('a record without a lease is judged by its heartbeat: stale and removed (compare-and-delete), never preferred', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const uri = `etcd://${etcd.hosts}${prefix}`;
    const r = await registry(uri);
    const real = await r.register({ mcpCommand: 'node real.js', instanceId: 'marcus_real', projectName: 'demo', workingDirectory: '/' });
    await planter.put(`${prefix}marcus_planted`).value(encodeRecord(planted('marcus_planted'))).exec();
    // Declares no heartbeat interval: it cannot be verified, so it is never healthy, and kept.
    await planter.put(`${prefix}marcus_silent`).value(encodeRecord(planted('marcus_silent', { heartbeat_interval_ms: undefined }))).exec();

    const report = await r.inspect({ prune: false });
    const health = Object.fromEntries([...report.services, ...report.stale].map((s) => [s.record.instance_id, s.health]));
    expect(health).toEqual({ marcus_real: 'healthy', marcus_planted: 'stale', marcus_silent: 'unresponsive' });
    const pruned = await r.prune();
    expect(pruned.removed.map((x) => [x.record.instance_id, x.reason])).toEqual([['marcus_planted', 'heartbeat-expired']]);
    expect((await planter.get(`${prefix}marcus_planted`).string()) ?? null).toBeNull();
    expect(await planter.get(`${prefix}marcus_silent`).string()).not.toBeNull();
    // The one left (from 2099, unverifiable) never ranks before the real local instance.
    expect((await r.preferred({ cwd: '/', project: 'demo' }))?.instance_id).toBe(real.instance_id);
    expect((await r.ranked({ cwd: '/' })).map((x) => x.instance_id)).toEqual(['marcus_real', 'marcus_silent']);
  });

  it('a lease far longer than the record\u2019s heartbeat TTL vouches for nothing; a short live lease does; a future heartbeat is never healthy', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const uri = `etcd://${etcd.hosts}${prefix}`;
    const r = await registry(uri);
    await r.register({ mcpCommand: 'node real.js', instanceId: 'marcus_real', projectName: 'demo', workingDirectory: '/' });
    const hour = planter.lease(3_600, { autoKeepAlive: false });
    const short = planter.lease(20);
    try {
      await hour.put(`${prefix}marcus_hour`).value(encodeRecord(planted('marcus_hour'))).exec();
      // A real remote instance: a live lease of its heartbeat TTL (3 × 10 s); its
      // heartbeat is judged by the lease, not by our clock.
      await short.put(`${prefix}marcus_remote`).value(encodeRecord(planted('marcus_remote', { started_at: '2020-01-01T00:00:00.000000' }))).exec();
      await short
        .put(`${prefix}marcus_future`)
        .value(encodeRecord(planted('marcus_future', { last_heartbeat: '2099-01-01T00:00:00.000000', started_at: '2020-01-01T00:00:00.000000' })))
        .exec();
      const report = await r.inspect({ prune: false });
      const health = Object.fromEntries([...report.services, ...report.stale].map((s) => [s.record.instance_id, s.health]));
      expect(health).toEqual({ marcus_real: 'healthy', marcus_hour: 'stale', marcus_remote: 'healthy', marcus_future: 'unresponsive' });
      const pruned = await r.prune();
      expect(pruned.removed.map((x) => x.record.instance_id)).toEqual(['marcus_hour']);
      expect((await r.preferred({ cwd: '/', project: 'demo' }))?.instance_id).toBe('marcus_real');
    } finally {
      await hour.revoke().catch(() => undefined);
      await short.revoke().catch(() => undefined);
    }
  });
});
