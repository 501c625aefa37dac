import type * as Etcd3 from 'etcd3';
import { AccessDeniedError, AuthFailedError, RegistryClosedError, RegistryError, StoreUnavailableError, TlsFailedError } from '../../domain/errors.js';

type ErrorClass = abstract new (...args: never[]) => Error;
type Translate = (error: Error, location: string) => RegistryError;

const unavailable: Translate = (error, location) => new StoreUnavailableError(location, error);
const denied: Translate = (error, location) => new AccessDeniedError(location, error);
const authFailed: Translate = (error, location) =>
  new AuthFailedError(location, 'etcd refused the user name or password (MARCUS_REGISTRY_ETCD_USER, MARCUS_REGISTRY_ETCD_PASSWORD or _PASSWORD_FILE)', error);

/**
 * What grpc-js and OpenSSL say when no trusted TLS session comes up: an
 * untrusted or mismatched server certificate, a client certificate the
 * server wants and did not get (or refused), TLS spoken to a plain port.
 */
const TLS_PROBLEM =
  /certificate|self[- ]signed|SSL|TLS|handshake|altnames|ERR_SSL|alert|wrong version number|packet length too long|Hostname\/IP does not match/i;

/** Unavailable, unless the reason is TLS: no retry helps then. */
const unavailableOr: Translate = (error, location) => {
  const reason = error.message;
  if (TLS_PROBLEM.test(reason)) return new TlsFailedError(location, tlsReason(reason), error);
  return new StoreUnavailableError(location, error);
};

/** etcd answers a request without credentials, when it wants them, with "user name is empty". */
const missingAuth = (fallback: Translate): Translate => (error, location) =>
  /user name is empty/i.test(error.message)
    ? new AuthFailedError(location, 'etcd requires authentication: set MARCUS_REGISTRY_ETCD_USER and MARCUS_REGISTRY_ETCD_PASSWORD (or _PASSWORD_FILE)', error)
    : fallback(error, location);

/** The part of grpc's message that says what went wrong, without its boilerplate. */
function tlsReason(message: string): string {
  const last = /Last error: (?:Error: )?(.*?)(?:\. Resolution note:.*)?$/s.exec(message)?.[1]?.trim();
  const raw = (last && last !== '' ? last : message).replace(/\s+/g, ' ');
  // OpenSSL's "…:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:file:line…": the alert is what matters.
  const what = /:([^:]*alert[^:]*):/i.exec(raw)?.[1]?.trim() ?? raw;
  if (/alert/i.test(what)) {
    return `the server refused the TLS handshake (${what}): does it want a client certificate (MARCUS_REGISTRY_ETCD_CERT and _KEY) signed by a CA it trusts?`;
  }
  if (/certificate|self[- ]signed|altnames|Hostname/i.test(what)) return `the server's certificate is not trusted (${what}): check MARCUS_REGISTRY_ETCD_CA`;
  return `${what} (is the server speaking TLS?)`;
}

/**
 * The one place etcd3's errors become RegistryErrors. First match wins, so
 * subclasses come before their base class. Lease loss (EtcdLeaseInvalidError) is
 * mostly handled inside the store (re-grant); when it still reaches a caller the
 * lease ran out mid-call, which a retry fixes, so it is "unavailable" too.
 */
export function errorTable(etcd: typeof Etcd3): ReadonlyArray<readonly [ErrorClass, Translate]> {
  return [
    [etcd.ClientClosedError, () => new RegistryClosedError()],
    [etcd.GRPCUnavailableError, unavailableOr],
    [etcd.GRPCDeadlineExceededError, unavailable],
    [etcd.GRPCCancelledError, unavailable],
    [etcd.GRPCResourceExhastedError, unavailable],
    [etcd.GRPCAbortedError, unavailable],
    [etcd.GRPCInternalError, unavailable],
    [etcd.EtcdLeaseInvalidError, unavailable],
    [etcd.EtcdAuthenticationFailedError, authFailed],
    [etcd.EtcdPermissionDeniedError, missingAuth(denied)],
    [etcd.EtcdInvalidAuthTokenError, denied],
    [etcd.GRPCUnauthenticatedError, denied],
    [etcd.GRPCInvalidArgumentError, missingAuth(unavailable)],
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
