import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { deriveSigningKey, signRequest } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { createApp } from '../bootstrap';
import { AppConfig, loadConfig } from '../config/config';
import { TEST_ADMIN } from '../testing/admin-key';
import { testDataDir } from '../testing/data-dir';
import { TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';

const { keyId: ADMIN_KEY_ID, secret: ADMIN_SECRET } = TEST_ADMIN;
// Redis is shared by every test file (and run): a prefix of our own keeps their counters and signatures apart.
const REDIS_PREFIX = testRedisPrefix('auth');

async function start(db: TestDatabase, extra: Record<string, string> = {}): Promise<{ app: NestFastifyApplication; url: string; config: AppConfig }> {
  const config = loadConfig({
    DATABASE_URL: db.url,
    LOG_LEVEL: 'silent',
    MASTER_KEY: randomBytes(32).toString('base64'),
    ADMIN_KEY_ID,
    ADMIN_SECRET,
    DATA_DIR: testDataDir(),
    ...extra,
  });
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: await app.getUrl(), config };
}

describe('signed requests (real Postgres, real HTTP)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let agent: AteClient;
  let agentKey: { keyId: string; secret: string };

  beforeAll(async () => {
    db = await createTestDatabase('auth');
    ({ app, url } = await start(db));
    admin = new AteClient({ baseUrl: url, keyId: ADMIN_KEY_ID, secret: ADMIN_SECRET });
    const created = await admin.createAgent({ name: 'bot-1' });
    agentKey = created.apiKey!;
    agent = new AteClient({ baseUrl: url, ...agentKey });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('the configured admin key works and creates an agent whose key works', async () => {
    expect(await admin.me()).toEqual({ keyId: ADMIN_KEY_ID, role: 'admin', agentId: null, principalId: null });
    const me = await agent.me();
    expect(me).toMatchObject({ keyId: agentKey.keyId, role: 'agent', agentId: expect.stringMatching(/^agt_/) });
  });

  it('GET /v1/time is public and close to our clock', async () => {
    const t = await new AteClient({ baseUrl: url }).time();
    expect(Math.abs(t.serverTime - Date.now())).toBeLessThan(2000);
    expect(new Date(t.iso).getTime()).toBe(t.serverTime);
  });

  it('the secret is never stored: the row holds only the sealed derived key', async () => {
    const row = await db.pool.query('SELECT key_enc FROM api_key WHERE id = $1', [agentKey.keyId]);
    const sealed: Buffer = row.rows[0].key_enc;
    expect(sealed.length).toBe(60);
    expect(sealed.includes(Buffer.from(agentKey.secret))).toBe(false);
    expect(sealed.includes(deriveSigningKey(agentKey.secret))).toBe(false);
  });

  // Precedence: missing headers, timestamp window, key+signature, replay, role. One row per rejection.
  type Case = [string, () => Promise<{ status: number; body: any }>, number, string];
  const send = async (headers: Record<string, string>, method = 'GET', path = '/v1/me', body?: string) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error: { code: string } } };
  };
  const signed = (
    o: { ts?: number; key?: string; secret?: string; method?: string; path?: string; body?: string; signPath?: string; signBody?: string } = {},
  ) => {
    const ts = String(o.ts ?? Date.now());
    const key = deriveSigningKey(o.secret ?? agentKey.secret);
    const method = o.method ?? 'GET';
    return {
      'ate-key': o.key ?? agentKey.keyId,
      'ate-timestamp': ts,
      'ate-signature': signRequest(key, ts, method, o.signPath ?? o.path ?? '/v1/me', o.signBody ?? o.body ?? ''),
    };
  };
  const cases: Case[] = [
    ['no headers', () => send({}), 401, 'AUTH_MISSING'],
    ['no signature header', () => send({ 'ate-key': 'ak_x', 'ate-timestamp': String(Date.now()) }), 401, 'AUTH_MISSING'],
    ['timestamp not a number', () => send({ ...signed(), 'ate-timestamp': 'yesterday' }), 401, 'AUTH_TIMESTAMP_OUT_OF_WINDOW'],
    ['timestamp 6 s old', () => send(signed({ ts: Date.now() - 6000 })), 401, 'AUTH_TIMESTAMP_OUT_OF_WINDOW'],
    ['timestamp 6 s ahead', () => send(signed({ ts: Date.now() + 6000 })), 401, 'AUTH_TIMESTAMP_OUT_OF_WINDOW'],
    [
      'stale timestamp beats an unknown key',
      () => send(signed({ ts: Date.now() - 60_000, key: 'ak_nosuchkey000000000' })),
      401,
      'AUTH_TIMESTAMP_OUT_OF_WINDOW',
    ],
    ['unknown key id', () => send(signed({ key: 'ak_nosuchkey000000000' })), 401, 'AUTH_INVALID_SIGNATURE'],
    ['malformed key id', () => send(signed({ key: 'root' })), 401, 'AUTH_INVALID_SIGNATURE'],
    ['wrong secret', () => send(signed({ secret: 'not-the-secret' })), 401, 'AUTH_INVALID_SIGNATURE'],
    ['signature not hex', () => send({ ...signed(), 'ate-signature': 'zz' }), 401, 'AUTH_INVALID_SIGNATURE'],
    [
      'path changed after signing',
      () => send(signed({ path: '/v1/me?x=1', signPath: '/v1/me' }), 'GET', '/v1/me?x=1'),
      401,
      'AUTH_INVALID_SIGNATURE',
    ],
    [
      'method changed after signing',
      () => send(signed({ method: 'GET', path: '/v1/admin/principals' }), 'POST', '/v1/admin/principals', '{}'),
      401,
      'AUTH_INVALID_SIGNATURE',
    ],
    [
      'body changed after signing',
      () =>
        send(
          signed({ method: 'POST', path: '/v1/admin/principals', body: '{"name":"b"}', signBody: '{"name":"a"}' }),
          'POST',
          '/v1/admin/principals',
          '{"name":"b"}',
        ),
      401,
      'AUTH_INVALID_SIGNATURE',
    ],
    [
      'agent key on an admin route',
      () => send(signed({ method: 'POST', path: '/v1/admin/principals', body: '{"name":"x"}' }), 'POST', '/v1/admin/principals', '{"name":"x"}'),
      403,
      'AUTH_FORBIDDEN',
    ],
  ];
  it.each(cases.map(([n, r, s, c]) => [n, s, c, r] as const))('%s -> %i %s', async (_name, status, code, run) => {
    const before = await db.pool.query(
      'SELECT (SELECT count(*) FROM principal) AS p, (SELECT count(*) FROM agent) AS a, (SELECT count(*) FROM api_key) AS k',
    );
    const r = await run();
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    const after = await db.pool.query(
      'SELECT (SELECT count(*) FROM principal) AS p, (SELECT count(*) FROM agent) AS a, (SELECT count(*) FROM api_key) AS k',
    );
    expect(after.rows).toEqual(before.rows); // a rejected request writes nothing
  });

  it("a 403 says which role the route needs, not the caller's role", async () => {
    const r = await send(
      signed({ method: 'POST', path: '/v1/admin/principals', body: '{"name":"x"}' }),
      'POST',
      '/v1/admin/principals',
      '{"name":"x"}',
    );
    expect(r.body).toEqual({ error: { code: 'AUTH_FORBIDDEN', message: 'This needs a key with role admin.', details: { required: ['admin'] } } });
  });

  it('the same signed request twice is a replay', async () => {
    const h = signed();
    expect((await send(h)).status).toBe(200);
    const again = await send(h);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('AUTH_REPLAYED');
  });

  it('a key sealed under another master key is refused as invalid, not a 500', async () => {
    const other = await start(db, { MASTER_KEY: randomBytes(32).toString('base64') });
    try {
      const c = new AteClient({ baseUrl: other.url, ...agentKey });
      await expect(c.me()).rejects.toMatchObject({ status: 401, code: 'AUTH_INVALID_SIGNATURE' });
    } finally {
      await other.app.close();
    }
  });

  it('a revoked key stops working at once', async () => {
    const k = await admin.issueAgentKey((await agent.me()).agentId as string, 'spare');
    const spare = new AteClient({ baseUrl: url, ...k });
    expect((await spare.me()).keyId).toBe(k.keyId);
    await admin.revokeKey(k.keyId);
    await expect(spare.me()).rejects.toMatchObject({ status: 401, code: 'AUTH_INVALID_SIGNATURE' });
    await expect(admin.revokeKey('ak_nosuchkey000000000')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('admin input is validated', async () => {
    await expect(admin.createAgent({ name: '' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    await expect(admin.post('/v1/admin/agents', { name: 'x', role: 'admin' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    await expect(admin.createAgent({ name: 'x', principalId: 'prn_nosuchprincipal' })).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await expect(admin.issueAgentKey('agt_nosuchagent')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const p = await admin.createPrincipal({ name: 'Acme' });
    const a = await admin.createAgent({ name: 'acme-bot', principalId: p.id, withKey: false });
    expect(a).toMatchObject({ principalId: p.id, status: 'active' });
    expect(a.apiKey).toBeUndefined();
  });
});

describe('replay protection across api nodes (real Redis)', () => {
  it('a signature used on one node is refused on another that shares Redis', async () => {
    const db = await createTestDatabase('auth_redis');
    const master = randomBytes(32).toString('base64');
    const a = await start(db, { REDIS_URL, REDIS_PREFIX, MASTER_KEY: master });
    const b = await start(db, { REDIS_URL, REDIS_PREFIX, MASTER_KEY: master });
    try {
      const admin = new AteClient({ baseUrl: a.url, keyId: ADMIN_KEY_ID, secret: ADMIN_SECRET });
      const headers = admin.sign('GET', '/v1/me', '');
      expect((await fetch(a.url + '/v1/me', { headers })).status).toBe(200);
      const replay = await fetch(b.url + '/v1/me', { headers });
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('AUTH_REPLAYED');
    } finally {
      await a.app.close();
      await b.app.close();
      await db.drop();
    }
  });
});

describe('first start', () => {
  it('mints one admin key on a database that never had one: its secret only in a fresh 0600 file, never on stdout; never again once one existed', async () => {
    const db = await createTestDatabase('auth_boot');
    const dataDir = mkdtempSync(join(tmpdir(), 'ate-boot-'));
    const file = join(dataDir, 'first-admin-key.json');
    writeFileSync(file, 'stale\n', { mode: 0o644 }); // left over from another database
    const printed: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const config = loadConfig({ DATABASE_URL: db.appUrl, LOG_LEVEL: 'silent', MASTER_KEY: randomBytes(32).toString('base64'), DATA_DIR: dataDir });
    const adminKeys = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM api_key WHERE role = 'admin'`)).rows[0].n;
    try {
      for (let i = 0; i < 3; i++) {
        const app = await createApp(config);
        await app.listen({ port: 0, host: '127.0.0.1' });
        const url = await app.getUrl();
        if (i === 0) {
          expect(statSync(file).mode & 0o777).toBe(0o600);
          const { keyId, secret } = JSON.parse(readFileSync(file, 'utf8'));
          const out = printed.join('');
          expect(out).toContain(keyId);
          expect(out).toContain(file);
          expect(out).toMatch(/delete that file/);
          expect(out).not.toContain(secret);
          const first = new AteClient({ baseUrl: url, keyId, secret });
          expect((await first.me()).role).toBe('admin');
          unlinkSync(file); // the operator took it
        }
        if (i === 1) {
          // every admin key revoked: the next start must not mint a new one by itself
          const { keyId } = (await db.pool.query(`SELECT id AS "keyId" FROM api_key WHERE role = 'admin'`)).rows[0];
          await db.pool.query('UPDATE api_key SET revoked_at = now() WHERE id = $1', [keyId]);
        }
        await app.close();
      }
      expect(printed.join('').match(/First admin API key/g)).toHaveLength(1);
      expect(await adminKeys()).toBe(1);
      expect(existsSync(file)).toBe(false);
    } finally {
      spy.mockRestore();
      rmSync(dataDir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
