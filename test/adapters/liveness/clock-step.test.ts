import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcLivenessProbe } from '../../../src/adapters/liveness/proc.liveness.js';
import { parseBootTime } from '../../../src/adapters/liveness/proc-stat.js';
import { createRegistry } from '../../../src/app/create-registry.js';
import { ExitHooks } from '../../../src/app/exit-hooks.js';
import { judge, type ProcessFacts } from '../../../src/domain/staleness.js';
import { formatTimestamp } from '../../../src/domain/timestamp.js';
import { makeRecord } from '../../support/records.js';
import { tempRegistryDir } from '../../support/processes.js';

/**
 * A copy of the parts of /proc the probe reads, for this process: /proc/stat
 * (btime), the boot id and /proc/<pid>/stat. `step(ms)` moves btime as the kernel
 * does when the wall clock is stepped (btime = wall clock − time since boot).
 */
async function fakeProc(): Promise<{ root: string; step(ms: number): Promise<void>; setBootId(id: string): Promise<void>; [Symbol.asyncDispose](): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'fake-proc-'));
  const realStat = await readFile('/proc/stat', 'latin1');
  const btime = parseBootTime(realStat) as number;
  let shift = 0;
  const writeStat = () => writeFile(join(root, 'stat'), realStat.replace(/^btime\s+\d+\s*$/m, `btime ${btime + shift}`));
  await writeStat();
  await mkdir(join(root, 'sys/kernel/random'), { recursive: true });
  await writeFile(join(root, 'sys/kernel/random/boot_id'), await readFile('/proc/sys/kernel/random/boot_id', 'latin1'));
  await mkdir(join(root, String(process.pid)));
  await writeFile(join(root, String(process.pid), 'stat'), await readFile(`/proc/${process.pid}/stat`, 'latin1'));
  return {
    root,
    async step(ms) {
      shift += ms / 1000;
      await writeStat();
    },
    setBootId: (id) => writeFile(join(root, 'sys/kernel/random/boot_id'), `${id}\n`),
    [Symbol.asyncDispose]: () => rm(root, { recursive: true, force: true }),
  };
}

const LOCAL = 'devbox';
const judgeLocal = (record: ReturnType<typeof makeRecord>, facts: ProcessFacts) => judge(record, { now: Date.now(), localHostname: LOCAL, process: facts });

/** The record a registrant writes from what its probe said at register(). */
async function registeredWith(probe: ProcLivenessProbe) {
  const start = await probe.startOf(process.pid);
  expect(start?.timeMs).toBeDefined();
  expect(start?.token).toMatch(/^[0-9a-f-]{36}:\d+$/);
  return makeRecord({
    hostname: LOCAL,
    process_start_time: formatTimestamp(start?.timeMs as number),
    process_start_token: start?.token,
  });
}

describe('ProcLivenessProbe across a wall-clock step (btime moves)', () => {
  let proc: Awaited<ReturnType<typeof fakeProc>>;
  beforeEach(async () => {
    proc = await fakeProc();
  });
  afterEach(async () => {
    await proc[Symbol.asyncDispose]();
  });

  it('a discoverer started after a +3 s step still finds the registrant healthy: the start token decides', async () => {
    const record = await registeredWith(new ProcLivenessProbe({ procRoot: proc.root }));
    await proc.step(3_000);
    const discoverer = new ProcLivenessProbe({ procRoot: proc.root });
    const facts = (await discoverer.snapshot([process.pid])).get(process.pid);
    // The start time it computes really did move with the clock…
    expect(facts.alive && (facts.startTimeMs as number) - Date.parse(record.process_start_time as string)).toBe(3_000);
    // …but the token did not.
    expect(facts.alive && facts.startToken).toBe(record.process_start_token);
    expect(judgeLocal(record, facts)).toEqual({ health: 'healthy' });
  });

  it.each([-3_000, 3_600_000, -86_400_000])('and after a step of %i ms', async (ms) => {
    const record = await registeredWith(new ProcLivenessProbe({ procRoot: proc.root }));
    await proc.step(ms);
    const facts = (await new ProcLivenessProbe({ procRoot: proc.root }).snapshot([process.pid])).get(process.pid);
    expect(judgeLocal(record, facts)).toEqual({ health: 'healthy' });
  });

  it('re-reads btime on every snapshot: a long-lived discoverer agrees with a token-less record written after the step', async () => {
    const discoverer = new ProcLivenessProbe({ procRoot: proc.root });
    const before = (await discoverer.snapshot([process.pid])).get(process.pid);
    await proc.step(3_000);
    const after = (await discoverer.snapshot([process.pid])).get(process.pid);
    expect(before.alive && after.alive && (after.startTimeMs as number) - (before.startTimeMs as number)).toBe(3_000);
    // A writer without tokens (an older version, say) registering after the step.
    const start = await new ProcLivenessProbe({ procRoot: proc.root }).startOf(process.pid);
    const tokenless = makeRecord({ hostname: LOCAL, process_start_time: formatTimestamp(start?.timeMs as number) });
    expect(judgeLocal(tokenless, after)).toEqual({ health: 'healthy' });
    // startOf re-reads it too.
    expect((await discoverer.startOf(process.pid))?.timeMs).toBe(start?.timeMs);
  });

  it('a reboot (another boot id) gives another token: pid-reused, even at the same start time', async () => {
    const record = await registeredWith(new ProcLivenessProbe({ procRoot: proc.root }));
    await proc.setBootId('00000000-0000-4000-8000-000000000000');
    const facts = (await new ProcLivenessProbe({ procRoot: proc.root }).snapshot([process.pid])).get(process.pid);
    expect(facts.alive && facts.startTimeMs).toBe(Date.parse(record.process_start_time as string));
    expect(judgeLocal(record, facts)).toMatchObject({ health: 'stale', reason: 'pid-reused' });
  });

  it('reads the boot id once: it cannot change without a reboot, which ends this process too', async () => {
    const probe = new ProcLivenessProbe({ procRoot: proc.root });
    const first = await probe.startOf(process.pid);
    await proc.setBootId('00000000-0000-4000-8000-000000000000');
    expect((await probe.startOf(process.pid))?.token).toBe(first?.token);
  });

  it('without a readable boot id there is no token, and the start time decides', async () => {
    await rm(join(proc.root, 'sys'), { recursive: true });
    const probe = new ProcLivenessProbe({ procRoot: proc.root });
    const start = await probe.startOf(process.pid);
    expect(start?.token).toBeUndefined();
    expect(start?.timeMs).toBeDefined();
    const facts = (await probe.snapshot([process.pid])).get(process.pid);
    expect(facts).toEqual({ alive: true, startTimeMs: start?.timeMs });
  });

  it('a garbled boot id gives no token', async () => {
    await proc.setBootId('not a boot id: spaces and colons');
    expect((await new ProcLivenessProbe({ procRoot: proc.root }).startOf(process.pid))?.token).toBeUndefined();
  });

  it('through the facade: a registrant stays listed, every discovery, by fresh discoverers after a +3 s step', async () => {
    await using tmp = await tempRegistryDir();
    const open = () => createRegistry({ store: `json:${tmp.dir}`, liveness: new ProcLivenessProbe({ procRoot: proc.root }), exitHooks: new ExitHooks() });
    await using registrant = await open();
    const registered = await registrant.register({ mcpCommand: 'node server.js' });
    expect(registered.process_start_token).toMatch(/^[0-9a-f-]{36}:\d+$/);
    await proc.step(3_000);
    for (let i = 0; i < 3; i++) {
      await using discoverer = await open();
      const report = await discoverer.inspect();
      expect(report.removed).toEqual([]);
      expect(report.services.map((s) => [s.record.instance_id, s.health])).toEqual([[registered.instance_id, 'healthy']]);
      await registrant.heartbeat();
    }
  });
});
