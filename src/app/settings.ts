import { hostname } from 'node:os';
import { DEFAULT_STALENESS_POLICY, type StalenessPolicy } from '../domain/staleness.js';

/** Registry-wide settings the facade and the discovery service share. */
export interface RegistrySettings {
  /** This machine's name, written into records and compared when judging them. Default: os.hostname(). */
  readonly hostname: string;
  /** Default: 3 missed beats, 2 s start-time tolerance, 60 s clock skew. */
  readonly staleness: StalenessPolicy;
  /** Heartbeat interval for register() when the caller gives none. Default: 10 000 ms. */
  readonly heartbeatIntervalMs: number;
  /** Remove the own entry on process exit and SIGINT/SIGTERM/SIGHUP. Default: true. */
  readonly exitHooks: boolean;
  /** The pin preferred() honours when the caller gives none: MARCUS_INSTANCE_ID. */
  readonly pinnedInstanceId: string | undefined;
}

export function defaultSettings(env: Readonly<Record<string, string | undefined>> = process.env): RegistrySettings {
  return {
    hostname: hostname(),
    staleness: DEFAULT_STALENESS_POLICY,
    heartbeatIntervalMs: 10_000,
    exitHooks: true,
    pinnedInstanceId: env['MARCUS_INSTANCE_ID'] || undefined,
  };
}
