import { RegistryError } from '../../domain/errors.js';

// The HTTP monitor's own errors: they live with their front end, on the one
// RegistryError base (codes are listed in RegistryErrorCode).

/** `serve` / startMonitor() options that would be unsafe or cannot work (a remote bind without a token, a bad port). */
export class InvalidMonitorOptionsError extends RegistryError {
  override name = 'InvalidMonitorOptionsError';
  constructor(option: string, reason: string) {
    super('INVALID_MONITOR_OPTIONS', `${option}: ${reason}`, { details: { option, reason } });
  }
}

/** The monitor could not listen on its address (in use, not an address of this machine). */
export class ListenFailedError extends RegistryError {
  override name = 'ListenFailedError';
  constructor(address: string, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super('LISTEN_FAILED', `cannot listen on ${address}${why}`, { cause, details: { address } });
  }
}
