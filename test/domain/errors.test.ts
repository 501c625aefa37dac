import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  ConflictError,
  UnsupportedSchemaVersionError,
  DriverMissingError,
  InsecureDirectoryError,
  InvalidInstanceIdError,
  InvalidRecordError,
  InvalidStoreUriError,
  isRegistryError,
  isRetryable,
  LockBusyError,
  NotARegistryError,
  NotFoundError,
  NotRegisteredError,
  ReadOnlyStoreError,
  RegistryClosedError,
  RegistryError,
  StoreUnavailableError,
  type RegistryErrorCode,
} from '../../src/domain/errors.js';
import { InvalidMonitorOptionsError, ListenFailedError } from '../../src/interfaces/http/monitor.errors.js';

const cause = new Error('EACCES: permission denied');

interface Case {
  readonly error: RegistryError;
  readonly ctor: new (...args: never[]) => RegistryError;
  readonly name: string;
  readonly code: RegistryErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;
  readonly hasCause: boolean;
}

const cases: Case[] = [
  { error: new InvalidRecordError('bad', { cause, details: { issues: ['pid'] } }), ctor: InvalidRecordError, name: 'InvalidRecordError', code: 'INVALID_RECORD', retryable: false, details: { issues: ['pid'] }, hasCause: true },
  { error: new InvalidInstanceIdError('../x'), ctor: InvalidInstanceIdError, name: 'InvalidInstanceIdError', code: 'INVALID_INSTANCE_ID', retryable: false, details: { instanceId: '../x' }, hasCause: false },
  { error: new NotFoundError('marcus_1'), ctor: NotFoundError, name: 'NotFoundError', code: 'NOT_FOUND', retryable: false, details: { instanceId: 'marcus_1' }, hasCause: false },
  { error: new NotRegisteredError(), ctor: NotRegisteredError, name: 'NotRegisteredError', code: 'NOT_REGISTERED', retryable: false, details: {}, hasCause: false },
  { error: new InsecureDirectoryError('/tmp/reg', 0o40777), ctor: InsecureDirectoryError, name: 'InsecureDirectoryError', code: 'INSECURE_DIRECTORY', retryable: false, details: { dir: '/tmp/reg', mode: 0o777 }, hasCause: false },
  { error: new ReadOnlyStoreError('/ro', cause), ctor: ReadOnlyStoreError, name: 'ReadOnlyStoreError', code: 'READ_ONLY_STORE', retryable: false, details: { location: '/ro' }, hasCause: true },
  { error: new NotARegistryError('/etc', 'has other files', cause), ctor: NotARegistryError, name: 'NotARegistryError', code: 'NOT_A_REGISTRY', retryable: false, details: { location: '/etc', reason: 'has other files' }, hasCause: true },
  { error: new DriverMissingError('better-sqlite3', 'sqlite', cause), ctor: DriverMissingError, name: 'DriverMissingError', code: 'DRIVER_MISSING', retryable: false, details: { driver: 'better-sqlite3', store: 'sqlite' }, hasCause: true },
  { error: new InvalidStoreUriError('ftp://x', 'unknown scheme'), ctor: InvalidStoreUriError, name: 'InvalidStoreUriError', code: 'INVALID_STORE_URI', retryable: false, details: { uri: 'ftp://x' }, hasCause: false },
  { error: new StoreUnavailableError('etcd://h:2379', cause), ctor: StoreUnavailableError, name: 'StoreUnavailableError', code: 'STORE_UNAVAILABLE', retryable: true, details: { location: 'etcd://h:2379' }, hasCause: true },
  { error: new ConflictError('marcus_1', cause), ctor: ConflictError, name: 'ConflictError', code: 'CONFLICT', retryable: true, details: { instanceId: 'marcus_1' }, hasCause: true },
  { error: new LockBusyError('marcus_1', cause), ctor: LockBusyError, name: 'LockBusyError', code: 'LOCK_BUSY', retryable: true, details: { instanceId: 'marcus_1' }, hasCause: true },
  { error: new AccessDeniedError('etcd://h:2379', cause), ctor: AccessDeniedError, name: 'AccessDeniedError', code: 'ACCESS_DENIED', retryable: false, details: { location: 'etcd://h:2379' }, hasCause: true },
  { error: new UnsupportedSchemaVersionError('/r.db', 3, 1), ctor: UnsupportedSchemaVersionError, name: 'UnsupportedSchemaVersionError', code: 'UNSUPPORTED_SCHEMA_VERSION', retryable: false, details: { found: 3, known: 1 }, hasCause: false },
  { error: new InvalidMonitorOptionsError('--host', 'not loopback'), ctor: InvalidMonitorOptionsError, name: 'InvalidMonitorOptionsError', code: 'INVALID_MONITOR_OPTIONS', retryable: false, details: { option: '--host', reason: 'not loopback' }, hasCause: false },
  { error: new ListenFailedError('127.0.0.1:80', cause), ctor: ListenFailedError, name: 'ListenFailedError', code: 'LISTEN_FAILED', retryable: false, details: { address: '127.0.0.1:80' }, hasCause: true },
  { error: new RegistryClosedError(), ctor: RegistryClosedError, name: 'RegistryClosedError', code: 'REGISTRY_CLOSED', retryable: false, details: {}, hasCause: false },
];

describe.each(cases)('$name', ({ error, ctor, name, code, retryable, details, hasCause }) => {
  it('is an instanceof its class, RegistryError and Error', () => {
    expect(error).toBeInstanceOf(ctor);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toBeInstanceOf(Error);
    expect(isRegistryError(error)).toBe(true);
  });

  it('has its stable code and name', () => {
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
    expect(error.stack).toContain(name);
  });

  it('has a non-empty message and its details', () => {
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.details).toEqual(details);
  });

  it(`is ${retryable ? '' : 'not '}retryable`, () => {
    expect(error.retryable).toBe(retryable);
    expect(isRetryable(error)).toBe(retryable);
  });

  it(hasCause ? 'keeps its cause' : 'has no cause', () => {
    if (hasCause) expect(error.cause).toBe(cause);
    else expect(error.cause).toBeUndefined();
  });

  it('serialises code, message and details through toJSON and JSON.stringify', () => {
    const json = error.toJSON();
    expect(json).toMatchObject({ name, code, message: error.message, retryable, details });
    if (hasCause) expect(json['cause']).toEqual({ name: 'Error', message: 'EACCES: permission denied' });
    const roundTrip = JSON.parse(JSON.stringify(error)) as Record<string, unknown>;
    expect(roundTrip['code']).toBe(code);
    expect(roundTrip['message']).toBe(error.message);
    expect(roundTrip['details']).toEqual(details);
  });
});

describe('messages say what to do', () => {
  it('InsecureDirectoryError gives the mode in octal and the chmod fix', () => {
    const error = new InsecureDirectoryError('/tmp/reg', 0o40777);
    expect(error.message).toContain('777');
    expect(error.message).toContain('chmod 700 /tmp/reg');
  });

  it('DriverMissingError tells how to install the driver', () => {
    expect(new DriverMissingError('better-sqlite3', 'sqlite').message).toContain('npm install better-sqlite3');
    // A global install resolves drivers installed globally beside it (…/lib/node_modules), not the current project's.
    expect(new DriverMissingError('better-sqlite3', 'sqlite').message).toContain('npm install -g better-sqlite3 beside a global install');
  });

  it('StoreUnavailableError includes the cause message', () => {
    expect(new StoreUnavailableError('etcd://h:2379', new Error('ECONNREFUSED')).message).toContain('ECONNREFUSED');
    expect(new StoreUnavailableError('etcd://h:2379').message).toContain('etcd://h:2379');
  });

  it('InvalidStoreUriError quotes the URI and the reason', () => {
    const error = new InvalidStoreUriError('ftp://x', 'unknown scheme');
    expect(error.message).toContain('"ftp://x"');
    expect(error.message).toContain('unknown scheme');
  });
});

describe('base class and predicates', () => {
  it('RegistryError defaults: not retryable, empty details, no cause', () => {
    const error = new RegistryError('NOT_FOUND', 'gone');
    expect(error.name).toBe('RegistryError');
    expect(error.retryable).toBe(false);
    expect(error.details).toEqual({});
    expect(error.cause).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('toJSON passes a non-Error cause through as it is', () => {
    const error = new RegistryError('CONFLICT', 'x', { cause: { errno: -2 }, retryable: true });
    expect(error.toJSON()['cause']).toEqual({ errno: -2 });
    expect(isRetryable(error)).toBe(true);
  });

  it('isRetryable and isRegistryError are false for plain errors and non-errors', () => {
    const lookalike = Object.assign(new Error('x'), { code: 'LOCK_BUSY', retryable: true });
    for (const value of [lookalike, new Error('x'), undefined, null, 'LOCK_BUSY', { retryable: true }]) {
      expect(isRetryable(value)).toBe(false);
      expect(isRegistryError(value)).toBe(false);
    }
  });
});

describe('DriverMissingError advice', () => {
  it('says npm install by default and the given fix otherwise', () => {
    expect(new DriverMissingError('etcd3', 'etcd').message).toContain('npm install etcd3');
    const broken = new DriverMissingError('better-sqlite3', 'sqlite', undefined, 'npm rebuild better-sqlite3');
    expect(broken.message).toContain('npm rebuild better-sqlite3');
    expect(broken.message).not.toContain('npm install');
  });
});
