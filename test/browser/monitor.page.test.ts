import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { startServe, stopChildren, stopServe } from '../support/monitor.js';
import { CLI, Child, cli, loadFactor, ROOT, tempRegistryDir, waitFor } from '../support/processes.js';
import { makeRecord } from '../support/records.js';

/**
 * The live page in a real headless Chromium against a real `serve` process:
 * rows appear and go as `run` starts and stops instances, without a reload.
 */
let launched: Promise<Browser> | undefined;
/** Playwright's waits are hang guards: longer on a loaded machine, as waitFor's. */
const hangGuard = (ms: number) => ms * loadFactor();

const children: Child[] = [];

/** Launched by the first test that needs it, so a missing Chromium fails each test (a beforeAll failure would report them as skipped). */
function browser(): Promise<Browser> {
  return (launched ??= launchChromium());
}
afterAll(async () => {
  await (await launched?.catch(() => undefined))?.close();
});
afterEach(() => stopChildren(children));

/** A registered `sleep 60` under `run`; 2 s heartbeats keep it healthy 6 s after the last one, also on a loaded machine. */
async function registrant(store: string, id: string, args: readonly string[] = []): Promise<Child> {
  const child = new Child(process.execPath, [CLI, '--store', store, 'run', '--instance-id', id, '--heartbeat', '2000', ...args, '--', 'sleep', '60']);
  children.push(child);
  await waitFor(async () => (await cli(['--store', store, 'show', id])).code === 0, { message: () => `${id} never registered: ${child.stderrText}` });
  return child;
}

/** Opens the page and counts its navigations and dialogs (there must be one and none). */
async function open(url: string, before: (page: Page) => Promise<void> = async () => {}): Promise<{ page: Page; navigations: () => number; dialogs: string[]; errors: string[] }> {
  const page = await (await browser()).newPage();
  let navigations = 0;
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await before(page);
  await page.goto(url);
  await page.waitForSelector('#state.live', { timeout: hangGuard(20_000) });
  return { page, navigations: () => navigations, dialogs, errors };
}

describe('the live page (headless Chromium)', () => {
  it('shows an instance started with run, without a reload, and drops it when it stops', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const { child: server, url } = await startServe(store, ['--sweep', '200']);
    children.push(server);
    const { page, navigations, errors } = await open(url);
    await page.waitForSelector('#empty', { state: 'visible', timeout: hangGuard(20_000) });
    expect(await page.isVisible('#loading')).toBe(false);

    const run = await registrant(store, 'marcus_page', ['--project', 'alpha', '--provider', 'github']);
    const row = await page.waitForSelector('tr[data-instance-id="marcus_page"]', { timeout: hangGuard(20_000) });
    const cells = await row.$$eval('td', (tds) => tds.map((td) => td.textContent ?? ''));
    expect(cells[0]).toBe('marcus_page');
    expect(cells[1]).toBe('alpha');
    expect(cells[2]).toBe('github');
    expect(cells[3]).toBe('running');
    expect(cells[4]).toBe('healthy');
    expect(Number(cells[5])).toBeGreaterThan(0);
    expect(cells[7]).toMatch(/^\d+[smhd]$/);
    expect(cells[8]).toMatch(/^\d+[smhd]$/);
    expect(await row.$eval('td.cmd code', (c) => c.textContent)).toBe('marcus-registry connect --instance marcus_page');
    const copy = await row.$('button.copy');
    expect(copy).not.toBeNull();
    expect(await copy?.textContent()).toBe('Copy');
    expect(await page.textContent('#count')).toBe('1 instance');
    expect(await page.isVisible('#empty')).toBe(false);
    // Ages tick in the browser: the uptime cell changes with no event from the server.
    const up = await row.$eval('td.up', (td) => td.textContent);
    await page.waitForFunction((before) => document.querySelector('tr[data-instance-id="marcus_page"] td.up')?.textContent !== before, up, { timeout: hangGuard(10_000) });

    run.kill('SIGTERM');
    await run.exited;
    await page.waitForSelector('tr[data-instance-id="marcus_page"]', { state: 'detached', timeout: hangGuard(20_000) });
    expect(await page.textContent('#count')).toBe('0 instances');
    expect(navigations()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
    await stopServe(server);
  });

  it('renders a record full of markup as text: no element, no script, no dialog', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const { child: server, url } = await startServe(store);
    children.push(server);
    const evil = '<img src=x onerror=alert(1)>';
    await registrant(store, 'marcus_evil', ['--project', evil, '--provider', '<script>alert(2)</script>']);
    const { page, dialogs, errors } = await open(url);
    const row = await page.waitForSelector('tr[data-instance-id="marcus_evil"]', { timeout: hangGuard(20_000) });
    expect(await row.$eval('td.project', (td) => td.textContent)).toBe(evil);
    expect(await row.$eval('td.provider', (td) => td.textContent)).toBe('<script>alert(2)</script>');
    expect(await page.$$('#rows img, #rows script')).toHaveLength(0);
    expect(await page.evaluate(() => document.images.length)).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
    await stopServe(server);
  });

  it('says Loading… (not "No running instances") until it knows; shows MCP URL and transport, capabilities and why an instance is unresponsive; fits 700 px and 1400 px', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const { child: server, url } = await startServe(store, ['--sweep', '200']);
    children.push(server);
    await registrant(store, 'marcus_http', ['--project', 'alpha', '--mcp-url', 'http://127.0.0.1:9/mcp', '--transport', 'sse', '--capability', 'kanban', '--capability', 'agents']);
    // A live process whose heartbeat stopped a while ago: unresponsive (heartbeat-missed).
    const quiet = new Child('sleep', ['60']);
    children.push(quiet);
    const old = new Date(Date.now() - 600_000).toISOString().replace('Z', '000+00:00');
    const stuck = makeRecord({ instance_id: 'marcus_stuck', pid: quiet.pid, project_name: 'beta', heartbeat_interval_ms: 1_000, last_heartbeat: old }); // started_at now: not before its process (pid-started-later)
    await writeFile(join(tmp.dir, 'marcus_stuck.json'), JSON.stringify(stuck, null, 2), { mode: 0o600 });

    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { page, errors } = await open(url, async (p) => {
      await p.route('**/v1/services', async (route) => {
        await gate;
        await route.continue();
      });
    });
    const shots = join(ROOT, 'test-results', 'monitor-page');
    await mkdir(shots, { recursive: true });
    // Right after load, before the first snapshot: loading, and no claim that nothing runs.
    expect(await page.isVisible('#loading')).toBe(true);
    expect(await page.isVisible('#empty')).toBe(false);
    expect(await page.textContent('#count')).toBe('…');
    await page.screenshot({ path: join(shots, 'loading.png') });
    release();

    const http = await page.waitForSelector('tr[data-instance-id="marcus_http"]', { timeout: hangGuard(20_000) });
    expect(await http.$eval('td.mcp .url', (e) => e.textContent)).toBe('http://127.0.0.1:9/mcp');
    expect(await http.$eval('td.mcp .transport', (e) => e.textContent)).toBe('sse');
    expect(await http.$$eval('td.caps .tag', (tags) => tags.map((t) => t.textContent))).toEqual(['kanban', 'agents']);
    const stuckRow = await page.waitForSelector('tr[data-instance-id="marcus_stuck"]', { timeout: hangGuard(20_000) });
    await page.waitForSelector('tr[data-instance-id="marcus_stuck"] td.health .why', { timeout: hangGuard(20_000) });
    expect(await stuckRow.$eval('td.health .word', (e) => e.textContent)).toBe('unresponsive');
    expect(await page.$eval('tr[data-instance-id="marcus_stuck"] td.health .why', (e) => e.textContent)).toMatch(/^heartbeat-missed: no heartbeat for \d+ s/);
    expect(await stuckRow.$eval('td.mcp .url', (e) => e.textContent)).toBe('stdio');
    expect(await page.isVisible('#loading')).toBe(false);
    expect(await page.textContent('#count')).toBe('2 instances');

    for (const width of [700, 1400]) {
      await page.setViewportSize({ width, height: 900 });
      const overflow = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      expect(overflow.scroll, `horizontal overflow at ${width} px`).toBeLessThanOrEqual(overflow.client);
      expect(await page.isVisible('tr[data-instance-id="marcus_http"] td.mcp .url')).toBe(true);
      expect(await page.isVisible('tr[data-instance-id="marcus_stuck"] td.health .why')).toBe(true);
      const file = join(shots, `instances-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const png = await readFile(file);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(width);
    }
    expect(errors).toEqual([]);
    await page.close();
    await stopServe(server);
  });
});
