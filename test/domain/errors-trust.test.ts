import { describe, expect, it } from 'vitest';
import { AuthFailedError, isRegistryError, RegistryError, TlsFailedError } from '../../src/domain/errors.js';

/** The two errors of a store that does not trust us, or that we do not trust. */
describe('AuthFailedError and TlsFailedError', () => {
  const cause = new Error('etcdserver: authentication failed, invalid user ID or password');
  it.each([
    [new AuthFailedError('etcds://h:2379/p/', 'wrong password', cause), AuthFailedError, 'AuthFailedError', 'AUTH_FAILED', /^authentication to registry store etcds:\/\/h:2379\/p\/ failed: wrong password$/],
    [new TlsFailedError('etcds://h:2379/p/', 'untrusted certificate', cause), TlsFailedError, 'TlsFailedError', 'TLS_FAILED', /^TLS connection to registry store etcds:\/\/h:2379\/p\/ failed: untrusted certificate$/],
  ])('%s has a stable code, is not retryable and keeps only its cause\u2019s name and message in JSON', (error, ctor, name, code, message) => {
    expect(error).toBeInstanceOf(ctor);
    expect(error).toBeInstanceOf(RegistryError);
    expect(isRegistryError(error)).toBe(true);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(message);
    expect(error.toJSON()).toEqual({ name, code, message: error.message, retryable: false, details: { location: 'etcds://h:2379/p/' }, cause: { name: 'Error', message: cause.message } });
  });
});
