import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../../src/adapters/shared/record-cache.js';

describe('deepFreeze (records handed out by listings are shared, so frozen through and through)', () => {
  it('freezes objects in arrays, arrays in objects, objects without a prototype, and leaves scalars alone', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { deep: { list: [1, { x: 'y' }] } });
    const value = { a: 'text', n: 1, nothing: null, list: [{ b: [{ c: 1 }] }, 'x'], bare };
    expect(deepFreeze(value)).toBe(value);
    for (const part of [value, value.list, value.list[0], (value.list[0] as { b: unknown[] }).b, (value.list[0] as { b: Array<{ c: number }> }).b[0], bare, bare['deep'], (bare['deep'] as { list: unknown[] }).list, ((bare['deep'] as { list: unknown[] }).list[1])]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      'use strict';
      (value.list as unknown[]).push(1);
    }).toThrow(TypeError);
  });

  it('walks own keys only, not a non-enumerable toJSON', () => {
    const inherited = Object.create({ shared: { mutable: true } }) as Record<string, unknown>;
    inherited['own'] = { x: 1 };
    const hidden = { v: 1 };
    Object.defineProperty(inherited, 'toJSON', { value: hidden, enumerable: false });
    deepFreeze(inherited);
    expect(Object.isFrozen(inherited['own'])).toBe(true);
    expect(Object.isFrozen((Object.getPrototypeOf(inherited) as { shared: object }).shared)).toBe(false);
    expect(Object.isFrozen(hidden)).toBe(false);
  });
});
