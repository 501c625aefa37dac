import { isRegistryError } from '../domain/errors.js';
import { matchesFilters, sortByStartedAt, type ServiceFilters } from '../domain/filters.js';
import type { ServiceRecord } from '../domain/record.schema.js';
import { isLocalRecord, judge, leaseVouches, type Health, type StaleReason, type Verdict } from '../domain/staleness.js';
import type { Clock } from '../ports/clock.port.js';
import type { LivenessProbe } from '../ports/liveness.port.js';
import type { Logger } from '../ports/logger.port.js';
import type { DeleteOutcome, RegistryStore, StoredEntry, StoreProblem } from '../ports/store.port.js';
import type { RegistrySettings } from './settings.js';

/** One entry as discovery judged it. */
export interface JudgedEntry {
  readonly record: ServiceRecord;
  readonly health: Health;
  /** Why it is unresponsive or stale; absent when healthy. */
  readonly reason?: string;
  readonly detail?: string;
}

export interface RemovedEntry {
  readonly record: ServiceRecord;
  readonly reason: StaleReason;
  readonly detail: string;
}

export interface DiscoveryReport {
  /** Healthy and unresponsive entries that match the filters, oldest started_at first. */
  readonly services: readonly JudgedEntry[];
  /** Stale entries found that match the filters (removed or not), oldest started_at first. */
  readonly stale: readonly JudgedEntry[];
  /** Stale entries this discovery removed (compare-and-delete succeeded), whatever the filters: pruning is never filtered. */
  readonly removed: readonly RemovedEntry[];
  /** What the store skipped, and removals that failed. */
  readonly problems: readonly StoreProblem[];
}

/** An entry and the verdict that called it stale. */
export interface StaleEntry {
  readonly entry: StoredEntry;
  readonly verdict: Extract<Verdict, { health: 'stale' }>;
}

export interface DiscoverOptions {
  readonly filters?: ServiceFilters;
  /** Remove stale entries found on the way, as the Python reader does. Default: true. */
  readonly prune?: boolean;
}

/**
 * list → one batch liveness snapshot → judge each entry → compare-and-delete the
 * stale ones. The domain judges; this only gathers the facts.
 */
export class DiscoveryService {
  constructor(
    private readonly store: RegistryStore,
    private readonly liveness: LivenessProbe,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: RegistrySettings,
  ) {}

  async inspect(options: DiscoverOptions = {}): Promise<DiscoveryReport> {
    const listed = await this.store.list();
    const judged = await this.judgeAll(listed.entries);
    const stale: JudgedEntry[] = [];
    const services: JudgedEntry[] = [];
    const toRemove: StaleEntry[] = [];
    for (const { entry, verdict } of judged) {
      const view = toJudged(entry.record, verdict);
      if (verdict.health !== 'stale') {
        if (matchesFilters(entry.record, options.filters)) services.push(view);
        continue;
      }
      if (matchesFilters(entry.record, options.filters)) stale.push(view);
      toRemove.push({ entry, verdict });
    }
    const { removed, problems: removalProblems } = options.prune !== false ? await this.removeStale(toRemove) : { removed: [], problems: [] };
    const problems = [...listed.problems, ...removalProblems];
    sortByStartedAt(services, (s) => s.record);
    sortByStartedAt(stale, (s) => s.record);
    this.logger.debug(
      `discovery on ${this.store.kind} ${this.store.location}: ${listed.entries.length} entries, ${services.length} live, ${stale.length} stale, ${removed.length} removed, ${problems.length} problems`,
      removed.length > 0 ? { removed: removed.map((r) => `${r.record.instance_id} (${r.reason})`) } : undefined,
    );
    return { services, stale, removed, problems };
  }

  /**
   * Compare-and-delete of entries judged stale (each only if still at the judged
   * version): what was removed, and a problem for each that could not be (a held
   * lock, a failed delete). Discovery and every watch remove stale entries here.
   */
  async removeStale(entries: readonly StaleEntry[]): Promise<{ removed: RemovedEntry[]; problems: StoreProblem[] }> {
    const removed: RemovedEntry[] = [];
    const problems: StoreProblem[] = [];
    await Promise.all(
      entries.map(({ entry, verdict }) =>
        this.remove(entry).then((outcome) => {
          if (outcome === 'deleted') removed.push({ record: entry.record, reason: verdict.reason, detail: verdict.detail });
          else if (outcome === 'busy') problems.push(busyProblem(entry));
          else if (outcome instanceof Error) problems.push(removalProblem(entry, outcome));
        }),
      ),
    );
    return { removed, problems };
  }

  /** Judges one entry the same way discovery does. */
  async judgeEntry(entry: StoredEntry): Promise<JudgedEntry> {
    const [judged] = await this.judgeAll([entry]);
    return toJudged(entry.record, (judged as { verdict: Verdict }).verdict);
  }

  /** Verdicts for many entries at once: one liveness snapshot for all local pids. Removes nothing. */
  async verdicts(entries: readonly StoredEntry[]): Promise<Array<{ entry: StoredEntry; verdict: Verdict }>> {
    return this.judgeAll(entries);
  }

  private async judgeAll(entries: readonly StoredEntry[]): Promise<Array<{ entry: StoredEntry; verdict: Verdict }>> {
    const { hostname, staleness } = this.settings;
    const local = new Array<boolean>(entries.length);
    const localPids: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const record = (entries[i] as StoredEntry).record;
      if ((local[i] = isLocalRecord(record, hostname))) localPids.push(record.pid);
    }
    const snapshot = localPids.length > 0 ? await this.liveness.snapshot(localPids) : undefined;
    const now = this.clock.now();
    const expires = this.store.capabilities.expiresEntries;
    return entries.map((entry, i) => {
      const process = local[i] && snapshot ? snapshot.get(entry.record.pid) : undefined;
      // Only a live lease that vouches for this entry (not a planter's hour-long one, not none) stands for its writer's life.
      const leaseBacked = expires && entry.leaseTtlMs !== undefined && leaseVouches(entry.record, entry.leaseTtlMs, staleness);
      return { entry, verdict: judge(entry.record, { now, localHostname: hostname, process, leaseBacked }, staleness) };
    });
  }

  private async remove(entry: StoredEntry): Promise<DeleteOutcome | Error> {
    try {
      const outcome = await this.store.deleteIfUnchanged(entry.record.instance_id, entry.version);
      if (outcome === 'busy' || outcome === 'changed') {
        this.logger.debug(`left stale entry ${entry.record.instance_id} in place: ${outcome}`);
      }
      return outcome;
    } catch (error) {
      this.logger.warn(`could not remove stale entry ${entry.record.instance_id}`, { error: describe(error) });
      return error instanceof Error ? error : new Error(String(error));
    }
  }
}

function toJudged(record: ServiceRecord, verdict: Verdict): JudgedEntry {
  return verdict.health === 'healthy' ? { record, health: 'healthy' } : { record, health: verdict.health, reason: verdict.reason, detail: verdict.detail };
}

/** A stale entry whose lock someone holds: discovery never waits, so it is left and said so. */
function busyProblem(entry: StoredEntry): StoreProblem {
  return {
    code: 'LOCK_BUSY',
    entry: entry.record.instance_id,
    message: 'stale entry left in place: its lock is held by another process',
    action: 'skipped',
  };
}

function removalProblem(entry: StoredEntry, error: Error): StoreProblem {
  return {
    code: isRegistryError(error) ? error.code : 'REMOVE_FAILED',
    entry: entry.record.instance_id,
    message: `stale entry not removed: ${error.message}`,
    action: 'skipped',
  };
}

function describe(error: unknown): unknown {
  return isRegistryError(error) ? error.toJSON() : String(error);
}
