import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitHooks } from '../../../src/app/exit-hooks.js';

/** Generous guard so a hung child fails the test instead of hanging it; not a timing assertion. */
const HANG_GUARD_MS = 20_000;

let work: string;
let hooksUrl: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'marcus-exit-hooks-'));
  // exit-hooks.ts imports nothing: compile today's source for the children, so the
  // test never runs a stale dist/.
  const source = readFileSync(new URL('../../../src/app/exit-hooks.ts', import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const file = join(work, 'exit-hooks.mjs');
  writeFileSync(file, outputText);
  hooksUrl = pathToFileURL(file).href;
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Child {
  readonly process: ChildProcess;
  readonly markers: string;
  waitFor(line: string): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

let counter = 0;

/**
 * Starts a node child running `body` after a prelude that imports ExitHooks and
 * defines `mark(name)` (writes a marker file) and `say(line)` (a stdout line).
 */
function startChild(body: string): Child {
  const markers = mkdtempSync(join(work, 'markers-'));
  const script = join(work, `child-${++counter}.mjs`);
  writeFileSync(
    script,
    `
import { ExitHooks } from ${JSON.stringify(hooksUrl)};
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const markers = ${JSON.stringify(markers)};
const mark = (name) => writeFileSync(join(markers, name), String(process.pid));
const say = (line) => process.stdout.write(line + '\\n');
const hooks = new ExitHooks();
${body}
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  const check = () => {
    const lines = out.split('\n');
    for (const waiter of [...waiters]) {
      if (lines.includes(waiter.line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS);
  void exited.then(() => clearTimeout(guard));
  return {
    process: child,
    markers,
    stderr: () => err,
    exited,
    waitFor(line) {
      return new Promise<void>((resolve, reject) => {
        waiters.push({ line, resolve });
        check();
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (code ${code}, signal ${signal}) before printing "${line}"; stdout: ${out}; stderr: ${err}`)),
        );
      });
    },
  };
}

const has = (child: Child, marker: string) => existsSync(join(child.markers, marker));

const CLEANUP = `
hooks.add({
  sync() { mark('sync'); },
  async async() { await new Promise((r) => setTimeout(r, 20)); mark('async'); say('async-done'); },
});
`;

const KEEP_ALIVE = `setInterval(() => {}, 1_000);`;

describe('ExitHooks in a real process', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    'without a host %s handler: runs the cleanup, then the process dies by %s',
    async (signal) => {
      const child = startChild(`${CLEANUP}\n${KEEP_ALIVE}\nsay('ready');`);
      await child.waitFor('ready');
      child.process.kill(signal);
      const { code, signal: died } = await child.exited;
      expect({ code, signal: died }).toEqual({ code: null, signal });
      expect(has(child, 'async')).toBe(true);
      expect(has(child, 'sync')).toBe(true);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    "with the host's own SIGTERM handler: leaves the signal to the host (no cleanup, process alive), cleans up when it exits",
    async () => {
      const child = startChild(`
process.on('SIGTERM', () => say('host-handled'));
${CLEANUP}
process.stdin.setEncoding('utf8').on('data', (text) => {
  if (text.includes('ping')) say('pong');
  if (text.includes('exit')) process.exit(0);
});
say('ready');
`);
      await child.waitFor('ready');
      child.process.kill('SIGTERM');
      await child.waitFor('host-handled');

      // Still alive and responsive, and still registered: a host that handles a
      // signal (SIGHUP = reload) keeps running, so its entry must stay.
      child.process.stdin?.write('ping\n');
      await child.waitFor('pong');
      expect(child.process.exitCode).toBeNull();
      expect(child.process.signalCode).toBeNull();
      expect(has(child, 'async')).toBe(false);
      expect(has(child, 'sync')).toBe(false);

      child.process.stdin?.write('exit\n');
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(has(child, 'sync')).toBe(true);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'a host handler registered after the hooks also counts',
    async () => {
      const child = startChild(`
${CLEANUP}
process.on('SIGTERM', () => say('host-handled'));
process.stdin.setEncoding('utf8').on('data', (text) => {
  if (text.includes('ping')) say('pong');
  if (text.includes('exit')) process.exit(0);
});
say('ready');
`);
      await child.waitFor('ready');
      child.process.kill('SIGTERM');
      await child.waitFor('host-handled');
      child.process.stdin?.write('ping\n');
      await child.waitFor('pong');
      expect(has(child, 'async')).toBe(false);
      child.process.stdin?.write('exit\n');
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(has(child, 'sync')).toBe(true);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'on a normal exit runs the sync cleanup (not the async one)',
    async () => {
      const child = startChild(`${CLEANUP}\nsay('ready');`);
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(has(child, 'sync')).toBe(true);
      expect(has(child, 'async')).toBe(false);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'on process.exit(code) runs the sync cleanup and keeps the exit code',
    async () => {
      const child = startChild(`${CLEANUP}\nprocess.exit(7);`);
      expect(await child.exited).toEqual({ code: 7, signal: null });
      expect(has(child, 'sync')).toBe(true);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'a throwing sync cleanup does not stop the others nor change the exit code',
    async () => {
      const child = startChild(`
hooks.add({ sync() { throw new Error('first fails'); }, async async() {} });
hooks.add({ sync() { mark('second'); }, async async() {} });
`);
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(has(child, 'second')).toBe(true);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'a removed cleanup does not run, and with none left the default signal behaviour is back',
    async () => {
      const child = startChild(`
const remove = hooks.add({ sync() { mark('sync'); }, async async() { mark('async'); } });
remove();
${KEEP_ALIVE}
say('ready');
`);
      await child.waitFor('ready');
      child.process.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(has(child, 'sync')).toBe(false);
      expect(has(child, 'async')).toBe(false);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'a failing async cleanup still lets the process die by the signal',
    async () => {
      const child = startChild(`
hooks.add({ sync() { mark('sync'); }, async async() { mark('async'); throw new Error('cleanup failed'); } });
${KEEP_ALIVE}
say('ready');
`);
      await child.waitFor('ready');
      child.process.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(has(child, 'async')).toBe(true);
      expect(has(child, 'sync')).toBe(true);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'a second signal during a hung async cleanup kills the process at once',
    async () => {
      const child = startChild(`
hooks.add({ sync() { mark('sync'); }, async async() { say('cleanup-started'); await new Promise(() => {}); } });
${KEEP_ALIVE}
say('ready');
`);
      await child.waitFor('ready');
      child.process.kill('SIGTERM');
      await child.waitFor('cleanup-started');
      child.process.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(has(child, 'sync')).toBe(true);
    },
    HANG_GUARD_MS + 10_000,
  );

  it(
    'runs every registered cleanup once on a signal',
    async () => {
      const child = startChild(`
let syncRuns = 0;
for (const name of ['a', 'b', 'c']) {
  hooks.add({ sync() { syncRuns++; mark('sync-' + name + '-' + syncRuns); }, async async() { mark('async-' + name); } });
}
${KEEP_ALIVE}
say('ready');
`);
      await child.waitFor('ready');
      child.process.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
      for (const name of ['a', 'b', 'c']) expect(has(child, `async-${name}`)).toBe(true);
      // The sync pass runs once over the three cleanups, not again from 'exit'.
      expect(['sync-a-1', 'sync-b-2', 'sync-c-3'].every((m) => has(child, m))).toBe(true);
      expect(has(child, 'sync-a-4')).toBe(false);
    },
    HANG_GUARD_MS + 10_000,
  );
});

describe('ExitHooks in this process (listeners only, no signals)', () => {
  it('installs its listeners with the first cleanup and removes them with the last', () => {
    const hooks = new ExitHooks();
    const before = { exit: process.listenerCount('exit'), term: process.listenerCount('SIGTERM') };
    const noop = { sync() {}, async async() {} };
    const removeA = hooks.add(noop);
    const removeB = hooks.add({ ...noop });
    expect(hooks.size).toBe(2);
    expect(process.listenerCount('exit')).toBe(before.exit + 1);
    expect(process.listenerCount('SIGTERM')).toBe(before.term + (process.platform === 'win32' ? 0 : 1));
    removeA();
    expect(hooks.size).toBe(1);
    expect(process.listenerCount('exit')).toBe(before.exit + 1);
    removeB();
    expect(hooks.size).toBe(0);
    expect(process.listenerCount('exit')).toBe(before.exit);
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    removeB();
    expect(process.listenerCount('exit')).toBe(before.exit);
  });
});
