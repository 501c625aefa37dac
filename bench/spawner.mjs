// Runs the baselines' commands (the C loop, the Python discovery) for the bench
// process, from a child process of its own, so that the bench process never
// forks between its in-process measurements. A fork write-protects every page
// of the parent, and the parent's next write to each page takes a fault: ~11 µs
// each on a small VM, some 400 of them over the next passes, which taxed
// whatever the bench timed right after a spawn by 4–9 ms (docs/benchmarks.md,
// runs K). One request at a time: a JSON line { file, args, env? } in, a JSON
// line { stdout } or { error } out.
//
//   run as a script: the spawner itself
//   startSpawner(): the bench's side, { run(file, args, env?), close() }
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

/** Starts the spawner; run() resolves with the command's stdout, or rejects with why it failed. */
export function startSpawner() {
  const child = spawn(process.execPath, [self], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
  const waiting = [];
  let ended;
  const fail = (error) => {
    ended ??= error;
    for (const { reject } of waiting.splice(0)) reject(error);
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    let reply;
    try {
      reply = JSON.parse(line);
    } catch {
      fail(new Error(`the bench's spawner wrote ${JSON.stringify(line.slice(0, 200))}`));
      return;
    }
    const next = waiting.shift();
    if ('stdout' in reply) next?.resolve(reply.stdout);
    else next?.reject(new Error(reply.error));
  });
  child.on('error', fail);
  child.stdin.on('error', fail);
  child.on('exit', (code, signal) => fail(new Error(`the bench's spawner exited (${signal ?? code})`)));
  return {
    run(file, args, env) {
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${JSON.stringify({ file, args, env })}\n`);
      });
    },
    close() {
      child.stdin.end();
    },
  };
}

if (process.argv[1] === self) {
  for await (const line of createInterface({ input: process.stdin })) {
    const { file, args, env } = JSON.parse(line);
    let reply;
    try {
      reply = { stdout: execFileSync(file, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 << 20 }) };
    } catch (error) {
      reply = { error: `${file} ${args.join(' ')}: ${String(error.stderr || error.message).trim()}` };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}
