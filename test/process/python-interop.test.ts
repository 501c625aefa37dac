import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Child, FIXTURES, cli, runToEnd, tempRegistryDir, waitFor } from '../support/processes.js';

const PYTHON_REGISTRY = join(FIXTURES, 'python_registry.py');
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.kill('SIGKILL');
});

describe('interoperability with the Python registry (python3, stdlib only)', () => {
  it('a Python reader following the Python algorithm finds an instance started with `marcus-registry run`', async () => {
    await using tmp = await tempRegistryDir();
    const run = new Child(process.execPath, [CLI, 'run', '--project', 'ts-project', '--', 'sleep', '30'], {
      env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir },
    });
    children.push(run);
    let services: Array<Record<string, unknown>> = [];
    await waitFor(async () => {
      const result = await runToEnd('python3', [PYTHON_REGISTRY, 'discover', tmp.dir]);
      expect(result.code, result.stderr).toBe(0);
      services = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
      return services.length > 0;
    });
    expect(services).toHaveLength(1);
    const [service] = services as [Record<string, unknown>];
    expect(service['project_name']).toBe('ts-project');
    expect(service['mcp_command']).toBe('sleep 30');
    expect(service['instance_id']).toBe(`marcus_${service['pid']}`);
    // The Python client connects with mcp_command.split(): it must be the runnable command line.
    expect((service['mcp_command'] as string).split(' ')).toEqual(['sleep', '30']);
    // Our timestamps sort the way Python's string sort expects (ISO, same offset).
    expect(service['started_at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  });

  it('`list` finds a file the Python side wrote with naive timestamps, keeping its extra keys', async () => {
    await using tmp = await tempRegistryDir();
    const python = new Child('python3', [PYTHON_REGISTRY, 'register', tmp.dir]);
    children.push(python);
    const [, id] = await python.line(/registered (\S+)/);
    const onDisk = JSON.parse(await readFile(join(tmp.dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
    expect(onDisk['started_at']).not.toMatch(/Z|[+-]\d\d:\d\d$/);
    const result = await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(result.code, result.stderr).toBe(0);
    const listed = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(listed).toEqual([onDisk]);
    expect(listed[0]).toMatchObject({ pid: python.pid, python_version: expect.any(String), custom_key: { kept: true } });
    // And the Python reader still reads it back after we listed it (we did not rewrite or move it).
    const back = await runToEnd('python3', [PYTHON_REGISTRY, 'discover', tmp.dir]);
    expect(JSON.parse(back.stdout)).toEqual([onDisk]);
    python.kill('SIGKILL');
    await python.exited;
    const afterDeath = await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(JSON.parse(afterDeath.stdout)).toEqual([]);
  });
});
