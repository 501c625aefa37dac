import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { runNode } from '../adapters/json-dir/children.js';
import { compiledModule } from '../adapters/json-dir/compiled.js';
import { makeTempDir } from '../adapters/json-dir/temp-dir.js';
import { makeRecord } from '../support/records.js';
import { loadFactor } from '../support/processes.js';

/**
 * The bad-input corpus (docs/reliability.md): one table of things a registry
 * directory can hold, each run through the FACADE (createRegistry → inspect()
 * and discover()) on a fresh JSON directory next to one valid control entry.
 * For every case the runner checks the facade-level promises:
 *   1. discovery never throws (only a directory-level failure is a typed error);
 *   2. discovery never takes over a second, times the machine's load factor (hang guard; maxima printed at the end);
 *   3. nothing is deleted or changed unless it was judged stale, and what is
 *      quarantined reappears, byte for byte, under .quarantine/ (snapshot of
 *      names, inodes and content hashes before and after, also of a directory
 *      outside the registry that symlinks point into);
 *   4. no link is followed (a symlink to a valid record outside is not listed);
 *   5. what was skipped is reported: a StoreProblem naming the entry;
 *   6. no prototype pollution.
 * The per-entry store mechanics are in test/adapters/json-dir/hostile-entries.test.ts;
 * this file asserts what a client of createRegistry() is promised.
 */

const HANG_GUARD_MS = 1_000;
/**
 * The guard for a discovery starting now: a second on an idle machine, longer on a
 * loaded one (a young unparsable entry alone is read again for 500 ms of wall clock).
 */
const hangGuardMs = () => HANG_GUARD_MS * loadFactor();
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const MINUTE_AGO = () => new Date(Date.now() - 60_000);

interface Ctx {
  readonly dir: string;
  readonly outside: string;
  /** Runs after the snapshots and discoveries (close sockets…). */
  cleanup(fn: () => Promise<void> | void): void;
}

interface Problem {
  /** The file name (json-dir) or instance id (discovery's own problems). */
  readonly entry: string;
  readonly code: string;
  readonly action?: string;
}

interface Expected {
  /** Instance ids listed besides the control entry (default none). */
  readonly listed?: readonly string[];
  /** Health (and reason) of listed ids, when the case is about it. */
  readonly health?: Readonly<Record<string, string>>;
  /** Problems that must be reported; no other problem may be. */
  readonly problems?: readonly Problem[];
  /** File names that must be moved to .quarantine/ intact. */
  readonly quarantined?: readonly string[];
  /** Instance ids judged stale whose files must be removed. */
  readonly removed?: readonly string[];
  /** Ids judged stale that must stay (their lock is held). */
  readonly staleKept?: readonly string[];
  /** The whole discovery must fail with this RegistryError code (directory-level failures only). */
  readonly error?: string;
}

interface Case {
  readonly kind: string;
  /** 'non-root': the discovery runs as a user other than the files' owner (a child as nobody when we are root). */
  readonly as?: 'non-root';
  readonly setup: (ctx: Ctx) => Promise<void>;
  readonly expect: Expected;
}

/** What one discovery saw, the same shape whether it ran here or in a child. */
interface Outcome {
  readonly ms: readonly number[];
  readonly services?: ReadonlyArray<{ id: string; health: string; reason?: string; pid: number; protoOk: boolean; ownProto: boolean }>;
  readonly problems?: readonly Problem[];
  readonly removed?: readonly string[];
  readonly stale?: readonly string[];
  readonly error?: { code?: string; name?: string; message?: string };
  readonly polluted: boolean;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const rec = (id: string, overrides: Record<string, unknown> = {}) => json({ ...makeRecord({ instance_id: id, pid: process.pid }), ...overrides });
/** A record whose fields are replaced by raw JSON text (wrong types that JSON.stringify of a typed object would not produce). */
const withRaw = (id: string, key: string, raw: string) => {
  const base = makeRecord({ instance_id: id, pid: process.pid }) as Record<string, unknown>;
  delete base[key];
  return `${JSON.stringify(base).slice(0, -1)},"${key}":${raw}}`;
};
const write = async (path: string, content: string | Buffer, old = false) => {
  await writeFile(path, content, { mode: 0o600 });
  if (old) await utimes(path, MINUTE_AGO(), MINUTE_AGO());
};
/** A pid that was just used and is no longer running. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number;

const invalid = (n: number, overrides: Record<string, unknown>): Case => ({
  kind: `a record with ${Object.entries(overrides)
    .map(([k, v]) => `${k} = ${typeof v === 'string' ? JSON.stringify(v).slice(0, 40) : String(v)}`)
    .join(', ')}`,
  setup: async ({ dir }) => write(join(dir, `marcus_${n}.json`), rec(`marcus_${n}`, overrides), true),
  expect: { problems: [{ entry: `marcus_${n}.json`, code: 'INVALID_RECORD', action: 'skipped' }] },
});

const CASES: Case[] = [
  // --- not regular files: never opened for reading, never followed, never hang
  {
    kind: 'a FIFO named marcus_1.json (must not hang)',
    setup: async ({ dir }) => void execFileSync('mkfifo', [join(dir, 'marcus_1.json')]),
    expect: { problems: [{ entry: 'marcus_1.json', code: 'NOT_REGULAR_FILE', action: 'skipped' }] },
  },
  {
    kind: 'a symlink to a file outside holding a valid record of a live process',
    setup: async ({ dir, outside }) => {
      await write(join(outside, 'victim.json'), rec('marcus_2'));
      await symlink(join(outside, 'victim.json'), join(dir, 'marcus_2.json'));
    },
    expect: { problems: [{ entry: 'marcus_2.json', code: 'NOT_REGULAR_FILE', action: 'skipped' }] },
  },
  {
    kind: 'a symlink to a directory outside',
    setup: async ({ dir, outside }) => {
      await mkdir(join(outside, 'somedir'));
      await write(join(outside, 'somedir', 'marcus_3.json'), rec('marcus_3'));
      await symlink(join(outside, 'somedir'), join(dir, 'marcus_3.json'));
    },
    expect: { problems: [{ entry: 'marcus_3.json', code: 'NOT_REGULAR_FILE', action: 'skipped' }] },
  },
  {
    kind: 'a dangling symlink',
    setup: async ({ dir, outside }) => symlink(join(outside, 'does-not-exist.json'), join(dir, 'marcus_4.json')),
    expect: { problems: [{ entry: 'marcus_4.json', code: 'NOT_REGULAR_FILE', action: 'skipped' }] },
  },
  {
    kind: 'a directory named marcus_2.json (with a valid record inside)',
    setup: async ({ dir }) => {
      await mkdir(join(dir, 'marcus_2.json'));
      await write(join(dir, 'marcus_2.json', 'marcus_2.json'), rec('marcus_2'));
    },
    expect: { problems: [{ entry: 'marcus_2.json', code: 'NOT_REGULAR_FILE', action: 'skipped' }] },
  },
  {
    kind: 'a listening unix socket named marcus_6.json',
    setup: async ({ dir, cleanup }) => {
      const server: Server = createServer();
      await new Promise<void>((resolve) => server.listen(join(dir, 'marcus_6.json'), resolve));
      cleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    },
    expect: { problems: [{ entry: 'marcus_6.json', code: 'NOT_REGULAR_FILE', action: 'skipped' }] },
  },
  // --- sizes and bytes
  {
    kind: 'a 100 MB (sparse) file',
    setup: async ({ dir }) => {
      await write(join(dir, 'marcus_7.json'), '{');
      await truncate(join(dir, 'marcus_7.json'), 100 * 1024 * 1024);
    },
    expect: { problems: [{ entry: 'marcus_7.json', code: 'TOO_LARGE', action: 'skipped' }] },
  },
  {
    kind: 'a valid record padded past the 256 KiB limit',
    setup: async ({ dir }) => write(join(dir, 'marcus_8.json'), rec('marcus_8', { padding: 'x'.repeat(300 * 1024) })),
    expect: { problems: [{ entry: 'marcus_8.json', code: 'TOO_LARGE', action: 'skipped' }] },
  },
  {
    kind: 'binary garbage, young (left for its writer)',
    setup: async ({ dir }) => write(join(dir, 'marcus_9.json'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))),
    expect: { problems: [{ entry: 'marcus_9.json', code: 'UNPARSABLE', action: 'left-for-writer' }] },
  },
  {
    kind: 'binary garbage, old (quarantined)',
    setup: async ({ dir }) => write(join(dir, 'marcus_10.json'), Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x00, 0x80, 0x81]), true),
    expect: { problems: [{ entry: 'marcus_10.json', code: 'UNPARSABLE', action: 'quarantined' }], quarantined: ['marcus_10.json'] },
  },
  {
    kind: 'a record with invalid UTF-8 inside a string, old',
    setup: async ({ dir }) => {
      const text = rec('marcus_11', { status: 'STATUS' });
      const [head, tail] = text.split('STATUS') as [string, string];
      await write(join(dir, 'marcus_11.json'), Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28]), Buffer.from(tail)]), true);
    },
    expect: { problems: [{ entry: 'marcus_11.json', code: 'UNPARSABLE', action: 'quarantined' }], quarantined: ['marcus_11.json'] },
  },
  {
    // Decision: accepted. The WHATWG decoder strips a leading BOM, as most JSON readers do (Python's json.loads refuses it).
    kind: 'a UTF-8 BOM before a valid record (accepted and listed)',
    setup: async ({ dir }) => write(join(dir, 'marcus_12.json'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rec('marcus_12'))])),
    expect: { listed: ['marcus_12'] },
  },
  {
    kind: 'an empty file, young (left for its writer)',
    setup: async ({ dir }) => write(join(dir, 'marcus_13.json'), ''),
    expect: { problems: [{ entry: 'marcus_13.json', code: 'UNPARSABLE', action: 'left-for-writer' }] },
  },
  {
    kind: 'an empty file, old (quarantined)',
    setup: async ({ dir }) => write(join(dir, 'marcus_14.json'), '', true),
    expect: { problems: [{ entry: 'marcus_14.json', code: 'UNPARSABLE', action: 'quarantined' }], quarantined: ['marcus_14.json'] },
  },
  {
    kind: 'a whitespace-only file, old (quarantined)',
    setup: async ({ dir }) => write(join(dir, 'marcus_15.json'), ' \n\t\r\n  ', true),
    expect: { problems: [{ entry: 'marcus_15.json', code: 'UNPARSABLE', action: 'quarantined' }], quarantined: ['marcus_15.json'] },
  },
  {
    kind: 'truncated JSON, young (left for its writer)',
    setup: async ({ dir }) => write(join(dir, 'marcus_16.json'), rec('marcus_16').slice(0, 120)),
    expect: { problems: [{ entry: 'marcus_16.json', code: 'UNPARSABLE', action: 'left-for-writer' }] },
  },
  {
    kind: 'truncated JSON, old (quarantined)',
    setup: async ({ dir }) => write(join(dir, 'marcus_17.json'), rec('marcus_17').slice(0, 120), true),
    expect: { problems: [{ entry: 'marcus_17.json', code: 'UNPARSABLE', action: 'quarantined' }], quarantined: ['marcus_17.json'] },
  },
  {
    kind: 'a valid record followed by trailing garbage, old',
    setup: async ({ dir }) => write(join(dir, 'marcus_18.json'), `${rec('marcus_18')}}{"x":1}`, true),
    expect: { problems: [{ entry: 'marcus_18.json', code: 'UNPARSABLE', action: 'quarantined' }], quarantined: ['marcus_18.json'] },
  },
  {
    // Python's json.dump writes NaN and Infinity and reads them back (ADR 0015): parsed, never quarantined; a NaN pid is not a record.
    kind: 'NaN and Infinity literals (Python JSON) as the pid, old',
    setup: async ({ dir }) => write(join(dir, 'marcus_19.json'), withRaw('marcus_19', 'pid', 'NaN').replace('"heartbeat_interval_ms":10000', '"heartbeat_interval_ms":Infinity'), true),
    expect: { problems: [{ entry: 'marcus_19.json', code: 'INVALID_RECORD', action: 'skipped' }] },
  },
  {
    kind: 'NaN, Infinity and -Infinity in load_metrics (Python JSON), old: listed',
    setup: async ({ dir }) => write(join(dir, 'marcus_63.json'), withRaw('marcus_63', 'load_metrics', '{"cpu_usage":NaN,"peak":Infinity,"floor":-Infinity}'), true),
    expect: { listed: ['marcus_63'] },
  },
  // --- valid JSON, not a record: reported and left in place, even when old (it is not torn)
  ...(
    [
      ['a JSON array', '[]'],
      ['JSON null', 'null'],
      ['a JSON number', '42'],
      ['a JSON string', '"marcus_20"'],
      ['a JSON object of the wrong shape', '{"hello": "world"}'],
    ] as const
  ).map(
    ([kind, text], i): Case => ({
      kind: `${kind}, old (left in place)`,
      setup: async ({ dir }) => write(join(dir, `marcus_2${i}.json`), text, true),
      expect: { problems: [{ entry: `marcus_2${i}.json`, code: 'INVALID_RECORD', action: 'skipped' }] },
    }),
  ),
  {
    kind: 'pid as a string',
    setup: async ({ dir }) => write(join(dir, 'marcus_30.json'), withRaw('marcus_30', 'pid', `"${process.pid}"`), true),
    expect: { problems: [{ entry: 'marcus_30.json', code: 'INVALID_RECORD', action: 'skipped' }] },
  },
  {
    kind: 'started_at as a number',
    setup: async ({ dir }) => write(join(dir, 'marcus_31.json'), withRaw('marcus_31', 'started_at', String(Date.now())), true),
    expect: { problems: [{ entry: 'marcus_31.json', code: 'INVALID_RECORD', action: 'skipped' }] },
  },
  {
    // Decision (issue 12): an optional key in another type does not hide the record: listed, noted, ignored, kept.
    kind: 'capabilities as a string',
    setup: async ({ dir }) => write(join(dir, 'marcus_32.json'), withRaw('marcus_32', 'capabilities', '"kanban"'), true),
    expect: { listed: ['marcus_32'], problems: [{ entry: 'marcus_32.json', code: 'IGNORED_FIELD', action: 'noted' }] },
  },
  invalid(33, { pid: 0 }),
  invalid(34, { pid: -1 }),
  invalid(35, { pid: 2 ** 53 }),
  invalid(36, { pid: 1.5 }),
  invalid(37, { started_at: '2026-02-31T00:00:00+00:00' }),
  invalid(38, { last_heartbeat: 'yesterday' }),
  invalid(39, { mcp_command: 'x'.repeat(70_000) }),
  {
    // Decision: a heartbeat more than 60 s in the future is not believed: listed, unresponsive (clock-skew), never removed.
    kind: 'a far-future last_heartbeat (year 2999)',
    setup: async ({ dir }) => write(join(dir, 'marcus_40.json'), rec('marcus_40', { last_heartbeat: '2999-01-01T00:00:00.000000+00:00' })),
    expect: { listed: ['marcus_40'], health: { marcus_40: 'unresponsive:clock-skew' } },
  },
  {
    // Decision: an old started_at is fine (a long-running server): listed. Without a process_start_time the pid cannot
    // be checked exactly, and its process started long after: unresponsive (pid-started-later), never removed (ADR 0017).
    kind: 'a far-past started_at (1970-01-02)',
    setup: async ({ dir }) => write(join(dir, 'marcus_41.json'), rec('marcus_41', { started_at: '1970-01-02T00:00:00+00:00' })),
    expect: { listed: ['marcus_41'], health: { marcus_41: 'unresponsive:pid-started-later' } },
  },
  // --- hostile keys and structure
  {
    kind: 'a "__proto__" key (no prototype pollution)',
    setup: async ({ dir }) => write(join(dir, 'marcus_42.json'), withRaw('marcus_42', 'extra', '1').replace('"extra":1', '"__proto__":{"polluted":true,"pid":1}')),
    expect: { listed: ['marcus_42'] },
  },
  {
    kind: 'a "constructor" key with a prototype (no prototype pollution)',
    setup: async ({ dir }) => write(join(dir, 'marcus_43.json'), withRaw('marcus_43', 'constructor', '{"prototype":{"polluted":true}}')),
    expect: { listed: ['marcus_43'] },
  },
  {
    kind: 'a 100 000-level nested array as the whole file (no stack overflow)',
    setup: async ({ dir }) => write(join(dir, 'marcus_44.json'), `${'['.repeat(100_000)}${']'.repeat(100_000)}`, true),
    expect: { problems: [{ entry: 'marcus_44.json', code: 'INVALID_RECORD', action: 'skipped' }] },
  },
  {
    // Decision: refused. Unknown keys are kept and written back, and JSON.stringify overflows the stack on such a value:
    // listing it would hand every client a record it cannot serialize.
    kind: 'a valid record with a 100 000-level nested unknown key (refused: it could not be written back)',
    setup: async ({ dir }) => write(join(dir, 'marcus_45.json'), withRaw('marcus_45', 'deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`), true),
    expect: { problems: [{ entry: 'marcus_45.json', code: 'INVALID_RECORD', action: 'skipped' }] },
  },
  {
    // Decision: the last duplicate wins, as in JSON.parse and Python's json.
    kind: 'duplicate keys (the last one wins)',
    setup: async ({ dir }) => write(join(dir, 'marcus_46.json'), withRaw('marcus_46', 'pid', `${deadPid()},"pid":${process.pid}`)),
    expect: { listed: ['marcus_46'], health: { marcus_46: 'healthy' } },
  },
  // --- instance ids
  invalid(47, { instance_id: 'marcus/47' }),
  invalid(48, { instance_id: 'marcus..48' }),
  invalid(49, { instance_id: 'marcus_49\u0000x' }),
  invalid(50, { instance_id: `m${'x'.repeat(128)}` }),
  {
    kind: 'a record whose instance_id differs from its file name',
    setup: async ({ dir }) => write(join(dir, 'marcus_51.json'), rec('marcus_other')),
    expect: { problems: [{ entry: 'marcus_51.json', code: 'ID_MISMATCH', action: 'skipped' }] },
  },
  {
    // Python's glob marcus_*.json lists them (ADR 0015): so do we, as the file name minus .json.
    kind: 'ids the Python registry allows: a space, a colon, a tab, non-ASCII (listed; a stale one removed)',
    setup: async ({ dir }) => {
      for (const id of ['marcus_my project', 'marcus_a:b', 'marcus_tab\there', 'marcus_café']) await write(join(dir, `${id}.json`), rec(id));
      await write(join(dir, 'marcus_gone away.json'), rec('marcus_gone away', { pid: deadPid() }));
    },
    expect: { listed: ['marcus_my project', 'marcus_a:b', 'marcus_tab\there', 'marcus_café'], removed: ['marcus_gone away'] },
  },
  {
    kind: 'a record of schema_version 2',
    setup: async ({ dir }) => write(join(dir, 'marcus_52.json'), rec('marcus_52', { schema_version: 2, v2_field: {} }), true),
    expect: { problems: [{ entry: 'marcus_52.json', code: 'UNSUPPORTED_SCHEMA_VERSION', action: 'skipped' }] },
  },
  {
    kind: 'file names that are not entries: 129-character id, "..", NUL-free odd names (ignored, untouched)',
    setup: async ({ dir }) => {
      await write(join(dir, `m${'x'.repeat(128)}.json`), rec('marcus_53'), true);
      await write(join(dir, 'marcus..53.json'), rec('marcus_53'), true);
      await write(join(dir, '-marcus_53.json'), rec('marcus_53'), true);
    },
    expect: {},
  },
  {
    kind: 'unrelated files: README, notes.txt, x.json~, .hidden.json, marcus_1.json.tmp, a lock dir (left alone, not reported)',
    setup: async ({ dir }) => {
      for (const name of ['README', 'notes.txt', 'x.json~', '.hidden.json', 'marcus_1.json.tmp']) await write(join(dir, name), 'not json {', true);
      await mkdir(join(dir, 'marcus_54.json.lock'));
    },
    expect: {},
  },
  {
    kind: '10 000 unrelated files in the directory (discovery still under a second)',
    setup: async ({ dir }) => {
      const names = Array.from({ length: 10_000 }, (_, i) => `unrelated-${i}.txt`);
      for (let i = 0; i < names.length; i += 500) await Promise.all(names.slice(i, i + 500).map((n) => writeFile(join(dir, n), 'x')));
    },
    expect: {},
  },
  // --- owners and permissions
  {
    // As root the reader can read another user's 0600 file anyway: it is listed (a non-root reader: next case).
    kind: "another user's file (nobody, 0600) read by root",
    setup: async ({ dir }) => {
      await write(join(dir, 'marcus_56.json'), rec('marcus_56'));
      if (isRoot) await chown(join(dir, 'marcus_56.json'), NOBODY, NOBODY);
    },
    expect: { listed: ['marcus_56'] },
  },
  {
    kind: 'a file the (non-root) reader may not read',
    as: 'non-root',
    setup: async ({ dir }) => {
      await write(join(dir, 'marcus_57.json'), rec('marcus_57'));
      if (isRoot) await chown(join(dir, 'marcus_57.json'), 0, 0);
      else await chmod(join(dir, 'marcus_57.json'), 0o000);
    },
    expect: { problems: [{ entry: 'marcus_57.json', code: 'UNREADABLE', action: 'skipped' }] },
  },
  {
    kind: 'a registry directory the (non-root) reader may not read: a typed error, no hang, no crash',
    as: 'non-root',
    setup: async ({ dir }) => chmod(dir, 0o300),
    expect: { error: 'ACCESS_DENIED' },
  },
  {
    // kill(pid, 0) answers EPERM for another user's process: alive, listed, not removed.
    kind: "a record whose pid is alive but another user's (EPERM means alive)",
    as: 'non-root',
    setup: async ({ dir }) => write(join(dir, 'marcus_59.json'), rec('marcus_59', { pid: 1, process_start_time: undefined }), true),
    expect: { listed: ['marcus_59'], health: { marcus_59: 'healthy' } },
  },
  // --- staleness: the only thing that may disappear
  {
    kind: 'a valid record of a process that exited (judged stale: removed)',
    setup: async ({ dir }) => write(join(dir, 'marcus_60.json'), rec('marcus_60', { pid: deadPid() })),
    expect: { removed: ['marcus_60'] },
  },
  {
    kind: 'a record of a live pid with another start time (pid reuse: judged stale, removed)',
    setup: async ({ dir }) => write(join(dir, 'marcus_61.json'), rec('marcus_61', { process_start_time: formatTimestamp(Date.now() - 86_400_000) })),
    expect: { removed: ['marcus_61'] },
  },
  {
    kind: 'a stale record whose lock someone else holds (left, reported busy)',
    setup: async ({ dir }) => {
      await write(join(dir, 'marcus_62.json'), rec('marcus_62', { pid: deadPid() }));
      await mkdir(join(dir, 'marcus_62.json.lock')); // what proper-lockfile makes; a fresh mtime means held
    },
    expect: { staleKept: ['marcus_62'], problems: [{ entry: 'marcus_62', code: 'LOCK_BUSY', action: 'skipped' }] },
  },
];

// ------------------------------------------------------------------ the runner

interface Node {
  readonly type: string;
  readonly ino: bigint;
  readonly content: string;
}

/** Every path under `root` (not following links): type, inode and content hash. */
async function snapshot(root: string): Promise<Map<string, Node>> {
  const nodes = new Map<string, Node>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(root, rel))) {
      const path = join(root, rel, name);
      const key = rel ? `${rel}/${name}` : name;
      const info = await lstat(path, { bigint: true });
      let type = 'other';
      let content = '';
      if (info.isSymbolicLink()) {
        type = 'symlink';
        content = await readlink(path);
      } else if (info.isDirectory()) {
        type = 'dir';
      } else if (info.isFile()) {
        type = 'file';
        content = info.size > 1024n * 1024n ? `size:${info.size}` : createHash('sha256').update(await readFile(path)).digest('hex');
      } else if (info.isFIFO()) type = 'fifo';
      else if (info.isSocket()) type = 'socket';
      nodes.set(key, { type, ino: info.ino, content });
      if (type === 'dir') await walk(key);
    }
  };
  await walk('');
  return nodes;
}

function guard<T>(promise: Promise<T>, what: string): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = hangGuardMs();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${Math.round(limit)} ms (hang guard)`)), limit);
  });
  return Promise.race([promise.then((value) => ({ value, ms: performance.now() - started })), timeout]).finally(() => clearTimeout(timer));
}

const isPolluted = () => Object.keys(Object.prototype).length > 0 || ({} as Record<string, unknown>)['polluted'] !== undefined;

/** inspect() then discover(), each under the hang guard, in this process. */
async function discoverHere(dir: string): Promise<Outcome> {
  const registry = await createRegistry({ store: `json:${dir}`, exitHooks: new ExitHooks() });
  try {
    let first;
    try {
      first = await guard(registry.inspect(), 'inspect()');
    } catch (error) {
      const e = error as { code?: string; name?: string; message?: string };
      if (e.code === undefined) throw error; // a hang or an untyped error fails the case as is
      return { ms: [], error: { code: e.code, name: e.name, message: e.message }, polluted: isPolluted() };
    }
    const second = await guard(registry.discover(), 'discover()');
    const report = first.value;
    return {
      ms: [first.ms, second.ms],
      services: report.services.map((s) => ({
        id: s.record.instance_id,
        health: s.reason ? `${s.health}:${s.reason}` : s.health,
        pid: s.record.pid,
        protoOk: Object.getPrototypeOf(s.record) === Object.prototype,
        ownProto: Object.prototype.hasOwnProperty.call(s.record, '__proto__'),
      })),
      problems: report.problems.map((p) => ({ entry: p.entry, code: p.code, action: p.action })),
      removed: report.removed.map((r) => r.record.instance_id),
      stale: report.stale.map((s) => s.record.instance_id),
      polluted: isPolluted(),
    };
  } finally {
    await registry.close();
  }
}

/** The same in a child process running as nobody (the compiled facade), for cases about another user's files. */
const CHILD = `
  const { createRegistry } = await import(process.argv[1]);
  const { performance } = await import('node:perf_hooks');
  const isPolluted = () => Object.keys(Object.prototype).length > 0 || ({}).polluted !== undefined;
  const registry = await createRegistry({ store: 'json:' + process.argv[2] });
  let out;
  const t0 = performance.now();
  try {
    const report = await registry.inspect();
    const t1 = performance.now();
    await registry.discover();
    const t2 = performance.now();
    out = {
      ms: [t1 - t0, t2 - t1],
      services: report.services.map((s) => ({ id: s.record.instance_id, health: s.reason ? s.health + ':' + s.reason : s.health, pid: s.record.pid,
        protoOk: Object.getPrototypeOf(s.record) === Object.prototype, ownProto: Object.prototype.hasOwnProperty.call(s.record, '__proto__') })),
      problems: report.problems.map((p) => ({ entry: p.entry, code: p.code, action: p.action })),
      removed: report.removed.map((r) => r.record.instance_id),
      stale: report.stale.map((s) => s.record.instance_id),
    };
  } catch (error) {
    out = { ms: [performance.now() - t0], error: { code: error.code, name: error.name, message: error.message } };
  }
  await registry.close();
  console.log('RESULT ' + JSON.stringify({ ...out, polluted: isPolluted() }));
`;

async function discoverAsNobody(dir: string): Promise<Outcome> {
  const child = runNode(CHILD, [compiledModule('index.ts'), dir], { uid: NOBODY, gid: NOBODY });
  const line = await Promise.race([
    child.waitFor(/^RESULT /),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the child discovery did not finish in 20 s × load factor')), 20_000 * loadFactor())),
  ]);
  await child.exited;
  return JSON.parse(line.slice('RESULT '.length)) as Outcome;
}

const observedMs: Array<{ kind: string; ms: number }> = [];

describe('bad-input corpus: discovery through the facade on a JSON directory', () => {
  afterAll(() => {
    const worst = [...observedMs].sort((a, b) => b.ms - a.ms).slice(0, 3);
    process.stdout.write(
      `bad-input corpus: ${CASES.length} kinds, ${observedMs.length} discoveries timed; slowest: ${worst.map((w) => `${w.ms.toFixed(1)} ms (${w.kind})`).join(', ')}\n`,
    );
  });

  it('has at least 30 kinds', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.kind)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.kind, c] as const))('%s', { timeout: 60_000 }, async (_kind, testCase) => {
    const temp = await makeTempDir('marcus-corpus-');
    const dir = join(temp.path, 'services');
    const outside = join(temp.path, 'outside');
    const cleanups: Array<() => Promise<void> | void> = [];
    try {
      await mkdir(dir, { mode: 0o700 });
      await chmod(dir, 0o700);
      await mkdir(outside);
      // The control: a valid record of this live process, which every discovery must list.
      await write(join(dir, 'marcus_ctl.json'), rec('marcus_ctl'));
      const asNobody = testCase.as === 'non-root' && isRoot;
      if (asNobody) {
        await chmod(temp.path, 0o711);
        await chown(dir, NOBODY, NOBODY);
        await chown(join(dir, 'marcus_ctl.json'), NOBODY, NOBODY);
      }
      await testCase.setup({ dir, outside, cleanup: (fn) => cleanups.push(fn) });
      if (asNobody) {
        // Whatever the case wrote as root is nobody's unless the case chowned it on purpose.
        for (const name of await readdir(dir)) {
          const info = await lstat(join(dir, name));
          if (info.uid === 0 && !(name === 'marcus_57.json')) await chown(join(dir, name), NOBODY, NOBODY);
        }
      }
      const beforeDir = await snapshot(dir);
      const beforeOutside = await snapshot(outside);

      const outcome = asNobody ? await discoverAsNobody(dir) : await discoverHere(dir);
      for (const ms of outcome.ms) observedMs.push({ kind: testCase.kind, ms });
      const expected = testCase.expect;

      // 1–2. never throws (but for a directory-level typed error), never over the hang guard, no pollution.
      expect(outcome.polluted, 'Object.prototype was polluted').toBe(false);
      expect(isPolluted()).toBe(false);
      const guardMs = hangGuardMs();
      for (const ms of outcome.ms) expect(ms, `a discovery took ${ms.toFixed(1)} ms (guard ${Math.round(guardMs)} ms)`).toBeLessThan(guardMs);
      if (expected.error) {
        expect(outcome.error?.code, JSON.stringify(outcome.error)).toBe(expected.error);
      } else {
        expect(outcome.error, JSON.stringify(outcome.error)).toBeUndefined();
        // 4–5. listed exactly: the control and the case's valid entries; never anything behind a link.
        const services = outcome.services ?? [];
        expect(services.map((s) => s.id).sort()).toEqual(['marcus_ctl', ...(expected.listed ?? [])].sort());
        for (const s of services) {
          expect(s.protoOk && !s.ownProto, `${s.id} has a hostile prototype`).toBe(true);
          const health = expected.health?.[s.id];
          if (health) expect(`${s.id} ${s.health}`).toBe(`${s.id} ${health}`);
        }
        const normalize = (ps: readonly Problem[]) => ps.map((p) => `${p.entry} ${p.code} ${p.action ?? ''}`.trim()).sort();
        const wanted = (expected.problems ?? []).map((p) => ({ ...p, action: p.action ?? '' }));
        expect(normalize(outcome.problems ?? [])).toEqual(normalize(wanted));
        expect([...(outcome.removed ?? [])].sort()).toEqual([...(expected.removed ?? [])].sort());
        expect([...(outcome.stale ?? [])].sort()).toEqual([...(expected.removed ?? []), ...(expected.staleKept ?? [])].sort());
      }

      // 3. Nothing deleted or changed but what was judged stale; quarantined files reappear intact.
      const afterDir = await snapshot(dir);
      const removedNames = new Set((expected.removed ?? []).map((id) => `${id}.json`));
      const quarantined = new Set(expected.quarantined ?? []);
      for (const [path, node] of beforeDir) {
        const now = afterDir.get(path);
        if (removedNames.has(path)) {
          expect(now, `${path} was judged stale and must be gone`).toBeUndefined();
          continue;
        }
        if (quarantined.has(path)) {
          expect(now, `${path} must have been moved`).toBeUndefined();
          const moved = [...afterDir].filter(([p]) => p.startsWith(`.quarantine/${path}.`));
          expect(moved.map(([p]) => p)).toHaveLength(1);
          expect(moved[0]?.[0]).toMatch(new RegExp(`^\\.quarantine/${path.replace(/\./g, '\\.')}\\.\\d+$`));
          expect(moved[0]?.[1]).toEqual(node); // same inode (renamed, not copied) and same bytes
          continue;
        }
        expect(now, `${path} disappeared`).toBeDefined();
        expect(now, `${path} changed`).toEqual(node);
      }
      for (const path of afterDir.keys()) {
        if (beforeDir.has(path)) continue;
        expect(path === '.quarantine' || path.startsWith('.quarantine/'), `${path} appeared (a lock left behind?)`).toBe(true);
      }
      expect(await snapshot(outside), 'a file outside the registry changed').toEqual(beforeOutside);
    } finally {
      for (const fn of cleanups) await fn();
      await chmod(dir, 0o700).catch(() => undefined);
      await temp.remove();
    }
  });
});
