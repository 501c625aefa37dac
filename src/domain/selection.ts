import { comparePreference, type Candidate, type PreferenceContext } from './preference.js';

/** How to pick one instance among the live candidates. */
export type SelectionStrategy = 'preferred' | 'round-robin' | 'random' | 'least-loaded';

export const SELECTION_STRATEGIES: readonly SelectionStrategy[] = ['preferred', 'round-robin', 'random', 'least-loaded'];

export interface SelectionInput {
  readonly context?: PreferenceContext;
  /** For round-robin: how many selections this caller made before. */
  readonly turn?: number;
  /** For random: a number in [0, 1). */
  readonly random?: number;
}

/**
 * Picks one candidate. Round-robin and random spread over healthy candidates
 * (unresponsive ones only when none is healthy), in preference order so the
 * rotation is stable. Least-loaded compares `load_metrics` (active_agents, then
 * cpu_usage, then memory_mb); a candidate without metrics counts as most loaded.
 */
export function select<T extends Candidate>(candidates: readonly T[], strategy: SelectionStrategy, input: SelectionInput = {}): T | undefined {
  const ranked = [...candidates].sort(comparePreference(input.context ?? {}));
  if (ranked.length === 0) return undefined;
  if (strategy === 'preferred') return ranked[0];
  const healthy = ranked.filter((c) => c.health === 'healthy');
  const pool = healthy.length > 0 ? healthy : ranked;
  switch (strategy) {
    case 'round-robin':
      return pool[mod(input.turn ?? 0, pool.length)];
    case 'random':
      return pool[Math.min(pool.length - 1, Math.floor((input.random ?? 0) * pool.length))];
    case 'least-loaded': {
      const rankOf = new Map(pool.map((c, i) => [c, i]));
      return [...pool].sort((a, b) => compareLoad(a, b) || (rankOf.get(a) as number) - (rankOf.get(b) as number))[0];
    }
  }
}

const LOAD_KEYS = ['active_agents', 'cpu_usage', 'memory_mb'] as const;

function compareLoad(a: Candidate, b: Candidate): number {
  for (const key of LOAD_KEYS) {
    const x = metric(a, key), y = metric(b, key);
    if (x !== y) return x - y;
  }
  return 0;
}

function metric(candidate: Candidate, key: string): number {
  const value = candidate.record.load_metrics?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : Number.POSITIVE_INFINITY;
}

function mod(n: number, m: number): number {
  return ((Math.trunc(n) % m) + m) % m;
}
