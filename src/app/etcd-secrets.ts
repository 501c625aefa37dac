import { readFile } from 'node:fs/promises';
import type { EtcdStoreOptions } from '../adapters/etcd/etcd.options.js';
import { InvalidStoreUriError } from '../domain/errors.js';
import type { StoreConfig } from './store-uri.js';

type EtcdConfig = Extract<StoreConfig, { kind: 'etcd' }>;

/**
 * Reads the files an etcd store config names (password, CA, client
 * certificate and key) into the options the etcd adapter takes. A file that
 * cannot be read is an INVALID_STORE_URI error naming the file, never its
 * content.
 */
export async function etcdSecrets(config: EtcdConfig): Promise<Pick<EtcdStoreOptions, 'auth' | 'tls'>> {
  const where = `${config.tls ? 'etcds' : 'etcd'}://${config.hosts.join(',')}${config.prefix}`;
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new InvalidStoreUriError(where, `cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  };
  let auth: EtcdStoreOptions['auth'];
  if (config.auth) {
    const { username, password, passwordFile } = config.auth;
    const secret = password ?? (passwordFile === undefined ? undefined : (await read(passwordFile, 'etcd password')).toString('utf8').replace(/\r?\n$/, ''));
    if (!username || !secret) throw new InvalidStoreUriError(where, 'etcd authentication needs a user name and a non-empty password (or password file)');
    auth = { username, password: secret };
  }
  let tls: EtcdStoreOptions['tls'];
  if (config.tls) {
    const { caFile, certFile, keyFile } = config.tls;
    tls = {
      ...(caFile !== undefined && { ca: await read(caFile, 'CA certificate') }),
      ...(certFile !== undefined && { cert: await read(certFile, 'client certificate') }),
      ...(keyFile !== undefined && { key: await read(keyFile, 'client key') }),
    };
  }
  return { ...(auth && { auth }), ...(tls && { tls }) };
}
