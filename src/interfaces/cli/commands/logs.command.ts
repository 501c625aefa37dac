import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { instanceIdArgument, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';

const FOLLOW_POLL_MS = 250;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * `logs ID [--follow]`: the newest regular file in the instance's log_dir, to
 * stdout; with --follow, what is appended to it afterwards, until ^C. Only for
 * an instance of this host (its log_dir is a path there).
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { follow: { type: 'boolean', short: 'f' } }, true);
  if (positionals.length !== 1) throw new UsageError('logs takes exactly one instance id');
  const id = instanceIdArgument(positionals[0] as string, 'instance id');
  let logDir: string;
  {
    await using registry = await openRegistry(values, { readOnly: true });
    const entry = await registry.get(id).catch(() => undefined);
    if (!entry) {
      process.stderr.write(`marcus-registry: no instance ${id}\n`);
      return EXIT.NONE;
    }
    if (!registry.isLocal(entry.record)) {
      process.stderr.write(`marcus-registry: ${id} runs on ${entry.record.hostname ?? 'another host'}: its logs (${entry.record.log_dir}) are there\n`);
      return EXIT.ERROR;
    }
    logDir = entry.record.log_dir;
  }
  const newest = await newestFile(logDir);
  if (!newest) {
    process.stderr.write(`marcus-registry: no log file in ${logDir}\n`);
    return EXIT.ERROR;
  }
  process.stderr.write(`==> ${newest} <==\n`);
  let offset = await copyFrom(newest, 0);
  if (!values.follow) return EXIT.OK;
  const controller = new AbortController();
  const stop = () => controller.abort();
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  process.stdout.on('error', stop);
  try {
    while (!controller.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      const size = (await stat(newest).catch(() => undefined))?.size;
      if (size === undefined) continue;
      if (size < offset) offset = 0; // truncated (rotated in place): from the start again
      if (size > offset) offset = await copyFrom(newest, offset);
    }
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
    process.stdout.off('error', stop);
  }
  return EXIT.OK;
}

/** The most recently modified regular file directly in `dir` (links are not followed). */
async function newestFile(dir: string): Promise<string | undefined> {
  const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let best: { path: string; mtimeMs: number } | undefined;
  for (const dirent of names) {
    if (!dirent.isFile()) continue;
    const path = join(dir, dirent.name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && (!best || info.mtimeMs > best.mtimeMs)) best = { path, mtimeMs: info.mtimeMs };
  }
  return best?.path;
}

/** Writes the file from `offset` to its current end to stdout; returns the new offset. */
async function copyFrom(path: string, offset: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    let position = offset;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return position;
      position += bytesRead;
      if (!process.stdout.write(buffer.subarray(0, bytesRead))) await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  } finally {
    await handle.close();
  }
}
