import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { bindAddressOf, resolveMonitorConfig } from '../../../src/interfaces/http/monitor-options.js';
import { safeJson } from '../../../src/interfaces/http/responses.js';
import { allowedHosts, authorized, hostAllowed } from '../../../src/interfaces/http/security.js';
import { InvalidMonitorOptionsError } from '../../../src/interfaces/http/monitor.errors.js';

const TOKEN = 'a-token-of-sixteen+';
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('monitor options', () => {
  it('binds 127.0.0.1 by default and accepts the loopback range, ::1 and localhost', () => {
    expect(resolveMonitorConfig().bind).toEqual({ address: '127.0.0.1', urlHost: '127.0.0.1', kind: 'loopback' });
    expect(bindAddressOf('127.10.0.3')).toEqual({ address: '127.10.0.3', urlHost: '127.10.0.3', kind: 'loopback' });
    expect(bindAddressOf('::1')).toEqual({ address: '::1', urlHost: '[::1]', kind: 'loopback' });
    expect(bindAddressOf('[0:0:0:0:0:0:0:1]')).toEqual({ address: '::1', urlHost: '[::1]', kind: 'loopback' });
    expect(bindAddressOf('LocalHost')).toEqual({ address: '127.0.0.1', urlHost: 'localhost', kind: 'loopback' });
  });

  it('classifies other addresses as remote or wildcard, and refuses names', () => {
    expect(bindAddressOf('0.0.0.0').kind).toBe('wildcard');
    expect(bindAddressOf('::').kind).toBe('wildcard');
    expect(bindAddressOf('192.0.2.7').kind).toBe('remote');
    expect(bindAddressOf('::ffff:127.0.0.1').kind).toBe('remote');
    expect(() => bindAddressOf('example.com')).toThrow(InvalidMonitorOptionsError);
    expect(() => bindAddressOf('127.0.0.1.nip.io')).toThrow(InvalidMonitorOptionsError);
    expect(() => bindAddressOf('fe80::1%eth0')).toThrow(/zone ids/);
  });

  it('needs allowRemote AND a token for anything but loopback', () => {
    expect(() => resolveMonitorConfig({ host: '192.0.2.7' })).toThrow(/--allow-remote/);
    expect(() => resolveMonitorConfig({ host: '192.0.2.7', allowRemote: true })).toThrow(/needs a token/);
    expect(() => resolveMonitorConfig({ host: '192.0.2.7', token: TOKEN })).toThrow(/--allow-remote/);
    expect(resolveMonitorConfig({ host: '192.0.2.7', allowRemote: true, token: TOKEN }).token).toBe(TOKEN);
    expect(() => resolveMonitorConfig({ token: 'short' })).toThrow(/at least 16/);
    expect(() => resolveMonitorConfig({ token: 'has a space in it ok' })).toThrow(/spaces/);
    expect(() => resolveMonitorConfig({ port: 65_536 })).toThrow(/port/);
    expect(() => resolveMonitorConfig({ port: 1.5 })).toThrow(/port/);
    expect(() => resolveMonitorConfig({ maxStreams: 0 })).toThrow(/maxStreams/);
  });
});

describe('monitor security', () => {
  it('allows the bound address and localhost with the exact port, nothing else', () => {
    const allowed = allowedHosts(bindAddressOf('127.0.0.1'), 8123);
    for (const host of ['127.0.0.1:8123', 'localhost:8123', 'LOCALHOST:8123']) expect(hostAllowed(request({ host }), allowed), host).toBe(true);
    for (const host of ['127.0.0.1', '127.0.0.1:8124', 'evil.example:8123', '[::1]:8123', 'localhost.:8123', '']) expect(hostAllowed(request({ host }), allowed), host).toBe(false);
    expect(hostAllowed(request({}), allowed)).toBe(false);
    const v6 = allowedHosts(bindAddressOf('::1'), 9000);
    expect(hostAllowed(request({ host: '[::1]:9000' }), v6)).toBe(true);
    expect(hostAllowed(request({ host: '127.0.0.1:9000' }), v6)).toBe(false);
    const other = allowedHosts(bindAddressOf('127.0.0.5'), 9000);
    expect(hostAllowed(request({ host: 'localhost:9000' }), other)).toBe(false);
  });

  it('accepts the token as Bearer or as a Basic password, and nothing close to it', () => {
    expect(authorized(request({ authorization: `Bearer ${TOKEN}` }), TOKEN)).toBe(true);
    expect(authorized(request({ authorization: `bearer   ${TOKEN}` }), TOKEN)).toBe(true);
    expect(authorized(request({ authorization: `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}` }), TOKEN)).toBe(true);
    for (const authorization of [`Bearer ${TOKEN} `.trimEnd() + 'x', `Bearer ${TOKEN.toUpperCase()}`, TOKEN, `Basic ${Buffer.from(TOKEN).toString('base64')}`, 'Bearer']) {
      expect(authorized(request({ authorization }), TOKEN), authorization).toBe(false);
    }
    expect(authorized(request({}), TOKEN)).toBe(false);
  });

  it('writes JSON without markup characters, as the same value', () => {
    const value = { project_name: '<img src=x onerror=alert(1)>&\u2028</script>' };
    const text = safeJson(value);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
