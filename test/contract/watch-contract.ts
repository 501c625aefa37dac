import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import type { ServiceRegistry } from '../../src/app/service-registry.js';
import type { RegistryEvent } from '../../src/domain/changes.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import type { RegistryStore } from '../../src/ports/store.port.js';
import { EventTap, isEvent, summary } from '../support/event-tap.js';
import { FIXTURES, waitFor } from '../support/processes.js';
import { makeRecord } from '../support/records.js';
import type { StoreHarness } from './store-contract.js';

/** Short, so a dead process is noticed quickly; the timeouts below are hang guards only. */
const SWEEP_MS = 200;

/** Handles a watch can hold in this process: fs.watch handles and ref'd timers (intervals, debounce). */
function activeHandles(): { fsWatchers: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { fsWatchers: info.filter((r) => r === 'FSEventWrap').length, timers: info.filter((r) => r === 'Timeout').length };
}

/**
 * Waits (hang guard) until the process holds no more handles than `before`.
 * etcd's gRPC client starts and stops timers of its own, so counts may move
 * briefly; a leaked watcher or interval never goes away.
 */
async function expectReleased(before: { fsWatchers: number; timers: number }): Promise<void> {
  await waitFor(
    () => {
      const now = activeHandles();
      return now.fsWatchers <= before.fsWatchers && now.timers <= before.timers;
    },
    { timeoutMs: 10_000, message: () => `still held: ${JSON.stringify(activeHandles())}, before the watch: ${JSON.stringify(before)}` },
  );
}

/**
 * The watch contract, run on every store through the facade. The watching
 * registry wraps the harness's store; changes are made through a second store
 * object on the same data where the harness offers one (another process's view:
 * another connection, another etcd client), else through the same store.
 */
export function testWatchContract(current: () => StoreHarness): void {
  const registries: ServiceRegistry[] = [];
  const children: ChildProcess[] = [];
  const controllers: AbortController[] = [];

  afterEach(async () => {
    for (const c of controllers.splice(0)) c.abort();
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const r of registries.splice(0).reverse()) await r.close();
  });

  const registryOn = async (store: RegistryStore): Promise<ServiceRegistry> => {
    const registry = await createRegistry({ store, exitHooks: new ExitHooks(), settings: { exitHooks: false } });
    registries.push(registry);
    return registry;
  };
  /** The watching side and the writing side. */
  const setUp = async () => {
    const harness = current();
    const watcher = await registryOn(harness.store);
    const other = harness.openAnother ? await harness.openAnother() : harness.store;
    const writer = other === harness.store ? watcher : await registryOn(other);
    return { harness, watcher, writer, writerStore: other };
  };
  const tap = (registry: ServiceRegistry, options: Parameters<ServiceRegistry['watch']>[0] = {}) => {
    const controller = new AbortController();
    controllers.push(controller);
    return { tap: new EventTap(registry.watch({ sweepIntervalMs: SWEEP_MS, ...options, signal: controller.signal })), controller };
  };
  const register = (registry: ServiceRegistry, instanceId: string, extra: Partial<Parameters<ServiceRegistry['register']>[0]> = {}) =>
    registry.register({ mcpCommand: 'node server.js', instanceId, projectName: 'alpha', heartbeatIntervalMs: false, ...extra });

  it('delivers the current state first, one added per live instance, before any change', async () => {
    const { writerStore, watcher } = await setUp();
    // Started after this process (the pid they name), or they would be pid-started-later (ADR 0017).
    await writerStore.put(makeRecord({ instance_id: 'marcus_s1', started_at: formatTimestamp(Date.now()) }));
    await writerStore.put(makeRecord({ instance_id: 'marcus_s2', started_at: formatTimestamp(Date.now() + 1_000) }));
    const { tap: events } = tap(watcher);
    await events.next(isEvent('added', 'marcus_s2'), 'the second initial entry');
    expect(events.events.map(summary)).toEqual(['added:marcus_s1', 'added:marcus_s2']);
    expect(events.events.every((e) => e.type === 'added' && e.health === 'healthy')).toBe(true);
  });

  it('reports register as added, heartbeat and update as updated, unregister as removed (unregistered)', async () => {
    const { watcher, writer } = await setUp();
    const { tap: events } = tap(watcher);
    await register(writer, 'marcus_life');
    const added = await events.next(isEvent('added', 'marcus_life'), 'added on register');
    expect(added).toMatchObject({ type: 'added', health: 'healthy', record: { instance_id: 'marcus_life', project_name: 'alpha' } });

    await writer.heartbeat();
    await events.next(isEvent('updated', 'marcus_life'), 'updated on heartbeat');

    await writer.update({ status: 'busy', loadMetrics: { active_agents: 2 } });
    const updated = await events.next((e) => isEvent('updated', 'marcus_life')(e) && e.record.status === 'busy', 'updated on update');
    expect(updated.record.load_metrics).toEqual({ active_agents: 2 });

    await writer.unregister();
    const removed = await events.next(isEvent('removed', 'marcus_life'), 'removed on unregister');
    expect(removed).toMatchObject({ type: 'removed', reason: 'unregistered', record: { instance_id: 'marcus_life', status: 'busy' } });
    expect(events.events.filter((e) => e.type === 'added')).toHaveLength(1);
  });

  it('reports a clean stop as removed (unregistered) even when the process has exited by then (as `run` unregisters its exited child)', async () => {
    const { watcher, writer, writerStore } = await setUp();
    const { tap: events } = tap(watcher);
    const child = spawn(process.execPath, ['-e', "process.stdin.resume(); process.stdin.on('end', () => process.exit(0))"], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(child);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await register(writer, 'marcus_clean', { pid: child.pid });
    await events.next(isEvent('added', 'marcus_clean'), 'the child added');
    // The child ends normally, then its registration is removed by its owner.
    child.stdin?.end();
    await exited;
    await writer.unregister();
    const removed = await events.next(isEvent('removed', 'marcus_clean'), 'the clean stop removed');
    expect(removed.type === 'removed' && removed.reason).toBe('unregistered');
    expect(await writerStore.get('marcus_clean')).toBeUndefined();
  });

  it('reports a SIGKILLed registrant as removed (process-exited) at the next sweep, and removes its entry', async () => {
    const { harness, watcher, writer, writerStore } = await setUp();
    const { tap: events } = tap(watcher);
    let child: ChildProcess;
    let instanceId: string;
    if (harness.uri) {
      // A process that registers itself through the public API, in a store other processes share.
      instanceId = 'marcus_victim';
      child = spawn(process.execPath, [join(FIXTURES, 'registrant.mjs'), harness.uri, instanceId, '60000'], { stdio: 'ignore' });
    } else {
      // The memory store lives in this process: register a real child under its pid, as `run` does.
      child = spawn('sleep', ['60'], { stdio: 'ignore' });
      instanceId = 'marcus_victim';
      await register(writer, instanceId, { pid: child.pid });
    }
    children.push(child);
    const added = await events.next(isEvent('added', instanceId), 'the registrant added');
    expect(added.record.pid).toBe(child.pid);

    child.kill('SIGKILL');
    const removed = await events.next(isEvent('removed', instanceId), 'the killed registrant removed');
    expect(removed.type === 'removed' && removed.reason).toBe('process-exited');
    await waitFor(async () => (await writerStore.get(instanceId)) === undefined, { message: () => 'the stale entry pruned' });
  });

  it('reports only instances matching the filters; one that stops matching is removed', async () => {
    const { watcher, writerStore } = await setUp();
    await writerStore.put(makeRecord({ instance_id: 'marcus_beta0', project_name: 'beta' }));
    const { tap: events } = tap(watcher, { filters: { project: 'alpha' } });
    await writerStore.put(makeRecord({ instance_id: 'marcus_beta1', project_name: 'beta' }));
    await writerStore.put(makeRecord({ instance_id: 'marcus_alpha', project_name: 'alpha' }));
    await events.next(isEvent('added', 'marcus_alpha'), 'the alpha instance added');
    await writerStore.update('marcus_beta1', (r) => ({ ...r, status: 'busy' }));
    await writerStore.update('marcus_alpha', (r) => ({ ...r, status: 'busy' }));
    await events.next(isEvent('updated', 'marcus_alpha'), 'the alpha instance updated');
    await writerStore.update('marcus_alpha', (r) => ({ ...r, project_name: 'beta' }));
    const left = await events.next(isEvent('removed', 'marcus_alpha'), 'the instance that left project alpha');
    expect(left.record.project_name).toBe('beta');
    await writerStore.delete('marcus_beta0');
    await writerStore.put(makeRecord({ instance_id: 'marcus_alpha2', project_name: 'alpha' }));
    await events.next(isEvent('added', 'marcus_alpha2'), 'the second alpha instance added');
    expect(events.events.map(summary)).toEqual(['added:marcus_alpha', 'updated:marcus_alpha', 'removed:marcus_alpha:unregistered', 'added:marcus_alpha2']);
  });

  it('ends the iterator on abort and releases every watcher and timer it held', async () => {
    const { harness, watcher, writerStore } = await setUp();
    await writerStore.put(makeRecord({ instance_id: 'marcus_res' }));
    const before = activeHandles();
    const serverBefore = await harness.serverWatchers?.();
    const { tap: events, controller } = tap(watcher);
    await events.next(isEvent('added', 'marcus_res'), 'the initial entry');
    // What the watch holds: the server's watch (etcd, whose gRPC client makes the timer count noisy), else the sweep timer.
    if (harness.serverWatchers) expect(await harness.serverWatchers()).toBeGreaterThan(serverBefore ?? 0);
    else expect(activeHandles().timers, 'the sweep interval is a ref\u2019d timer while watching').toBeGreaterThan(before.timers);
    controller.abort();
    await events.finished;
    await expectReleased(before);
    if (harness.serverWatchers) await waitFor(async () => (await harness.serverWatchers!()) === serverBefore, { message: () => 'the etcd watch cancelled' });
    // Nothing is delivered after the end.
    const seen = events.events.length;
    await writerStore.put(makeRecord({ instance_id: 'marcus_after' }));
    await new Promise((r) => setTimeout(r, SWEEP_MS * 2));
    expect(events.events).toHaveLength(seen);
  });

  it('ends on break (return()) and when the registry closes, releasing what it held', async () => {
    const { watcher, writerStore } = await setUp();
    await writerStore.put(makeRecord({ instance_id: 'marcus_brk' }));
    const before = activeHandles();
    const seen: RegistryEvent[] = [];
    for await (const event of watcher.watch({ sweepIntervalMs: SWEEP_MS })) {
      seen.push(event);
      break;
    }
    expect(seen.map(summary)).toEqual(['added:marcus_brk']);
    await expectReleased(before);

    const { tap: events } = tap(watcher);
    await events.next(isEvent('added', 'marcus_brk'), 'the entry, to a second iteration');
    await watcher.close();
    await events.finished;
    await expectReleased(before);
  });

  it('runs two watchers independently: ending one leaves the other delivering', async () => {
    const { watcher, writer, writerStore } = await setUp();
    const first = tap(watcher);
    const second = tap(watcher, { filters: { project: 'alpha' } });
    await register(writer, 'marcus_both');
    await first.tap.next(isEvent('added', 'marcus_both'), 'added, first watcher');
    await second.tap.next(isEvent('added', 'marcus_both'), 'added, second watcher');
    first.controller.abort();
    await first.tap.finished;
    await writerStore.put(makeRecord({ instance_id: 'marcus_later', project_name: 'alpha' }));
    await second.tap.next(isEvent('added', 'marcus_later'), 'added after the first watcher ended');
    await writer.unregister();
    await second.tap.next(isEvent('removed', 'marcus_both'), 'removed, second watcher');
    expect(first.tap.events.map(summary)).toEqual(['added:marcus_both']);
  });

  it('offers the same events through watchEvents(), an EventEmitter that close() ends', async () => {
    const { watcher, writer } = await setUp();
    const emitter = watcher.watchEvents({ sweepIntervalMs: SWEEP_MS });
    const seen: string[] = [];
    emitter.on('added', (e) => seen.push(summary(e)));
    emitter.on('updated', (e) => seen.push(summary(e)));
    emitter.on('removed', (e) => seen.push(summary(e)));
    const closed = new Promise<void>((resolve) => emitter.once('close', resolve));
    await register(writer, 'marcus_emit');
    await waitFor(() => seen.includes('added:marcus_emit'), { message: () => JSON.stringify(seen) });
    await writer.unregister();
    await waitFor(() => seen.includes('removed:marcus_emit:unregistered'), { message: () => JSON.stringify(seen) });
    await emitter.close();
    await closed;
    expect(seen).toEqual(['added:marcus_emit', 'removed:marcus_emit:unregistered']);
  });
}
