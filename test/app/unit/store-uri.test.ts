import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidStoreUriError, RegistryError } from '../../../src/domain/errors.js';
import { DEFAULT_ETCD_PREFIX, defaultRegistryDir, parseStoreUri, resolveStoreConfig, type StoreConfig } from '../../../src/app/store-uri.js';

const HOME = '/home/tester';
const env = { HOME };

function invalid(uri: string, e: Record<string, string | undefined> = env): InvalidStoreUriError {
  let caught: unknown;
  try {
    parseStoreUri(uri, e);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidStoreUriError);
  expect(caught).toBeInstanceOf(RegistryError);
  const error = caught as InvalidStoreUriError;
  expect(error.code).toBe('INVALID_STORE_URI');
  expect(error.details['uri']).toBe(uri);
  return error;
}

describe('parseStoreUri: json', () => {
  it('json:/abs → that directory', () => {
    expect(parseStoreUri('json:/srv/registry', env)).toEqual({ kind: 'json', dir: '/srv/registry' });
  });

  it('json:~/x expands HOME from the injected env, not the real one', () => {
    expect(parseStoreUri('json:~/reg', env)).toEqual({ kind: 'json', dir: '/home/tester/reg' });
    expect(parseStoreUri('json:~', env)).toEqual({ kind: 'json', dir: HOME });
  });

  it('falls back to USERPROFILE when HOME is unset', () => {
    expect(parseStoreUri('json:~/reg', { USERPROFILE: '/users/win' })).toEqual({ kind: 'json', dir: '/users/win/reg' });
  });

  it('json: alone → the default registry directory', () => {
    expect(parseStoreUri('json:', env)).toEqual({ kind: 'json', dir: join(HOME, '.marcus', 'services') });
    expect(parseStoreUri('json:', { ...env, MARCUS_REGISTRY_DIR: '/custom/dir' })).toEqual({ kind: 'json', dir: '/custom/dir' });
  });

  it('json:///abs and json://~/x are accepted too', () => {
    expect(parseStoreUri('json:///srv/registry', env)).toEqual({ kind: 'json', dir: '/srv/registry' });
    expect(parseStoreUri('json://~/reg', env)).toEqual({ kind: 'json', dir: '/home/tester/reg' });
  });

  it('a relative json: directory is made absolute against the cwd', () => {
    expect(parseStoreUri('json:reg', env)).toEqual({ kind: 'json', dir: resolve('reg') });
  });

  it('the scheme is case-insensitive and surrounding whitespace is ignored', () => {
    expect(parseStoreUri('JSON:/srv/registry', env)).toEqual({ kind: 'json', dir: '/srv/registry' });
    expect(parseStoreUri('  json:/srv/registry \n', env)).toEqual({ kind: 'json', dir: '/srv/registry' });
  });

  it('a bare word is refused, not made into a new directory', () => {
    for (const word of ['bogus', 'sqlite', 'etcd', 'registry.db']) {
      expect(() => parseStoreUri(word, env)).toThrow(InvalidStoreUriError);
    }
    expect(parseStoreUri('reg/dir', env)).toEqual({ kind: 'json', dir: resolve('reg/dir') });
  });

  it('a bare path is a JSON directory', () => {
    expect(parseStoreUri('/srv/registry', env)).toEqual({ kind: 'json', dir: '/srv/registry' });
    expect(parseStoreUri('~/reg', env)).toEqual({ kind: 'json', dir: '/home/tester/reg' });
    expect(parseStoreUri('./reg', env)).toEqual({ kind: 'json', dir: resolve('reg') });
  });

  it('a Windows drive path is a path, not a scheme', () => {
    for (const uri of ['C:\\Users\\dev\\reg', 'c:/Users/dev/reg']) {
      const config = parseStoreUri(uri, env);
      expect(config.kind).toBe('json');
      expect((config as Extract<StoreConfig, { kind: 'json' }>).dir.endsWith(uri)).toBe(true);
    }
    const prefixed = parseStoreUri('json:C:\\reg', env);
    expect(prefixed.kind).toBe('json');
  });

  it('rejects a NUL byte in the path', () => {
    invalid('json:/srv/\u0000reg');
    invalid('sqlite:/srv/\u0000x.db');
  });
});

describe('parseStoreUri: sqlite', () => {
  it('sqlite:/x.db → that file', () => {
    expect(parseStoreUri('sqlite:/var/lib/marcus/registry.db', env)).toEqual({ kind: 'sqlite', path: '/var/lib/marcus/registry.db' });
  });

  it('expands ~ and resolves relative paths', () => {
    expect(parseStoreUri('sqlite:~/.marcus/registry.db', env)).toEqual({ kind: 'sqlite', path: '/home/tester/.marcus/registry.db' });
    expect(parseStoreUri('sqlite:reg.db', env)).toEqual({ kind: 'sqlite', path: resolve('reg.db') });
  });

  it('sqlite: without a path is an INVALID_STORE_URI saying what is needed', () => {
    expect(invalid('sqlite:').message).toContain('database file path');
  });
});

describe('parseStoreUri: etcd', () => {
  it('etcd://h:2379 → one host and the default prefix', () => {
    expect(parseStoreUri('etcd://h:2379', env)).toEqual({ kind: 'etcd', hosts: ['h:2379'], prefix: '/marcus/services/' });
    expect(DEFAULT_ETCD_PREFIX).toBe('/marcus/services/');
  });

  it('a bare / prefix is the default prefix', () => {
    expect(parseStoreUri('etcd://h:2379/', env)).toEqual({ kind: 'etcd', hosts: ['h:2379'], prefix: DEFAULT_ETCD_PREFIX });
  });

  it('takes several comma-separated hosts', () => {
    expect(parseStoreUri('etcd://10.0.0.1:2379,10.0.0.2:2379, node-3.example.com:22379', env)).toEqual({
      kind: 'etcd',
      hosts: ['10.0.0.1:2379', '10.0.0.2:2379', 'node-3.example.com:22379'],
      prefix: DEFAULT_ETCD_PREFIX,
    });
  });

  it('takes a custom prefix with or without a trailing slash', () => {
    expect(parseStoreUri('etcd://h:2379/team/a', env)).toEqual({ kind: 'etcd', hosts: ['h:2379'], prefix: '/team/a/' });
    expect(parseStoreUri('etcd://h:2379/team/a/', env)).toEqual({ kind: 'etcd', hosts: ['h:2379'], prefix: '/team/a/' });
  });

  it('takes a bracketed IPv6 host', () => {
    expect(parseStoreUri('etcd://[::1]:2379', env)).toEqual({ kind: 'etcd', hosts: ['[::1]:2379'], prefix: DEFAULT_ETCD_PREFIX });
    expect(parseStoreUri('etcd://[::1]:2379,127.0.0.1:2380/p', env)).toEqual({ kind: 'etcd', hosts: ['[::1]:2379', '127.0.0.1:2380'], prefix: '/p/' });
  });

  it('accepts the highest port', () => {
    expect(parseStoreUri('etcd://h:65535', env)).toMatchObject({ hosts: ['h:65535'] });
  });

  it.each([
    ['no host at all', 'etcd://'],
    ['only a prefix', 'etcd:///prefix'],
    ['no port', 'etcd://h'],
    ['an empty port', 'etcd://h:'],
    ['a port above 65535', 'etcd://h:65536'],
    ['a huge port', 'etcd://h:99999'],
    ['a non-numeric port', 'etcd://h:abc'],
    ['a six-digit port', 'etcd://h:123456'],
    ['a bad host character', 'etcd://h_st:2379'],
    ['a user-info part', 'etcd://user@h:2379'],
    ['an unbracketed IPv6 host', 'etcd://::1:2379'],
    ['one bad host among good ones', 'etcd://h:2379,bad'],
  ])('rejects %s', (_label, uri) => {
    invalid(uri);
  });
});

describe('parseStoreUri: memory and unknown schemes', () => {
  it('memory: (and memory) → the in-memory store', () => {
    expect(parseStoreUri('memory:', env)).toEqual({ kind: 'memory' });
    expect(parseStoreUri('memory', env)).toEqual({ kind: 'memory' });
  });

  it.each(['ftp://x', 'redis://h:6379', 'postgres:db', 'http://127.0.0.1:2379', 'etcd:h:2379'])('rejects unknown scheme %s', (uri) => {
    const error = invalid(uri);
    expect(error.message).toContain('unknown scheme');
  });
});

describe('defaultRegistryDir', () => {
  it('is ~/.marcus/services with HOME from the env', () => {
    expect(defaultRegistryDir({ HOME }, 'linux')).toBe('/home/tester/.marcus/services');
    expect(defaultRegistryDir({ HOME }, 'darwin')).toBe('/home/tester/.marcus/services');
  });

  it('falls back to the real home directory when the env has none', () => {
    expect(defaultRegistryDir({}, 'linux')).toBe(join(homedir(), '.marcus', 'services'));
  });

  it('MARCUS_REGISTRY_DIR overrides it, with ~ expanded and made absolute', () => {
    expect(defaultRegistryDir({ HOME, MARCUS_REGISTRY_DIR: '/srv/reg' }, 'linux')).toBe('/srv/reg');
    expect(defaultRegistryDir({ HOME, MARCUS_REGISTRY_DIR: '~/reg' }, 'linux')).toBe('/home/tester/reg');
    expect(defaultRegistryDir({ HOME, MARCUS_REGISTRY_DIR: 'rel/reg' }, 'linux')).toBe(resolve('rel/reg'));
    expect(defaultRegistryDir({ HOME, APPDATA: '/appdata', MARCUS_REGISTRY_DIR: '/srv/reg' }, 'win32')).toBe('/srv/reg');
  });

  it('an empty MARCUS_REGISTRY_DIR is ignored', () => {
    expect(defaultRegistryDir({ HOME, MARCUS_REGISTRY_DIR: '' }, 'linux')).toBe('/home/tester/.marcus/services');
  });

  it('on Windows is %APPDATA%\\.marcus\\services, not under HOME', () => {
    const appdata = 'C:\\Users\\dev\\AppData\\Roaming';
    expect(defaultRegistryDir({ HOME, APPDATA: appdata }, 'win32')).toBe(join(appdata, '.marcus', 'services'));
    expect(defaultRegistryDir({ HOME, APPDATA: '/appdata' }, 'win32')).toBe('/appdata/.marcus/services');
  });

  it('on Windows without APPDATA falls back to the temp directory', () => {
    expect(defaultRegistryDir({ HOME }, 'win32')).toBe(join(tmpdir(), '.marcus', 'services'));
  });
});

describe('resolveStoreConfig', () => {
  it('an explicit URI wins over MARCUS_REGISTRY_STORE and the default', () => {
    expect(resolveStoreConfig('sqlite:/a.db', { HOME, MARCUS_REGISTRY_STORE: 'etcd://h:2379' })).toEqual({ kind: 'sqlite', path: '/a.db' });
  });

  it('an explicit config object is returned as it is', () => {
    const config: StoreConfig = { kind: 'memory' };
    expect(resolveStoreConfig(config, { HOME, MARCUS_REGISTRY_STORE: 'etcd://h:2379' })).toBe(config);
  });

  it('MARCUS_REGISTRY_STORE wins over the default', () => {
    expect(resolveStoreConfig(undefined, { HOME, MARCUS_REGISTRY_STORE: 'etcd://h:2379/x' })).toEqual({ kind: 'etcd', hosts: ['h:2379'], prefix: '/x/' });
    expect(resolveStoreConfig(undefined, { HOME, MARCUS_REGISTRY_STORE: 'json:~/r' })).toEqual({ kind: 'json', dir: '/home/tester/r' });
  });

  it('with neither, it is the default JSON directory (honouring MARCUS_REGISTRY_DIR)', () => {
    expect(resolveStoreConfig(undefined, { HOME })).toEqual({ kind: 'json', dir: defaultRegistryDir({ HOME }) });
    expect(resolveStoreConfig(undefined, { HOME, MARCUS_REGISTRY_DIR: '/srv/reg' })).toEqual({ kind: 'json', dir: '/srv/reg' });
  });

  it('a blank MARCUS_REGISTRY_STORE means the default', () => {
    expect(resolveStoreConfig(undefined, { HOME, MARCUS_REGISTRY_STORE: '   ' })).toEqual({ kind: 'json', dir: defaultRegistryDir({ HOME }) });
  });

  it('an invalid MARCUS_REGISTRY_STORE is reported, not silently replaced', () => {
    expect(() => resolveStoreConfig(undefined, { HOME, MARCUS_REGISTRY_STORE: 'ftp://x' })).toThrow(InvalidStoreUriError);
  });
});

describe('store URI schemes are case-insensitive', () => {
  it('reads ETCD:// and MEMORY: like their lower-case forms', () => {
    expect(parseStoreUri('ETCD://h:2379', {})).toEqual({ kind: 'etcd', hosts: ['h:2379'], prefix: '/marcus/services/' });
    expect(parseStoreUri('MEMORY:', {})).toEqual({ kind: 'memory' });
  });
});
