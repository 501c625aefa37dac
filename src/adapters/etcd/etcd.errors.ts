import type * as Etcd3 from 'etcd3';
import { AccessDeniedError, RegistryClosedError, RegistryError, StoreUnavailableError } from '../../domain/errors.js';

type ErrorClass = abstract new (...args: never[]) => Error;
type Translate = (error: Error, location: string) => RegistryError;

const unavailable: Translate = (error, location) => new StoreUnavailableError(location, error);
const denied: Translate = (error, location) => new AccessDeniedError(location, error);

/**
 * The one place etcd3's errors become RegistryErrors. First match wins, so
 * subclasses come before their base class. Lease loss (EtcdLeaseInvalidError) is
 * mostly handled inside the store (re-grant); when it still reaches a caller the
 * lease ran out mid-call, which a retry fixes, so it is "unavailable" too.
 */
export function errorTable(etcd: typeof Etcd3): ReadonlyArray<readonly [ErrorClass, Translate]> {
  return [
    [etcd.ClientClosedError, () => new RegistryClosedError()],
    [etcd.GRPCUnavailableError, unavailable],
    [etcd.GRPCDeadlineExceededError, unavailable],
    [etcd.GRPCCancelledError, unavailable],
    [etcd.GRPCResourceExhastedError, unavailable],
    [etcd.GRPCAbortedError, unavailable],
    [etcd.GRPCInternalError, unavailable],
    [etcd.EtcdLeaseInvalidError, unavailable],
    [etcd.EtcdPermissionDeniedError, denied],
    [etcd.EtcdAuthenticationFailedError, denied],
    [etcd.EtcdInvalidAuthTokenError, denied],
    [etcd.GRPCUnauthenticatedError, denied],
    [etcd.GRPCGenericError, unavailable],
    [etcd.EtcdError, unavailable],
  ];
}

/** Translates whatever an etcd call threw; RegistryErrors pass through untouched. */
export function makeTranslator(etcd: typeof Etcd3, location: string): (error: unknown) => RegistryError {
  const table = errorTable(etcd);
  return (error) => {
    if (error instanceof RegistryError) return error;
    if (error instanceof Error) {
      for (const [cls, translate] of table) if (error instanceof cls) return translate(error, location);
      // cockatiel's open circuit breaker (etcd3's per-host guard): the host failed recently.
      if ('isBrokenCircuitError' in error || 'isTaskCancelledError' in error) return unavailable(error, location);
    }
    return new StoreUnavailableError(location, error);
  };
}
