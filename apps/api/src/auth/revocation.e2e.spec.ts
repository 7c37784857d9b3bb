import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { deriveSigningKey } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { freePort, startApiProcess, testApiEnv } from '../testing/api-process';
import { stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { masterKeyFor, startTestApp, TEST_ADMIN, testConfig } from '../testing/test-app';
import { KeyVault } from './key-vault';

/**
 * The promise (docs/SECURITY.md): a key revoked by `DELETE /v1/admin/keys/:id` is refused on every api node for
 * every request that starts after the 204. Probed as it was found: requests with the key in flight while the
 * revocation runs (a lookup that read the row before the revoke must not leave it cached), and across two api
 * processes sharing Redis (a node that cached the key before must not keep honouring it).
 */
const TRIALS = 15;

/** Fires `inFlight` requests with the key, revokes it meanwhile, then probes: the probe must be refused. */
async function raceRevocation(admin: AteClient, revokeVia: AteClient, nodes: string[], agentId: string): Promise<number[]> {
  const k = await admin.issueAgentKey(agentId, 'raced');
  const clients = nodes.map((baseUrl) => new AteClient({ baseUrl, ...k }));
  const inFlight = [0, 1, 2].map((i) => clients[i % clients.length]!.raw('GET', '/v1/me'));
  await revokeVia.revokeKey(k.keyId);
  const after: number[] = [];
  for (const c of clients) after.push((await c.raw('GET', '/v1/me')).status);
  await Promise.all(inFlight);
  return after;
}

describe('key revocation takes effect at once (in memory, one node, under concurrency)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  beforeAll(async () => {
    db = await createTestDatabase('revoke');
    ({ app, url, admin } = await startTestApp(testConfig(db)));
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it(`in ${TRIALS} trials with requests in flight during the revoke, every request after the 204 is refused`, async () => {
    const agent = await admin.createAgent({ name: 'raced', withKey: false });
    const statuses: number[] = [];
    for (let t = 0; t < TRIALS; t++) statuses.push(...(await raceRevocation(admin, admin, [url], agent.id)));
    expect(statuses).toEqual(Array(TRIALS).fill(401));
  });

  it('a key id that does not exist is cached as absent (its answer does not time the database), and a key issued later works at once', async () => {
    const agent = await admin.createAgent({ name: 'later', withKey: false });
    const absent = `ak_${'0'.repeat(19)}1`;
    const probe = new AteClient({
      baseUrl: url,
      keyId: absent,
      secret: 'x'.repeat(40),
    });
    expect((await probe.raw('GET', '/v1/me')).status).toBe(401);
    // The row appears behind the api's back (as an operator's SQL would): the cached absence still answers.
    const seal = new KeyVault(Buffer.from(masterKeyFor(db), 'base64')).seal(deriveSigningKey('x'.repeat(40)), absent);
    await db.pool.query(`INSERT INTO api_key (id, role, agent_id, key_enc) VALUES ($1, 'agent', $2, $3)`, [absent, agent.id, seal]);
    expect((await probe.raw('GET', '/v1/me')).status).toBe(401);
    // Keys issued through the api invalidate cached absences: a new key works on its first request.
    const fresh = await admin.issueAgentKey(agent.id);
    expect((await new AteClient({ baseUrl: url, ...fresh }).me()).keyId).toBe(fresh.keyId);
  });
});

describe('key revocation across two api processes sharing Redis', () => {
  jest.setTimeout(120_000);
  const REDIS_PREFIX = testRedisPrefix('revoke');
  let db: TestDatabase;
  const procs: ChildProcess[] = [];
  const urls: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('revoke_redis');
    const masterKey = randomBytes(32).toString('base64');
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      urls.push(`http://127.0.0.1:${port}`);
      // ENGINE_MODE=redis with no engine node: keys and revocations need no engine
      const env = testApiEnv(
        { databaseUrl: db.url, port, masterKey },
        {
          REDIS_URL,
          REDIS_PREFIX,
          ENGINE_MODE: 'redis',
          RECONCILE_EVERY_MS: '0',
        },
      );
      procs.push(await startApiProcess(env, { ready: 'listening' }));
    }
  });
  afterAll(async () => {
    for (const p of procs) await stopProcess(p, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it('a key that node B has cached is refused by B right after node A acknowledged its revocation', async () => {
    const a = new AteClient({ baseUrl: urls[0]!, ...TEST_ADMIN });
    const agent = await a.createAgent({ name: 'two-nodes' });
    const onB = new AteClient({ baseUrl: urls[1]!, ...agent.apiKey! });
    expect((await onB.raw('GET', '/v1/me')).status).toBe(200); // B caches the key
    await a.revokeKey(agent.apiKey!.keyId);
    expect((await onB.raw('GET', '/v1/me')).status).toBe(401);
  });

  it(`in ${TRIALS} trials with requests in flight on both nodes during a revoke on A, every request after the 204 is refused on both`, async () => {
    const a = new AteClient({ baseUrl: urls[0]!, ...TEST_ADMIN });
    const agent = await a.createAgent({ name: 'raced-two', withKey: false });
    const statuses: number[] = [];
    for (let t = 0; t < TRIALS; t++) statuses.push(...(await raceRevocation(a, a, urls, agent.id)));
    expect(statuses).toEqual(Array(TRIALS * 2).fill(401));
  });
});
