import { StopRefusedError } from '../cli.errors.js';
import type { ProcessIdentity } from '../../../domain/process-identity.js';
import type { ServiceRecord } from '../../../domain/record.schema.js';
import type { ServiceRegistry } from '../../../app/service-registry.js';
import { instanceIdArgument, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';

const DEFAULT_TIMEOUT_S = 10;
/** How long a SIGKILLed process may take to disappear. */
const KILL_WAIT_MS = 5_000;
const POLL_MS = 100;

/**
 * `stop ID [--timeout S] [--force]`: SIGTERM to a local instance whose process is
 * provably the one that registered (start token or start time), then waits for
 * its entry to go; --force sends SIGKILL after the timeout (identity checked again).
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { timeout: { type: 'string' }, force: { type: 'boolean' } }, true);
  if (positionals.length !== 1) throw new UsageError('stop takes exactly one instance id');
  const id = instanceIdArgument(positionals[0] as string, 'instance id');
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS < 0) throw new UsageError(`--timeout must be a number of seconds, got ${JSON.stringify(values.timeout)}`);
  await using registry = await openRegistry(values, { readOnly: true });
  const entry = await registry.get(id).catch(() => undefined);
  if (!entry) {
    process.stderr.write(`marcus-registry: no instance ${id}\n`);
    return EXIT.NONE;
  }
  const record = entry.record;
  if (!registry.isLocal(record)) {
    throw new StopRefusedError(id, 'other-host', `it runs on ${record.hostname ?? 'another host'}, not here (${registry.hostname}); stop it there`);
  }
  const identity = await registry.processIdentity(record);
  if (identity === 'gone') {
    process.stderr.write(`marcus-registry: ${id} (pid ${record.pid}) is not running; its entry is stale (prune removes it)\n`);
    return EXIT.NONE;
  }
  refuseUnproven(id, record, identity);
  process.kill(record.pid, 'SIGTERM');
  process.stderr.write(`marcus-registry: sent SIGTERM to ${id} (pid ${record.pid})\n`);
  if (await gone(registry, record, timeoutS * 1000)) return reportStopped(id);
  if (!values.force) {
    process.stderr.write(`marcus-registry: ${id} is still running after ${timeoutS} s; stop it with --force (SIGKILL)\n`);
    return EXIT.ERROR;
  }
  const again = await registry.processIdentity(record);
  if (again === 'gone') return reportStopped(id);
  refuseUnproven(id, record, again);
  process.kill(record.pid, 'SIGKILL');
  process.stderr.write(`marcus-registry: sent SIGKILL to ${id} (pid ${record.pid})\n`);
  if (await gone(registry, record, KILL_WAIT_MS)) return reportStopped(id);
  process.stderr.write(`marcus-registry: ${id} (pid ${record.pid}) is still there after SIGKILL\n`);
  return EXIT.ERROR;
}

function refuseUnproven(id: string, record: ServiceRecord, identity: ProcessIdentity): void {
  if (identity === 'other') throw new StopRefusedError(id, 'pid-reused', `pid ${record.pid} now belongs to another process (its start differs from the record's)`);
  if (identity === 'unknown') {
    throw new StopRefusedError(id, 'unverifiable', `pid ${record.pid} cannot be proved to be the registered process (the record has no process start time or token); stop it yourself`);
  }
}

/**
 * Waits until the instance's entry is gone (or is another registration's), or —
 * a process that exits without unregistering — until its process is gone.
 */
async function gone(registry: ServiceRegistry, record: ServiceRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = await registry.get(record.instance_id).catch(() => undefined);
    if (!now || now.record.pid !== record.pid || now.record.started_at !== record.started_at) return true;
    if ((await registry.processIdentity(record)) === 'gone') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function reportStopped(id: string): number {
  process.stdout.write(`stopped ${id}\n`);
  return EXIT.OK;
}
