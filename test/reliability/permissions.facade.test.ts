import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/sqlite/sqlite.store.js';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { RegistryError } from '../../src/domain/errors.js';
import { runNode } from '../adapters/json-dir/children.js';
import { compiledModule } from '../adapters/json-dir/compiled.js';
import { makeTempDir } from '../adapters/json-dir/temp-dir.js';
import { CLI, runToEnd } from '../support/processes.js';
import { makeRecord } from '../support/records.js';

/**
 * Permissions promised by the FACADE (docs/reliability.md). The store-level
 * mechanics are covered in test/adapters/json-dir/permissions.test.ts (modes
 * under umask, insecure modes for every store method) and read-only.test.ts
 * (EACCES as nobody, EROFS on a tmpfs, per store method); here the same
 * promises are checked through createRegistry(): register(), update(),
 * heartbeat(), unregister(), discover().
 */

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

const open = (store: string) => createRegistry({ store, exitHooks: new ExitHooks() });
const REGISTER = { mcpCommand: 'node server.js --stdio', heartbeatIntervalMs: 60_000 } as const;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a RegistryError').toBeInstanceOf(RegistryError);
  return (error as RegistryError).code;
}

describe('facade: files 0600 and directory 0700 whatever the umask', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let savedUmask: number;
  beforeEach(async () => {
    temp = await makeTempDir('marcus-perm-');
    savedUmask = process.umask();
  });
  afterEach(async () => {
    process.umask(savedUmask);
    await temp.remove();
  });

  it.each(['000', '022', '077'])('register/update/heartbeat under umask %s', async (mask) => {
    process.umask(parseInt(mask, 8));
    const dir = join(temp.path, 'home', '.marcus', 'services');
    await using registry = await open(`json:${dir}`);
    const record = await registry.register({ ...REGISTER, instanceId: 'marcus_perm' });
    const file = join(dir, `${record.instance_id}.json`);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await registry.update({ status: 'busy' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await registry.heartbeat();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(temp.path, 'home', '.marcus'))).mode & 0o022).toBe(0);
  });

  it.each(['000', '022'])('a SQLite registry file is 0600 in a 0700 directory under umask %s', async (mask) => {
    process.umask(parseInt(mask, 8));
    const dir = join(temp.path, 'db');
    await using registry = await open(`sqlite:${join(dir, 'registry.db')}`);
    await registry.register({ ...REGISTER, instanceId: 'marcus_perm' });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'registry.db'))).mode & 0o777).toBe(0o600);
  });
});

describe('facade: a registry directory other users can write is refused', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    temp = await makeTempDir('marcus-perm-');
  });
  afterEach(async () => {
    await temp.remove();
  });

  it.each(['777', '757', '773', '1777'])('mode %s: createRegistry, register() and discover() fail with INSECURE_DIRECTORY; nothing is changed', async (octal) => {
    const mode = parseInt(octal, 8);
    const dir = join(temp.path, 'services');
    await using before = await open(`json:${dir}`); // opened while the directory was private
    await before.register({ ...REGISTER, instanceId: 'marcus_early' });
    await chmod(dir, mode);
    expect(await codeOf(open(`json:${dir}`))).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(before.discover())).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(before.inspect())).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(before.register({ ...REGISTER, instanceId: 'marcus_late' }))).toBe('INSECURE_DIRECTORY');
    expect((await stat(dir)).mode & 0o7777).toBe(mode);
    // register() first unregisters marcus_early, which is refused too: the directory is left exactly as it was.
    expect(await readdir(dir)).toEqual(['marcus_early.json']);
    await chmod(dir, 0o700);
  });
});

describe('facade: a group-writable directory of this user (Python under umask 002) is tightened, not refused (ADR 0016)', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    temp = await makeTempDir('marcus-perm-');
  });
  afterEach(async () => {
    await temp.remove();
  });

  it.each(['775', '770'])('mode %s: createRegistry, register() and discover() work; it is made owner-only with a warning', async (octal) => {
    const mode = parseInt(octal, 8);
    const dir = join(temp.path, 'services');
    await mkdir(dir);
    await chmod(dir, mode);
    const warnings: string[] = [];
    const logger = { debug() {}, warn: (m: string) => void warnings.push(m), error() {} };
    await using registry = await createRegistry({ store: `json:${dir}`, exitHooks: new ExitHooks(), logger });
    expect((await stat(dir)).mode & 0o7777).toBe(0o700);
    expect(warnings.join('\n')).toContain('was writable by its group');
    const record = await registry.register({ ...REGISTER, instanceId: 'marcus_umask' });
    expect((await registry.discover()).map((r) => r.instance_id)).toEqual([record.instance_id]);
    await chmod(dir, mode); // again, behind its back: the next read repairs it too
    expect((await registry.discover()).map((r) => r.instance_id)).toEqual([record.instance_id]);
    expect((await stat(dir)).mode & 0o7777).toBe(0o700);
  });

  it(isRoot ? 'as a real non-root user (nobody): its own 0775 directory works and is made 0700; root’s 0775 one is refused and left' : 'as this (non-root) user: its own 0775 directory works and is made 0700', async () => {
    const as = isRoot ? { uid: NOBODY, gid: NOBODY } : {};
    await chmod(temp.path, 0o711); // nobody may traverse to the directories, nothing more
    const own = join(temp.path, 'own');
    await mkdir(own);
    if (isRoot) await chown(own, NOBODY, NOBODY);
    await chmod(own, 0o775);
    const listed = await runToEnd(process.execPath, [CLI, 'list', '--json'], { ...as, env: { ...process.env, MARCUS_REGISTRY_DIR: own } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trim()).toBe('[]');
    expect(listed.stderr).toContain(`registry directory ${own} was writable by its group (mode 775); made it owner-only (now 700)`);
    expect((await stat(own)).mode & 0o7777).toBe(0o700);
    if (!isRoot) return;
    const roots = join(temp.path, 'roots');
    await mkdir(roots);
    await chmod(roots, 0o775);
    const refused = await runToEnd(process.execPath, [CLI, 'list', '--json'], { ...as, env: { ...process.env, MARCUS_REGISTRY_DIR: roots } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[INSECURE_DIRECTORY]');
    expect((await stat(roots)).mode & 0o7777).toBe(0o775);
  });
});

/** Run as nobody: registers while it may write, then, when told, tries everything on a directory it no longer may write. */
const NOBODY_SCRIPT = `
  const { createRegistry } = await import(process.argv[1]);
  const { ExitHooks } = await import(process.argv[2]);
  const store = 'json:' + process.argv[3];
  const code = (p) => p.then(() => 'ok', (e) => e.code ?? String(e));
  const registry = await createRegistry({ store, exitHooks: new ExitHooks() });
  await registry.register({ mcpCommand: 'node server.js', instanceId: 'marcus_nobody', heartbeatIntervalMs: 60000 });
  console.log('registered');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy(); // or the open pipe keeps this process alive
  const listed = (await registry.discover()).map((r) => r.instance_id).sort();
  const report = await registry.inspect();
  const other = await createRegistry({ store, exitHooks: new ExitHooks() });
  const out = {
    listed,
    problems: report.problems,
    update: await code(registry.update({ status: 'busy' })),
    heartbeat: await code(registry.heartbeat()),
    unregister: await code(registry.unregister()),
    registerAnother: await code(other.register({ mcpCommand: 'x', instanceId: 'marcus_other' })),
    prune: (await registry.prune()).removed.length,
  };
  console.log('RESULT ' + JSON.stringify(out));
  await registry.close();
  await other.close();
`;

describe('facade: a read-only registry lists and refuses writes with READ_ONLY_STORE', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    temp = await makeTempDir('marcus-ro-');
  });
  afterEach(async () => {
    await temp.remove();
  });

  it(
    isRoot
      ? 'a directory owned by another user (root, 0755), listed by nobody: its own registration can no longer be updated or removed'
      : 'a directory chmod 0555: its own registration can no longer be updated or removed',
    { timeout: 30_000 },
    async () => {
      const dir = join(temp.path, 'services');
      await mkdir(dir, { mode: 0o700 });
      // A root-owned neighbour entry, readable by nobody through the file's owner being nobody.
      await using root = await open(`json:${dir}`);
      await root.register({ ...REGISTER, instanceId: 'marcus_root' });
      if (!isRoot) {
        // Not root: this process is the non-root reader; make the directory unwritable to it.
        await using mine = await open(`json:${dir}`);
        await mine.register({ ...REGISTER, instanceId: 'marcus_nobody' });
        await chmod(dir, 0o555);
        try {
          expect((await mine.discover()).map((r) => r.instance_id).sort()).toEqual(['marcus_nobody', 'marcus_root']);
          expect(await codeOf(mine.update({ status: 'busy' }))).toBe('READ_ONLY_STORE');
          expect(await codeOf(mine.heartbeat())).toBe('READ_ONLY_STORE');
          expect(await codeOf(mine.unregister())).toBe('READ_ONLY_STORE');
        } finally {
          await chmod(dir, 0o700);
        }
        return;
      }
      await chmod(temp.path, 0o711);
      await chown(dir, NOBODY, NOBODY);
      await chown(join(dir, 'marcus_root.json'), NOBODY, NOBODY);
      const child = runNode(NOBODY_SCRIPT, [compiledModule('index.ts'), compiledModule('app/exit-hooks.ts'), dir], { uid: NOBODY, gid: NOBODY });
      await child.waitFor(/^registered$/);
      // Now the directory belongs to another user (root) and only its owner may write it.
      await chown(dir, 0, 0);
      await chmod(dir, 0o755);
      const entries = async () => Object.fromEntries(await Promise.all((await readdir(dir)).sort().map(async (n) => [n, await readFile(join(dir, n), 'utf8')])));
      const before = await entries();
      child.process.stdin?.end('go\n');
      const line = await child.waitFor(/^RESULT /);
      await child.exited;
      const result = JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
      expect(result).toEqual({
        listed: ['marcus_nobody', 'marcus_root'],
        problems: [],
        update: 'READ_ONLY_STORE',
        heartbeat: 'READ_ONLY_STORE',
        unregister: 'READ_ONLY_STORE',
        registerAnother: 'READ_ONLY_STORE',
        prune: 0,
      });
      expect(await entries()).toEqual(before);
      await chmod(dir, 0o700);
    },
  );

  it(
    isRoot ? 'a read-only mount (tmpfs remounted ro): JSON lists, and register/update/heartbeat/unregister are READ_ONLY_STORE' : 'a read-only mount needs root (mount): covered by the chmod case above',
    { timeout: 30_000 },
    async () => {
      if (!isRoot) return;
      const mnt = join(temp.path, 'mnt');
      await mkdir(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
      try {
        const dir = join(mnt, 'services');
        const registry = await open(`json:${dir}`);
        await registry.register({ ...REGISTER, instanceId: 'marcus_ro' });
        const before = await readFile(join(dir, 'marcus_ro.json'), 'utf8');
        execFileSync('mount', ['-o', 'remount,ro', mnt], { stdio: 'pipe' });
        expect((await registry.discover()).map((r) => r.instance_id)).toEqual(['marcus_ro']);
        expect(await codeOf(registry.update({ status: 'busy' }))).toBe('READ_ONLY_STORE');
        expect(await codeOf(registry.heartbeat())).toBe('READ_ONLY_STORE');
        await using other = await open(`json:${dir}`);
        expect((await other.discover()).map((r) => r.instance_id)).toEqual(['marcus_ro']);
        expect(await codeOf(other.register({ ...REGISTER, instanceId: 'marcus_other' }))).toBe('READ_ONLY_STORE');
        expect(await codeOf(registry.unregister())).toBe('READ_ONLY_STORE');
        await registry.close();
        expect(await readdir(dir)).toEqual(['marcus_ro.json']);
        expect(await readFile(join(dir, 'marcus_ro.json'), 'utf8')).toBe(before);
      } finally {
        execFileSync('umount', [mnt], { stdio: 'pipe' });
      }
    },
  );

  it(
    isRoot ? 'a read-only mount (tmpfs remounted ro): a SQLite registry lists, and register() is READ_ONLY_STORE' : 'a read-only SQLite mount needs root (mount)',
    { timeout: 30_000 },
    async () => {
      if (!isRoot) return;
      const mnt = join(temp.path, 'mnt');
      await mkdir(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
      try {
        const path = join(mnt, 'registry.db');
        // A writer leaves an entry of this live process and closes (SQLite holds its file open: a mount in use cannot go ro).
        const writer = await openSqliteStore({ path });
        await writer.put(makeRecord({ instance_id: 'marcus_sql', pid: process.pid }));
        await writer.close();
        execFileSync('mount', ['-o', 'remount,ro', mnt], { stdio: 'pipe' });
        await using registry = await open(`sqlite:${path}`);
        expect((await registry.discover()).map((r) => r.instance_id)).toEqual(['marcus_sql']);
        expect((await registry.inspect()).problems).toEqual([]);
        expect(await codeOf(registry.register({ ...REGISTER, instanceId: 'marcus_other' }))).toBe('READ_ONLY_STORE');
        expect((await registry.prune()).removed).toEqual([]);
      } finally {
        execFileSync('umount', [mnt], { stdio: 'pipe' });
      }
    },
  );
});
