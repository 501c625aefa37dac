import type { LivenessProbe } from '../../ports/liveness.port.js';
import { ProcLivenessProbe } from './proc.liveness.js';
import { PsListLivenessProbe } from './ps-list.liveness.js';

/** /proc on Linux (no spawn); ps-list everywhere else. */
export function defaultLivenessProbe(platform: NodeJS.Platform = process.platform): LivenessProbe {
  return platform === 'linux' ? new ProcLivenessProbe() : new PsListLivenessProbe();
}
