import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFactor } from '../../support/processes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = `${root}test/fixtures/etcd-registrant.mjs`;
const COMPILED = `${root}dist/adapters/etcd/etcd.store.js`;

/**
 * The registrant runs the compiled code in dist/. `npm test` builds first; when
 * running a file alone, a missing or stale dist fails the suite loudly instead
 * of testing yesterday's code.
 */
export function assertDistFresh(): void {
  let built: number;
  try {
    built = statSync(COMPILED).mtimeMs;
  } catch {
    throw new Error(`${COMPILED} is missing: run \`npm run build\` (npm test does it) before the etcd fault tests`);
  }
  for (const dir of ['src/adapters/etcd', 'src/adapters/shared', 'src/domain']) {
    for (const name of readdirSync(`${root}${dir}`)) {
      if (name.endsWith('.ts') && statSync(`${root}${dir}/${name}`).mtimeMs > built) {
        throw new Error(`dist/ is older than ${dir}/${name}: run \`npm run build\` before the etcd fault tests`);
      }
    }
  }
}

export interface RegistrantEvent {
  readonly event: 'registered' | 'log' | 'crash';
  readonly level?: string;
  readonly message?: string;
  readonly kind?: string;
  readonly version?: string;
}

export interface Registrant {
  readonly child: ChildProcess;
  readonly events: RegistrantEvent[];
  readonly stderr: () => string;
  /** Resolves with the first event matching, or rejects after `timeoutMs` (a hang guard) or when the child exits. */
  waitFor(match: (e: RegistrantEvent) => boolean, timeoutMs: number): Promise<RegistrantEvent>;
  alive(): boolean;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnRegistrant(hosts: string, prefix: string, instanceId: string, ttlMs: number): Registrant {
  const child = spawn(process.execPath, [FIXTURE, hosts, prefix, instanceId, String(ttlMs)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: RegistrantEvent[] = [];
  const listeners = new Set<() => void>();
  let err = '';
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as RegistrantEvent);
      } catch {
        events.push({ event: 'log', level: 'stdout', message: line });
      }
      for (const l of listeners) l();
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const l of listeners) l();
    }),
  );

  return {
    child,
    events,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited: () => exit,
    waitFor(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) return done(() => resolve(found));
          if (child.exitCode !== null || child.signalCode !== null) {
            return done(() => reject(new Error(`registrant exited (${child.exitCode ?? child.signalCode}) first; stderr: ${err}; events: ${JSON.stringify(events)}`)));
          }
        };
        const limit = timeoutMs * loadFactor(); // a hang guard: longer on a loaded machine
        const timer = setTimeout(
          () => done(() => reject(new Error(`no matching registrant event within ${Math.round(limit)} ms; stderr: ${err}; events: ${JSON.stringify(events)}`))),
          limit,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Polls `probe` until it returns true; a hang guard, not a timing assertion (so it grows with the machine's load). */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 200): Promise<number> {
  const start = Date.now();
  let lastError: unknown;
  while (Date.now() - start < timeoutMs * loadFactor()) {
    try {
      if (await probe()) return Date.now() - start;
    } catch (error) {
      lastError = error; // etcd may still be coming up
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}
