import { describe, expect, it } from 'vitest';
import { keepaliveIntervalMs, keepaliveTimeoutMs } from '../../../src/adapters/etcd/etcd.keepalive.js';
import { MIN_LEASE_TTL_S } from '../../../src/adapters/etcd/etcd.options.js';

describe('lease keepalive timing (ADR 0021)', () => {
  it('tries every member of a 3-member cluster within the TTL after the last answered beat, for every TTL', () => {
    for (const memberTimeoutMs of [250, 2_000, 5_000, 60_000]) {
      for (let ttlS = MIN_LEASE_TTL_S; ttlS <= 3_600; ttlS++) {
        const timeout = keepaliveTimeoutMs(ttlS, memberTimeoutMs);
        // The next beat is due one interval after the last answer; each hung member costs one deadline.
        expect(keepaliveIntervalMs(ttlS) + 3 * timeout, `ttl ${ttlS} s, memberTimeoutMs ${memberTimeoutMs}`).toBeLessThan(ttlS * 1_000);
        expect(timeout).toBeLessThanOrEqual(Math.max(250, memberTimeoutMs));
      }
    }
  });

  it('gives a 3 s lease a 500 ms deadline and a beat every second; the default 30 s lease 2 s and 10 s', () => {
    expect([keepaliveTimeoutMs(3, 2_000), keepaliveIntervalMs(3)]).toEqual([500, 1_000]);
    expect([keepaliveTimeoutMs(30, 2_000), keepaliveIntervalMs(30)]).toEqual([2_000, 10_000]);
  });
});
