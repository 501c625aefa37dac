import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compiledModule } from '../../adapters/json-dir/compiled.js';
import { runToEnd } from '../../support/processes.js';

// writeOut/writeErr write a read command's output with write(2) on fd 1 and 2
// (no stream modules loaded): the whole output arrives, in order, and a reader
// that goes away ends the output quietly instead of crashing the command.
const writer = (body: string): string[] => [
  '--input-type=module',
  '-e',
  `const { writeOut, writeErr } = await import(${JSON.stringify(compiledModule('interfaces/cli/stdio-write.ts'))});\n${body}`,
];

describe('stdio-write', () => {
  it('writes all of a large output, in order, to a pipe and to stderr', async () => {
    const line = 'x'.repeat(99);
    const result = await runToEnd(process.execPath, writer(`for (let i = 0; i < 5000; i++) writeOut(i + ' ${line}\\n'); writeErr('done\\n');`));
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(5000);
    expect(lines.every((l, i) => l === `${i} ${line}`)).toBe(true);
    expect(result.stderr).toBe('done\n');
  });

  it('ends quietly when the reader has gone (EPIPE), without a stack trace', async () => {
    // 4 MB: far more than a pipe holds, so the writer meets the closed reader whatever the timing.
    const child = spawn(process.execPath, writer(`writeOut('y'.repeat(4 * 1024 * 1024)); writeErr('after\\n');`), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(stderr).toBe('after\n');
  });
});
