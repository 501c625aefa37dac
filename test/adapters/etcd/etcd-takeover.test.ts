import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore } from '../../../src/adapters/etcd/etcd.store.js';
import type { Logger } from '../../../src/ports/logger.port.js';
import { formatTimestamp } from '../../../src/domain/timestamp.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';
import { makeRecord } from '../../support/records.js';
import { eventually } from './registrant-child.js';

const TTL_MS = 3_000;

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, debug: keep('debug'), warn: keep('warn'), error: keep('error') };
}

describe('etcd store: a lost lease never takes an id back from a newer registration', () => {
  let etcd: EtcdContainer;
  let admin: Etcd3;

  beforeAll(async () => {
    etcd = await startEtcd();
    admin = new Etcd3({ hosts: [etcd.endpoint] });
  });
  afterAll(async () => {
    admin?.close();
    await etcd?.stop();
  });

  async function loseLeaseOf(key: string): Promise<void> {
    const kv = (await admin.get(key).exec()).kvs[0];
    expect(kv?.lease, 'the entry is on a lease').not.toBe('0');
    await admin.leaseClient.leaseRevoke({ ID: kv?.lease as string });
  }

  it('re-registers into an empty key, but leaves a key another registration took meanwhile', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const logger = recordingLogger();
    const old = await openEtcdStore({ hosts: [etcd.hosts], prefix, logger, maxRecoveryDelayMs: 500 });
    try {
      // 1. A plain lost lease: the entry comes back (the recovery path still works).
      await old.put(makeRecord({ instance_id: 'marcus_alone' }), { ttlMs: TTL_MS });
      await loseLeaseOf(`${prefix}marcus_alone`);
      await eventually(async () => (await old.get('marcus_alone')) !== undefined && logger.lines.some((l) => /re-registered marcus_alone/.test(l)), 4 * TTL_MS, 're-registration');

      // 2. Lost, and a newer registration of the same id (another process) takes the key first.
      const mine = makeRecord({ instance_id: 'marcus_shared', pid: 4242 });
      await old.put(mine, { ttlMs: TTL_MS });
      const key = `${prefix}marcus_shared`;
      const newer = makeRecord({ instance_id: 'marcus_shared', pid: 4343, started_at: formatTimestamp(Date.now() + 1_000) });
      const lease = admin.lease(60);
      await loseLeaseOf(key);
      await admin.put(key).value(JSON.stringify(newer)).lease(await lease.grant()).exec();
      await eventually(async () => logger.lines.some((l) => /marcus_shared was registered again by another process/.test(l)), 4 * TTL_MS, 'the store giving up the id');
      // Well past a recovery attempt and a TTL: the key still holds the newer registration.
      await new Promise((r) => setTimeout(r, TTL_MS + 1_000));
      const stored = JSON.parse((await admin.get(key).string()) ?? 'null') as { pid: number };
      expect(stored.pid).toBe(4343);
      await lease.revoke();
    } finally {
      await old.close();
    }
  });
});
