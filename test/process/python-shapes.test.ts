import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Child, FIXTURES, cli, runToEnd, tempRegistryDir, waitFor } from '../support/processes.js';

/** Our Python peer (stdlib; psutil when importable), behaving like lwgray/marcus service_registry.py. */
const SHAPES = join(FIXTURES, 'python_shapes.py');
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.kill('SIGKILL');
});

/** A Python locale without UTF-8: open() without an encoding decodes ASCII, as on a C-locale server. */
function asciiLocaleEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C', PYTHONUTF8: '0' };
  delete env['PYTHONIOENCODING'];
  delete env['LC_CTYPE'];
  return env;
}

async function pythonWrite(dir: string, id: string, pid: number, kwargs: Record<string, unknown>): Promise<void> {
  const result = await runToEnd('python3', [SHAPES, 'write', dir, id, String(pid), JSON.stringify(kwargs)]);
  expect(result.code, result.stderr).toBe(0);
}

async function pythonDiscover(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ ids: string[]; preferred: string | null }> {
  const result = await runToEnd('python3', [SHAPES, 'discover', dir], { env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { ids: string[]; preferred: string | null };
}

function sleeper(): Child {
  const child = new Child('sleep', ['60']);
  children.push(child);
  return child;
}

describe('Python record shapes and readers (python3, our stdlib peer)', () => {
  it('a Python reader under LC_ALL=C without UTF-8 mode lists a record we wrote with a non-ASCII project name', async () => {
    await using tmp = await tempRegistryDir();
    const project = 'Café 项目 🚀';
    const run = new Child(process.execPath, [CLI, 'run', '--project', project, '--', 'sleep', '30'], {
      env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir },
    });
    children.push(run);
    await waitFor(async () => (await cli(['list', '--json'], { MARCUS_REGISTRY_DIR: tmp.dir })).stdout.includes('marcus_'));
    const listed = JSON.parse((await cli(['list', '--json'], { MARCUS_REGISTRY_DIR: tmp.dir })).stdout) as Array<Record<string, unknown>>;
    const id = listed[0]?.['instance_id'] as string;
    const bytes = await readFile(join(tmp.dir, `${id}.json`));
    expect(bytes.every((b) => b < 0x80)).toBe(true);
    expect(JSON.parse(bytes.toString('utf8'))['project_name']).toBe(project);
    const found = await pythonDiscover(tmp.dir, asciiLocaleEnv());
    expect(found.ids).toEqual([id]);
    expect(found.preferred).toBe(id);
  });

  it('records 300 µs apart are ordered, and the newest preferred, as Python sorts started_at', async () => {
    const alive = sleeper();
    for (const [first, second] of [
      ['marcus_a', 'marcus_b'],
      ['marcus_b', 'marcus_a'],
    ] as const) {
      await using tmp = await tempRegistryDir();
      await pythonWrite(tmp.dir, first, alive.pid, { started_at: '2026-11-29T10:00:00.123100+00:00' });
      await pythonWrite(tmp.dir, second, alive.pid, { started_at: '2026-11-29T10:00:00.123400+00:00' });
      const python = await pythonDiscover(tmp.dir);
      expect(python.ids).toEqual([first, second]);
      const listed = await cli(['list', '--json'], { MARCUS_REGISTRY_DIR: tmp.dir });
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ instance_id: string }>).map((r) => r.instance_id)).toEqual(python.ids);
      const preferred = await cli(['preferred', '--json'], { MARCUS_REGISTRY_DIR: tmp.dir });
      expect(preferred.code, preferred.stderr).toBe(0);
      expect((JSON.parse(preferred.stdout) as { instance_id: string }).instance_id).toBe(python.preferred);
    }
  });
});
