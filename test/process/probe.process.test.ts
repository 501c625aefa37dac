import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, startServe } from '../support/monitor.js';
import { CLI, Child, cli, tempRegistryDir, waitFor } from '../support/processes.js';
import { Started, connectClient, httpInstance, whoami } from '../support/mcp-instances.js';

const started = new Started();
afterEach(() => started.stop());

type Event = { type: string; health?: string; reason?: string; record: { instance_id: string } };

function events(child: Child): Event[] {
  return child.output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Event);
}

describe('endpoint probes (ADR 0023)', () => {
  it('watch --probe: a stopped server (SIGSTOP) becomes unresponsive (endpoint-down), is never removed, and is healthy again on SIGCONT', async () => {
    await using tmp = await tempRegistryDir();
    const server = await httpInstance(started, tmp.dir, 'probed', 'P');
    const id = String(server.record['instance_id']);
    const watch = new Child(process.execPath, [CLI, 'watch', '--json', '--probe', '--probe-interval', '0.2', '--probe-failures', '2'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir } });
    started.children.push(watch);
    await waitFor(() => events(watch).some((e) => e.type === 'added' && e.record.instance_id === id), { message: () => watch.stderrText });
    expect(events(watch)[0]).toMatchObject({ type: 'added', health: 'healthy' });

    process.kill(server.pid, 'SIGSTOP');
    await waitFor(() => events(watch).some((e) => e.type === 'updated' && e.reason === 'endpoint-down'), { message: () => watch.output + watch.stderrText });
    expect(events(watch).find((e) => e.reason === 'endpoint-down')).toMatchObject({ type: 'updated', health: 'unresponsive', record: { instance_id: id } });

    process.kill(server.pid, 'SIGCONT');
    const downAt = events(watch).findIndex((e) => e.reason === 'endpoint-down');
    await waitFor(() => events(watch).slice(downAt + 1).some((e) => e.type === 'updated' && e.health === 'healthy'), { message: () => watch.output });
    expect(events(watch).some((e) => e.type === 'removed')).toBe(false);
  });

  it('a watch without --probe does not see a stopped server: its process and heartbeats are fine', async () => {
    await using tmp = await tempRegistryDir();
    const server = await httpInstance(started, tmp.dir, 'unprobed', 'P');
    const watch = new Child(process.execPath, [CLI, 'watch', '--json', '--sweep', '100'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir } });
    started.children.push(watch);
    await waitFor(() => events(watch).length === 1);
    process.kill(server.pid, 'SIGSTOP');
    // Control for the test above: over the time in which probes report it, nothing changes here.
    const probed = new Child(process.execPath, [CLI, 'watch', '--json', '--probe', '--probe-interval', '0.2', '--probe-failures', '2'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir } });
    started.children.push(probed);
    await waitFor(() => events(probed).some((e) => e.reason === 'endpoint-down'), { message: () => probed.output + probed.stderrText });
    // Its run heartbeats on (every 10 s): a heartbeat may land meanwhile, as an update that is still healthy.
    const seen = events(watch);
    expect(seen[0]).toMatchObject({ type: 'added', health: 'healthy' });
    expect(seen.filter((e) => e.type !== 'updated' || e.health !== 'healthy').map((e) => e.type)).toEqual(['added']);
    process.kill(server.pid, 'SIGCONT');
  });

  it('serve --probe: the event stream reports endpoint-down, then healthy again', async () => {
    await using tmp = await tempRegistryDir();
    const server = await httpInstance(started, tmp.dir, 'served', 'P');
    const { child, url } = await startServe(`json:${tmp.dir}`, ['--probe', '--probe-interval', '0.2', '--probe-failures', '2']);
    started.children.push(child);
    const stream = await EventStream.open(`${url}v1/events`);
    try {
      await stream.next((m) => m.event === 'added', 'the instance added');
      process.kill(server.pid, 'SIGSTOP');
      const down = await stream.next((m) => m.event === 'updated' && (JSON.parse(m.data) as Event).reason === 'endpoint-down', 'endpoint-down');
      expect(JSON.parse(down.data)).toMatchObject({ type: 'updated', health: 'unresponsive', reason: 'endpoint-down' });
      process.kill(server.pid, 'SIGCONT');
      await stream.next((m) => m.event === 'updated' && (JSON.parse(m.data) as Event).health === 'healthy', 'healthy again');
    } finally {
      process.kill(server.pid, 'SIGCONT');
      stream.close();
    }
  });

  it('connect prefers an instance whose endpoint answers over a newer one that is stopped', async () => {
    await using tmp = await tempRegistryDir();
    const older = await httpInstance(started, tmp.dir, 'older', 'P');
    const newer = await httpInstance(started, tmp.dir, 'newer', 'P');
    process.kill(newer.pid, 'SIGSTOP');
    try {
      const { client } = await connectClient(started, tmp.dir, ['--project', 'P']);
      expect(await whoami(client)).toMatchObject({ name: 'older', pid: older.pid });
    } finally {
      process.kill(newer.pid, 'SIGCONT');
    }
  });

  it('--probe-interval and --probe-failures need --probe and valid values (usage error, exit 2)', async () => {
    for (const args of [['--probe-interval', '1'], ['--probe', '--probe-interval', 'soon'], ['--probe', '--probe-failures', '0']]) {
      const result = await cli(['watch', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
    }
  });
});
