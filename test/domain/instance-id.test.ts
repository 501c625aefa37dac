import { describe, expect, it } from 'vitest';
import { InvalidInstanceIdError, RegistryError } from '../../src/domain/errors.js';
import { assertInstanceId, defaultInstanceId, INSTANCE_ID_PATTERN, isValidInstanceId } from '../../src/domain/instance-id.js';

describe('isValidInstanceId', () => {
  it.each([
    ['marcus_123'],
    ['a'],
    ['Z'],
    ['7'],
    ['a'.repeat(128)],
    ['my.server.v2'],
    ['host-a_marcus-1'],
    ['a.b'],
    ['a-'],
    ['a_'],
    ['a.'],
    ['A1.b-c_d'],
  ])('accepts %j', (id) => {
    expect(isValidInstanceId(id)).toBe(true);
    expect(assertInstanceId(id)).toBe(id);
  });

  it.each([
    ['a path traversal', '../x'],
    ['a slash', 'a/b'],
    ['dot-dot', '..'],
    ['a single dot', '.'],
    ['dot-dot inside', 'a..b'],
    ['dot-dot at the end', 'ab..'],
    ['a leading dot', '.hidden'],
    ['a leading dash', '-x'],
    ['a leading underscore', '_x'],
    ['a NUL byte', 'a\u0000b'],
    ['a trailing NUL', 'marcus_1\u0000'],
    ['129 characters', 'a'.repeat(129)],
    ['empty', ''],
    ['a backslash', 'a\\b'],
    ['a Windows traversal', '..\\x'],
    ['unicode letters', 'marcüs'],
    ['a fullwidth digit', 'ａ1'],
    ['a space', 'marcus 1'],
    ['a trailing newline', 'marcus_1\n'],
    ['a colon', 'c:x'],
    ['a glob star', 'marcus_*'],
  ])('rejects %s', (_label, id) => {
    expect(isValidInstanceId(id)).toBe(false);
    expect(() => assertInstanceId(id)).toThrow(InvalidInstanceIdError);
  });

  it.each([[undefined], [null], [123], [{}], [['marcus_1']], [Symbol('marcus')]])('rejects a non-string %s', (value) => {
    expect(isValidInstanceId(value)).toBe(false);
  });

  it('has the documented pattern', () => {
    expect(INSTANCE_ID_PATTERN.source).toBe('^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');
  });
});

describe('assertInstanceId', () => {
  it('throws a typed error with code INVALID_INSTANCE_ID and the offending id in details', () => {
    let caught: unknown;
    try {
      assertInstanceId('../etc');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RegistryError);
    const error = caught as InvalidInstanceIdError;
    expect(error.code).toBe('INVALID_INSTANCE_ID');
    expect(error.name).toBe('InvalidInstanceIdError');
    expect(error.details['instanceId']).toBe('../etc');
    expect(error.message).toContain('../etc');
  });

  it('bounds the message and details for a huge id', () => {
    let caught: unknown;
    try {
      assertInstanceId('x/'.repeat(100_000));
    } catch (error) {
      caught = error;
    }
    const error = caught as InvalidInstanceIdError;
    expect(error.message.length).toBeLessThan(400);
    expect(String(error.details['instanceId']).length).toBeLessThanOrEqual(200);
  });

  it('throws for a non-string without crashing on String()', () => {
    expect(() => assertInstanceId(undefined)).toThrow(InvalidInstanceIdError);
    expect(() => assertInstanceId(42)).toThrow(InvalidInstanceIdError);
  });
});

describe('defaultInstanceId', () => {
  it('is marcus_<pid>, as the Python registry names instances', () => {
    expect(defaultInstanceId(123)).toBe('marcus_123');
    expect(isValidInstanceId(defaultInstanceId(2 ** 31 - 1))).toBe(true);
  });
});
