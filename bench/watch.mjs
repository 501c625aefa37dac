// The watch-latency benchmark belongs to the watch feature (bench/watch-latency.*).
// When it exists it runs after the store figures, in a process of its own.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export async function runWatchLatency(repo, quick, log) {
  const script = ['watch-latency.mjs', 'watch-latency.js'].map((name) => join(repo, 'bench', name)).find((path) => existsSync(path));
  if (!script) {
    log('\nwatch latency: bench/watch-latency.mjs is not there yet; skipped');
    return;
  }
  log(`\nwatch latency (${script})`);
  const code = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...(quick ? ['--quick'] : [])], { stdio: 'inherit', cwd: repo });
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`${script} exited ${code}`);
}
