import { describe, expect, it } from 'vitest';
import { parseStoreUri } from '../../../src/app/store-uri.js';
import { resolveEtcdOptions } from '../../../src/adapters/etcd/etcd.options.js';
import { InvalidStoreUriError } from '../../../src/domain/errors.js';

/** etcd credentials and TLS files: from the environment, never the URI. */
describe('parseStoreUri: etcds:// and the etcd environment', () => {
  it('etcds:// is TLS; the CA, client certificate and key, user and password come from the environment', () => {
    const env = {
      MARCUS_REGISTRY_ETCD_CA: '/etc/marcus/ca.pem',
      MARCUS_REGISTRY_ETCD_CERT: '/etc/marcus/client.pem',
      MARCUS_REGISTRY_ETCD_KEY: '/etc/marcus/client-key.pem',
      MARCUS_REGISTRY_ETCD_USER: 'marcus',
      MARCUS_REGISTRY_ETCD_PASSWORD_FILE: '/run/secrets/etcd',
    };
    expect(parseStoreUri('etcds://e1:2379,e2:2379/reg/', env)).toEqual({
      kind: 'etcd',
      hosts: ['e1:2379', 'e2:2379'],
      prefix: '/reg/',
      tls: { caFile: '/etc/marcus/ca.pem', certFile: '/etc/marcus/client.pem', keyFile: '/etc/marcus/client-key.pem' },
      auth: { username: 'marcus', passwordFile: '/run/secrets/etcd' },
    });
    expect(parseStoreUri('etcds://e1:2379', {})).toEqual({ kind: 'etcd', hosts: ['e1:2379'], prefix: '/marcus/services/', tls: {} });
    expect(parseStoreUri('etcd://e1:2379', { MARCUS_REGISTRY_ETCD_USER: 'u', MARCUS_REGISTRY_ETCD_PASSWORD: 'p' })).toEqual({
      kind: 'etcd',
      hosts: ['e1:2379'],
      prefix: '/marcus/services/',
      auth: { username: 'u', password: 'p' },
    });
  });

  it.each([
    ['TLS files with plain etcd://', 'etcd://h:2379', { MARCUS_REGISTRY_ETCD_CA: '/ca' }, /etcd:\/\/ is plain text: use etcds:\/\//],
    ['a certificate without its key', 'etcds://h:2379', { MARCUS_REGISTRY_ETCD_CERT: '/c' }, /needs both MARCUS_REGISTRY_ETCD_CERT and MARCUS_REGISTRY_ETCD_KEY/],
    ['a user without a password', 'etcd://h:2379', { MARCUS_REGISTRY_ETCD_USER: 'u' }, /neither MARCUS_REGISTRY_ETCD_PASSWORD nor MARCUS_REGISTRY_ETCD_PASSWORD_FILE/],
    ['a password without a user', 'etcd://h:2379', { MARCUS_REGISTRY_ETCD_PASSWORD: 'p' }, /MARCUS_REGISTRY_ETCD_USER is not/],
    ['both password and file', 'etcd://h:2379', { MARCUS_REGISTRY_ETCD_USER: 'u', MARCUS_REGISTRY_ETCD_PASSWORD: 'p', MARCUS_REGISTRY_ETCD_PASSWORD_FILE: '/f' }, /not both/],
  ])('refuses %s', (_label, uri, env, message) => {
    expect(() => parseStoreUri(uri, env)).toThrow(message);
  });

  it('refuses user:password in the URI and never repeats the password', () => {
    for (const uri of ['etcd://marcus:s3cr3t-value@h:2379/p/', 'etcds://marcus:s3cr3t-value@h:2379,g:2379']) {
      let caught: unknown;
      try {
        parseStoreUri(uri, {});
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidStoreUriError);
      const error = caught as InvalidStoreUriError;
      expect(error.message).toMatch(/credentials do not belong in the store URI/);
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('s3cr3t-value');
      expect(error.details['uri']).toMatch(/^etcds?:\/\/marcus:…@h:2379/);
    }
  });
});

describe('resolveEtcdOptions: TLS', () => {
  it('https endpoints and an etcds:// location with TLS; plain otherwise; never a mix', () => {
    expect(resolveEtcdOptions({ hosts: ['h:2379'], tls: {} })).toMatchObject({ endpoints: ['https://h:2379'], location: 'etcds://h:2379/marcus/services/' });
    expect(resolveEtcdOptions({ hosts: ['https://h:2379'] })).toMatchObject({ endpoints: ['https://h:2379'], tls: {}, location: 'etcds://h:2379/marcus/services/' });
    expect(resolveEtcdOptions({ hosts: ['http://h:2379', 'g:2379'] })).toMatchObject({ endpoints: ['http://h:2379', 'http://g:2379'], tls: undefined });
    expect(() => resolveEtcdOptions({ hosts: ['http://h:2379'], tls: {} })).toThrow(/an endpoint is http:\/\//);
    expect(() => resolveEtcdOptions({ hosts: ['https://h:2379', 'http://g:2379'] })).toThrow(/TLS is on but an endpoint is http/);
    expect(() => resolveEtcdOptions({ hosts: ['h:2379'], tls: { cert: Buffer.from('x') } })).toThrow(/both cert and key/);
    expect(() => resolveEtcdOptions({ hosts: ['h:2379'], auth: { username: 'u', password: '' } })).toThrow(/non-empty password/);
  });
});
