import { ConfigError, loadConfig } from './config';

describe('configuration', () => {
  it('has working defaults for the single-node embedded setup', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ HOST: '127.0.0.1', PORT: 3000, EMBEDDED_PG_PORT: 54329, DATA_DIR: '.data', BODY_LIMIT_BYTES: 65536 });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBeUndefined();
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).PORT).toBe(3000);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['LOG_LEVEL', 'loud'],
    ['BODY_LIMIT_BYTES', '10'],
    ['NODE_ENV', 'staging'],
    ['MASTER_KEY', 'c2hvcnQ='],
    ['ADMIN_KEY_ID', 'admin'],
  ])('a bad %s (%s) is one clear error naming the variable', (variable, value) => {
    let err: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as ConfigError).message).toMatch(new RegExp(`^invalid configuration: ${variable}: .+`));
    expect((err as ConfigError).message).not.toContain('\n');
  });

  // The value a configuration error shows: never a secret, a URL without its password.
  it.each([
    [
      'ADMIN_SECRET',
      { ADMIN_KEY_ID: 'ak_0123456789abcdef', ADMIN_SECRET: 'short-secret' },
      'short-secret',
      /\(got a value of 12 characters, not shown\)$/,
    ],
    ['MASTER_KEY', { MASTER_KEY: 'c2VjcmV0LWJ1dC1zaG9ydA==' }, 'c2VjcmV0LWJ1dC1zaG9ydA==', /not shown\)$/],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://app:hunter2hunter2@db/x' }, 'hunter2hunter2', /\(got "mysql:\/\/app:\*\*\*@db\/x"\)$/],
    ['REDIS_URL', { REDIS_URL: 'http://:hunter2hunter2@r:6379' }, 'hunter2hunter2', /\*\*\*@r:6379/],
    ['MIGRATION_DATABASE_URL', { MIGRATION_DATABASE_URL: 'postgres://u:hunter2@h:99999' }, 'hunter2', /not shown \(it may hold a password\)\)$/],
  ])('a bad %s is named, its secret not shown', (variable, env, secret, shown) => {
    let message = '';
    try {
      loadConfig(env);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`^invalid configuration: ${variable}: `));
    expect(message).not.toContain(secret);
    expect(message).toMatch(shown);
  });

  it('the bootstrap admin key needs both its id and its secret', () => {
    expect(() => loadConfig({ ADMIN_KEY_ID: 'ak_0123456789abcdef' })).toThrow(
      /^invalid configuration: ADMIN_SECRET: set ADMIN_KEY_ID and ADMIN_SECRET together/,
    );
    expect(() => loadConfig({ ADMIN_SECRET: 'x'.repeat(32) })).toThrow(/^invalid configuration: ADMIN_KEY_ID/);
  });
});
