// Regenerates docs/images/monitor.png: `marcus-registry serve` on a fresh
// JSON registry with three instances started by `run`, the live page in
// Debian's headless Chromium (playwright-core). Needs `npm run build` first.
//   node scripts/monitor-screenshot.mjs [out.png]
import { spawn } from 'node:child_process';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/interfaces/cli/main.cjs');
const out = process.argv[2] ?? join(root, 'docs/images/monitor.png');
const dir = await mkdtemp(join(tmpdir(), 'marcus-shot-'));
await chmod(dir, 0o700);
const store = `json:${dir}`;
const children = [];
const start = (args) => {
  const child = spawn(process.execPath, [cli, '--store', store, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  const server = start(['serve', '--port', '0']);
  const url = await new Promise((resolve, reject) => {
    let text = '';
    server.stdout.on('data', (d) => {
      text += d;
      const m = /serving (http:\/\/\S+)/.exec(text);
      if (m) resolve(m[1]);
    });
    server.on('exit', () => reject(new Error('serve exited')));
  });
  const instances = [
    ['marcus_kanban', '--project', 'website-redesign', '--provider', 'github', '--capability', 'kanban'],
    ['marcus_planner', '--project', 'mobile-app', '--provider', 'linear'],
    ['marcus_ops', '--project', 'infra', '--provider', 'planka', '--mcp-url', 'http://127.0.0.1:8765/mcp'],
  ];
  for (const [id, ...args] of instances) {
    start(['run', '--instance-id', id, '--heartbeat', '2000', ...args, '--', 'sleep', '600']);
    await sleep(1500);
  }
  const browser = await chromium.launch({
    executablePath: process.env.MARCUS_TEST_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 330 }, deviceScaleFactor: 1, colorScheme: 'light' });
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 3, null, { timeout: 20_000 });
  await sleep(2500);
  await page.screenshot({ path: out, fullPage: true });
  await browser.close();
  console.log(`wrote ${out}`);
} finally {
  for (const child of children.reverse()) child.kill('SIGTERM');
  await sleep(500);
  await rm(dir, { recursive: true, force: true });
}
