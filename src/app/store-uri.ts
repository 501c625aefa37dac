import { DEFAULT_ETCD_PREFIX } from '../adapters/etcd/etcd.options.js';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { EtcdStoreOptions } from '../adapters/etcd/etcd.options.js';
import type { JsonDirStoreOptions } from '../adapters/json-dir/json-dir.store.js';
import type { SqliteStoreOptions } from '../adapters/sqlite/sqlite.options.js';
import { InvalidStoreUriError } from '../domain/errors.js';

/**
 * etcd user authentication. The password comes from `password` or, read when
 * the store opens, from `passwordFile` (one trailing newline dropped); never
 * from the store URI.
 */
export interface EtcdAuthConfig {
  readonly username: string;
  readonly password?: string;
  readonly passwordFile?: string;
}

/**
 * TLS to etcd (PEM files, read when the store opens): `caFile` to trust (else
 * the system's roots), `certFile` + `keyFile` for client-certificate auth.
 */
export interface EtcdTlsConfig {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** The JSON-directory store's tunables, each optional (defaults in JsonDirStoreOptions and the README). */
export type JsonStoreTunables = Pick<
  JsonDirStoreOptions,
  'graceMs' | 'maxFileBytes' | 'readConcurrency' | 'lockStaleMs' | 'lockWaitMs' | 'watchDebounceMs' | 'watchRescanIntervalMs' | 'midWriteRetryMs'
>;
/** The SQLite store's tunables, each optional (defaults in SqliteStoreOptions and the README). */
export type SqliteStoreTunables = Pick<SqliteStoreOptions, 'readonly' | 'busyTimeoutMs' | 'watchPollMs'>;
/** The etcd store's tunables, each optional (defaults in EtcdStoreOptions and the README). */
export type EtcdStoreTunables = Pick<
  EtcdStoreOptions,
  'defaultTtlMs' | 'dialTimeoutMs' | 'callTimeoutMs' | 'memberTimeoutMs' | 'watchCheckIntervalMs' | 'maxRecoveryDelayMs' | 'maxWatchRetryDelayMs'
>;

/**
 * Which store to open, parsed from a store URI or given directly as a config
 * object; a config object may also carry the store's tunables
 * (createRegistry({ store: { kind: 'sqlite', path, busyTimeoutMs: 10_000 } })).
 */
export type StoreConfig =
  | ({ readonly kind: 'json'; readonly dir: string } & JsonStoreTunables)
  | ({ readonly kind: 'sqlite'; readonly path: string } & SqliteStoreTunables)
  | ({
      readonly kind: 'etcd';
      readonly hosts: readonly string[];
      readonly prefix: string;
      /** Present: talk TLS (https endpoints), as `etcds://` does. */
      readonly tls?: EtcdTlsConfig;
      readonly auth?: EtcdAuthConfig;
    } & EtcdStoreTunables)
  | { readonly kind: 'memory' };

/** The environment variables that carry etcd credentials and TLS files (for a store given as a URI). */
export const ETCD_ENV = {
  user: 'MARCUS_REGISTRY_ETCD_USER',
  password: 'MARCUS_REGISTRY_ETCD_PASSWORD',
  passwordFile: 'MARCUS_REGISTRY_ETCD_PASSWORD_FILE',
  ca: 'MARCUS_REGISTRY_ETCD_CA',
  cert: 'MARCUS_REGISTRY_ETCD_CERT',
  key: 'MARCUS_REGISTRY_ETCD_KEY',
} as const;

/** The prefix under which instances live when the store URI names none (one constant, the etcd adapter's). */
export { DEFAULT_ETCD_PREFIX };

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
 * `json:<dir>` · `sqlite:<path>` · `etcd://host:port[,host:port…][/prefix]` ·
 * `etcds://…` (the same over TLS) · `memory:`. etcd credentials and TLS files
 * come from the environment (ETCD_ENV), never from the URI.
 * A bare path (absolute, `~`, `./`, or containing a separator) is a JSON
 * directory; a bare word is refused rather than made into a new directory.
 */
export function parseStoreUri(uri: string, env: Env = process.env): StoreConfig {
  const text = uri.trim();
  if (/^etcds?:\/\//i.test(text)) return parseEtcd(text, env);
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
        throw new InvalidStoreUriError(uri, `unknown scheme '${name}:' (use json:, sqlite:, etcd://, etcds:// or memory:)`);
    }
  }
  // A bare word ("bogus", "sqlite") is a typo far more often than a directory:
  // only something that looks like a path is taken as one.
  if (!/^(~|\.{1,2}([\\/]|$)|[\\/]|[a-z]:[\\/])/i.test(text) && !/[\\/]/.test(text)) {
    throw new InvalidStoreUriError(uri, 'not a store URI (json:<dir>, sqlite:<file>, etcd://host:port, memory:) nor a path');
  }
  return { kind: 'json', dir: localPath(text, uri, env) };
}

function parseEtcd(uri: string, env: Env): StoreConfig {
  const secure = /^etcds:/i.test(uri);
  const body = uri.slice(uri.indexOf('://') + 3);
  const slash = body.indexOf('/');
  const hostPart = slash === -1 ? body : body.slice(0, slash);
  if (hostPart.includes('@')) {
    // Never echo what came before the @: it may be a password.
    const at = body.lastIndexOf('@', slash === -1 ? body.length : slash);
    const userInfo = body.slice(0, at);
    const shown = userInfo.includes(':') ? `${uri.slice(0, uri.indexOf('://') + 3)}${userInfo.slice(0, userInfo.indexOf(':'))}:…${body.slice(at)}` : uri;
    throw new InvalidStoreUriError(
      shown,
      `credentials do not belong in the store URI (argv and environment listings show it): set ${ETCD_ENV.user} and ${ETCD_ENV.password} or ${ETCD_ENV.passwordFile}`,
    );
  }
  let prefix = slash === -1 ? DEFAULT_ETCD_PREFIX : body.slice(slash);
  if (prefix === '/') prefix = DEFAULT_ETCD_PREFIX;
  if (!prefix.endsWith('/')) prefix += '/';
  const hosts = hostPart.split(',').map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0) throw new InvalidStoreUriError(uri, `${secure ? 'etcds' : 'etcd'}:// needs at least one host:port`);
  for (const host of hosts) {
    if (!/^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/i.test(host) || Number(host.slice(host.lastIndexOf(':') + 1)) > 65535) {
      throw new InvalidStoreUriError(uri, `'${host}' is not host:port`);
    }
  }
  const tls = etcdTlsFromEnv(uri, secure, env);
  const auth = etcdAuthFromEnv(uri, env);
  return { kind: 'etcd', hosts, prefix, ...(tls && { tls }), ...(auth && { auth }) };
}

function etcdTlsFromEnv(uri: string, secure: boolean, env: Env): EtcdTlsConfig | undefined {
  const caFile = env[ETCD_ENV.ca] || undefined;
  const certFile = env[ETCD_ENV.cert] || undefined;
  const keyFile = env[ETCD_ENV.key] || undefined;
  if (!secure) {
    const set = [caFile && ETCD_ENV.ca, certFile && ETCD_ENV.cert, keyFile && ETCD_ENV.key].filter(Boolean);
    if (set.length > 0) throw new InvalidStoreUriError(uri, `${set.join(', ')} set, but etcd:// is plain text: use etcds:// for TLS`);
    return undefined;
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidStoreUriError(uri, `a client certificate needs both ${ETCD_ENV.cert} and ${ETCD_ENV.key}`);
  }
  return { ...(caFile && { caFile }), ...(certFile && { certFile }), ...(keyFile && { keyFile }) };
}

function etcdAuthFromEnv(uri: string, env: Env): EtcdAuthConfig | undefined {
  const username = env[ETCD_ENV.user] || undefined;
  const password = env[ETCD_ENV.password] || undefined;
  const passwordFile = env[ETCD_ENV.passwordFile] || undefined;
  if (username === undefined) {
    if (password !== undefined || passwordFile !== undefined) throw new InvalidStoreUriError(uri, `an etcd password is set but ${ETCD_ENV.user} is not`);
    return undefined;
  }
  if (password !== undefined && passwordFile !== undefined) throw new InvalidStoreUriError(uri, `set ${ETCD_ENV.password} or ${ETCD_ENV.passwordFile}, not both`);
  if (password === undefined && passwordFile === undefined) {
    throw new InvalidStoreUriError(uri, `${ETCD_ENV.user} is set but neither ${ETCD_ENV.password} nor ${ETCD_ENV.passwordFile}`);
  }
  return { username, ...(password !== undefined && { password }), ...(passwordFile !== undefined && { passwordFile }) };
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
