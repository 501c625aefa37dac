import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidStoreUriError } from '../domain/errors.js';

/** Which store to open, parsed from a store URI or given directly as a config object. */
export type StoreConfig =
  | { readonly kind: 'json'; readonly dir: string }
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'etcd'; readonly hosts: readonly string[]; readonly prefix: string }
  | { readonly kind: 'memory' };

export const DEFAULT_ETCD_PREFIX = '/marcus/services/';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The default registry directory, where the Python registry keeps it:
 * `~/.marcus/services`, or `%APPDATA%\.marcus\services` on Windows;
 * `MARCUS_REGISTRY_DIR` overrides it.
 */
export function defaultRegistryDir(env: Env = process.env, platform: NodeJS.Platform = process.platform): string {
  const override = env['MARCUS_REGISTRY_DIR'];
  if (override) return resolve(expandHome(override, env));
  const base = platform === 'win32' ? (env['APPDATA'] ?? tmpdir()) : homeOf(env);
  return join(base, '.marcus', 'services');
}

/** The store a process uses when nobody says: `MARCUS_REGISTRY_STORE`, else the JSON directory. */
export function resolveStoreConfig(uri: string | StoreConfig | undefined, env: Env = process.env): StoreConfig {
  if (typeof uri === 'object') return uri;
  const text = uri ?? env['MARCUS_REGISTRY_STORE'];
  if (text === undefined || text.trim() === '') return { kind: 'json', dir: defaultRegistryDir(env) };
  return parseStoreUri(text, env);
}

/**
 * `json:<dir>` · `sqlite:<path>` · `etcd://host:port[,host:port…][/prefix]` · `memory:`.
 * A bare path (absolute, `~`, `./`, or containing a separator) is a JSON
 * directory; a bare word is refused rather than made into a new directory.
 */
export function parseStoreUri(uri: string, env: Env = process.env): StoreConfig {
  const text = uri.trim();
  if (/^etcd:\/\//i.test(text)) return parseEtcd(text);
  if (/^memory:?$/i.test(text)) return { kind: 'memory' };
  const scheme = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(text);
  // A Windows drive letter (C:\…) is a path, not a scheme.
  if (scheme && !/^[a-z]:[\\/]/i.test(text)) {
    const [, name, rest = ''] = scheme;
    const path = localPath(rest, uri, env);
    switch (name?.toLowerCase()) {
      case 'json':
        return { kind: 'json', dir: rest === '' ? defaultRegistryDir(env) : path };
      case 'sqlite':
        if (rest === '') throw new InvalidStoreUriError(uri, 'sqlite: needs a database file path, e.g. sqlite:~/.marcus/registry.db');
        return { kind: 'sqlite', path };
      default:
        throw new InvalidStoreUriError(uri, `unknown scheme '${name}:' (use json:, sqlite:, etcd:// or memory:)`);
    }
  }
  // A bare word ("bogus", "sqlite") is a typo far more often than a directory:
  // only something that looks like a path is taken as one.
  if (!/^(~|\.{1,2}([\\/]|$)|[\\/]|[a-z]:[\\/])/i.test(text) && !/[\\/]/.test(text)) {
    throw new InvalidStoreUriError(uri, 'not a store URI (json:<dir>, sqlite:<file>, etcd://host:port, memory:) nor a path');
  }
  return { kind: 'json', dir: localPath(text, uri, env) };
}

function parseEtcd(uri: string): StoreConfig {
  const body = uri.slice('etcd://'.length);
  const slash = body.indexOf('/');
  const hostPart = slash === -1 ? body : body.slice(0, slash);
  let prefix = slash === -1 ? DEFAULT_ETCD_PREFIX : body.slice(slash);
  if (prefix === '/') prefix = DEFAULT_ETCD_PREFIX;
  if (!prefix.endsWith('/')) prefix += '/';
  const hosts = hostPart.split(',').map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0) throw new InvalidStoreUriError(uri, 'etcd:// needs at least one host:port');
  for (const host of hosts) {
    if (!/^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/i.test(host) || Number(host.slice(host.lastIndexOf(':') + 1)) > 65535) {
      throw new InvalidStoreUriError(uri, `'${host}' is not host:port`);
    }
  }
  return { kind: 'etcd', hosts, prefix };
}

function localPath(raw: string, uri: string, env: Env): string {
  // Accept json:///abs/path and json://~/x as well as json:/abs/path.
  const path = raw.startsWith('//') ? raw.slice(2) : raw;
  if (path.includes('\0')) throw new InvalidStoreUriError(uri, 'path contains a NUL byte');
  const expanded = expandHome(path, env);
  return isAbsolute(expanded) ? expanded : resolve(expanded);
}

function expandHome(path: string, env: Env): string {
  if (path === '~') return homeOf(env);
  if (path.startsWith('~/') || path.startsWith('~\\')) return join(homeOf(env), path.slice(2));
  return path;
}

function homeOf(env: Env): string {
  return env['HOME'] || env['USERPROFILE'] || homedir();
}
