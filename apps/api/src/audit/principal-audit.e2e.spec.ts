/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are read loosely; their schemas are checked by the contract test */
import type { ChildProcess } from 'node:child_process';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { startTestApp, testConfig, TEST_ADMIN } from '../testing/test-app';

type Key = { keyId: string; secret: string };

/** Counts of the tables these actions write (an action refused or rolled back changes none of them). */
async function counts(db: TestDatabase) {
  const n = async (sql: string) => Number((await db.pool.query(sql)).rows[0].n);
  return {
    audit: await n('SELECT count(*) AS n FROM audit_log'),
    agents: await n('SELECT count(*) AS n FROM agent'),
    keys: await n('SELECT count(*) AS n FROM api_key'),
    revoked: await n('SELECT count(*) AS n FROM api_key WHERE revoked_at IS NOT NULL'),
    commands: await n('SELECT count(*) AS n FROM engine_command'),
  };
}

/** The audit rows after `seq`, oldest first, as GET /v1/admin/audit shows them. */
async function rowsAfter(admin: AteClient, seq: number): Promise<any[]> {
  const entries = (await admin.raw<any>('GET', '/v1/admin/audit?limit=500')).body.entries as any[];
  return entries.filter((e) => Number(e.seq) > seq).reverse();
}

const headSeq = async (db: TestDatabase) => Number((await db.pool.query('SELECT seq FROM audit_chain_head')).rows[0].seq);

/**
 * A principal's (and an operator's) non-sequenced actions in the audit log, end to end over signed REST on real
 * Postgres: creating agents, issuing and revoking their keys, an operator's principal keys and auctions, the keys a
 * kill switch revokes. Each route leaves exactly one row (who, which key, what, before, after, the request id);
 * a refused request leaves none and changes nothing; a failure at the effect or at the row commits neither; rows
 * written concurrently by the api and by the sequencer's batches form one chain that verifies.
 */
describe("the audit log of a principal's own actions (real Postgres, real HTTP)", () => {
  jest.setTimeout(90_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let pId: string;
  let pKey: Key;
  let p: AteClient;
  let ownAgent: string; // an agent of the principal
  let ownKey: Key;
  let qAgent: string; // an agent of another principal
  let qAgentKey: string;

  /** A signed request with its own request id; answers status and body. */
  async function call(k: Key, method: string, path: string, body: unknown, requestId: string) {
    const c = new AteClient({ baseUrl: url, ...k });
    const text = body === undefined ? '' : JSON.stringify(body);
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-request-id': requestId, ...c.sign(method, path, text) },
      ...(body === undefined ? {} : { body: text }),
    });
    return { status: r.status, body: r.status === 204 ? null : ((await r.json()) as any) };
  }

  beforeAll(async () => {
    db = await createTestDatabase('principal_audit');
    ({ app, url, admin } = await startTestApp(testConfig(db)));
    await admin.defineAsset({ code: 'PAU.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    pId = (await admin.createPrincipal({ name: 'Acme' })).id;
    pKey = await admin.post<Key>(`/v1/admin/principals/${pId}/keys`, {});
    p = new AteClient({ baseUrl: url, ...pKey });
    const own = await p.post<{ id: string; apiKey: Key }>('/v1/principal/agents', { name: 'own' });
    ownAgent = own.id;
    ownKey = own.apiKey;
    const q = await admin.createPrincipal({ name: 'Globex' });
    const qKey = await admin.post<Key>(`/v1/admin/principals/${q.id}/keys`, {});
    const qa = await new AteClient({ baseUrl: url, ...qKey }).post<{ id: string; apiKey: Key }>('/v1/principal/agents', { name: 'q-bot' });
    qAgent = qa.id;
    qAgentKey = qa.apiKey.keyId;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('each route leaves exactly one row naming the actor, its key, the action, the target, before and after, and the request id', async () => {
    const admin$ = { keyId: TEST_ADMIN.keyId, secret: TEST_ADMIN.secret };
    const asAdmin = { kind: 'admin', id: null, keyId: TEST_ADMIN.keyId };
    // 1. an operator issues the principal a (second) key; it works at once
    let seq = await headSeq(db);
    const k = await call(admin$, 'POST', `/v1/admin/principals/${pId}/keys`, { label: 'ops' }, 'req-pk');
    expect(k.status).toBe(201);
    expect(await rowsAfter(admin, seq)).toMatchObject([
      {
        actor: asAdmin,
        action: 'key.issue',
        target: { kind: 'principal', id: pId },
        requestId: 'req-pk',
        before: null,
        after: { keyId: k.body.keyId, role: 'principal', label: 'ops' },
        commandSeq: null,
      },
    ]);
    expect((await new AteClient({ baseUrl: url, keyId: k.body.keyId, secret: k.body.secret }).raw('GET', '/v1/principal/agents')).status).toBe(200);
    const asP = { kind: 'principal', id: pId, keyId: pKey.keyId };

    // 2. the principal creates an agent (with its first key)
    seq = await headSeq(db);
    const a = await call(pKey, 'POST', '/v1/principal/agents', { name: 'bot-1' }, 'req-agent');
    expect(a.status).toBe(201);
    const agentId = a.body.id as string;
    expect(await rowsAfter(admin, seq)).toMatchObject([
      {
        actor: asP,
        action: 'agent.create',
        target: { kind: 'agent', id: agentId },
        requestId: 'req-agent',
        before: null,
        after: { name: 'bot-1', principalId: pId, keyId: a.body.apiKey.keyId },
      },
    ]);
    expect((await new AteClient({ baseUrl: url, ...a.body.apiKey }).raw('GET', '/v1/account/balances')).status).toBe(200);

    // 3. a second key for it
    seq = await headSeq(db);
    const k2 = await call(pKey, 'POST', `/v1/principal/agents/${agentId}/keys`, { label: 'second' }, 'req-key2');
    expect(k2.status).toBe(201);
    expect(await rowsAfter(admin, seq)).toMatchObject([
      {
        actor: asP,
        action: 'key.issue',
        target: { kind: 'agent', id: agentId },
        requestId: 'req-key2',
        after: { keyId: k2.body.keyId, role: 'agent', label: 'second' },
      },
    ]);

    // 4. revoking it: one row with before and after; the key is refused from the next request on
    seq = await headSeq(db);
    expect((await call(pKey, 'DELETE', `/v1/principal/agents/${agentId}/keys/${k2.body.keyId}`, undefined, 'req-rev')).status).toBe(204);
    expect(await rowsAfter(admin, seq)).toMatchObject([
      {
        actor: asP,
        action: 'key.revoke',
        target: { kind: 'api_key', id: k2.body.keyId },
        requestId: 'req-rev',
        before: { revoked: false },
        after: { revoked: true, agentId },
      },
    ]);
    expect((await new AteClient({ baseUrl: url, keyId: k2.body.keyId, secret: k2.body.secret }).raw('GET', '/v1/account/balances')).status).toBe(401);
    // the same revocation again does nothing: answered alike, no row
    const n = await counts(db);
    expect((await call(pKey, 'DELETE', `/v1/principal/agents/${agentId}/keys/${k2.body.keyId}`, undefined, 'req-rev-again')).status).toBe(204);
    expect(await counts(db)).toEqual(n);

    // 5. an operator's auction (venue sale), its cancellation and a pool: sequenced, each row in its command's batch
    seq = await headSeq(db);
    const deadline = Date.now() + 60_000;
    const auc = await call(admin$, 'POST', '/v1/admin/auctions', { asset: 'PAU.1K', units: '10', deadline }, 'req-auc');
    expect(auc.status).toBe(201);
    const cancel = await call(admin$, 'POST', `/v1/admin/auctions/${auc.body.id}/cancel`, undefined, 'req-auc-cancel');
    expect(cancel.status).toBe(200);
    const pool = await call(admin$, 'POST', '/v1/admin/pools', { asset: 'PAU.1K', mode: 'fixed', price: '1.000', supply: '100' }, 'req-pool');
    expect(pool.status).toBe(201);
    const seqs = (await db.pool.query<{ seq: string }>('SELECT seq::text FROM engine_command ORDER BY seq DESC LIMIT 3')).rows
      .map((r) => r.seq)
      .reverse();
    expect(await rowsAfter(admin, seq)).toMatchObject([
      {
        actor: asAdmin,
        action: 'auction.create',
        target: { kind: 'auction', id: auc.body.id },
        requestId: 'req-auc',
        after: { asset: 'PAU.1K', units: '10', deadline },
        commandSeq: seqs[0],
      },
      { actor: asAdmin, action: 'auction.cancel', target: { kind: 'auction', id: auc.body.id }, requestId: 'req-auc-cancel', commandSeq: seqs[1] },
      {
        actor: asAdmin,
        action: 'pool.create',
        target: { kind: 'pool', id: pool.body.id },
        requestId: 'req-pool',
        after: { mode: 'fixed', supply: '100' },
        commandSeq: seqs[2],
      },
    ]);
  });

  it("the kill switch: the sequenced revocation's row, then one row per key it revoked, naming that command", async () => {
    const a = await p.post<{ id: string; apiKey: Key }>('/v1/principal/agents', { name: 'bot-kill' });
    const extra = await p.post<Key>(`/v1/principal/agents/${a.id}/keys`, {});
    const seq = await headSeq(db);
    const r = await call(pKey, 'POST', `/v1/principal/agents/${a.id}/kill`, undefined, 'req-kill');
    expect(r.status).toBe(200);
    expect([...r.body.revokedKeys].sort()).toEqual([a.apiKey.keyId, extra.keyId].sort());
    const rows = await rowsAfter(admin, seq);
    const who = { actor: { kind: 'principal', id: pId, keyId: pKey.keyId }, requestId: 'req-kill' };
    expect(rows).toMatchObject([
      { ...who, action: 'budget.revoke', target: { kind: 'agent', id: a.id }, commandSeq: r.body.seq },
      ...[a.apiKey.keyId, extra.keyId].sort().map((id) => ({
        ...who,
        action: 'key.revoke',
        target: { kind: 'api_key', id },
        reason: 'kill switch',
        before: { revoked: false },
        after: { revoked: true, agentId: a.id, commandSeq: r.body.seq },
        commandSeq: null,
      })),
    ]);
  });

  it("an agent's sub-agent: the sequenced carve-out's row, then the agent and its key with their row; a refused carve-out leaves neither", async () => {
    await p.put(`/v1/principal/agents/${ownAgent}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '100' }], subAgents: true });
    const before = await counts(db);
    const seq = await headSeq(db);
    const refused = await call(ownKey, 'POST', '/v1/account/subagents', { name: 'too-big', carveOut: '500' }, 'req-sub-refused');
    expect(refused.status).toBe(422);
    expect(await counts(db)).toEqual(before);
    const r = await call(ownKey, 'POST', '/v1/account/subagents', { name: 'sub-1', carveOut: '10' }, 'req-sub');
    expect(r.status).toBe(201);
    const who = { actor: { kind: 'agent', id: ownAgent, keyId: ownKey.keyId }, requestId: 'req-sub' };
    expect(await rowsAfter(admin, seq)).toMatchObject([
      { ...who, action: 'budget.carve', target: { kind: 'agent', id: r.body.id }, commandSeq: expect.any(String) },
      {
        ...who,
        action: 'agent.create',
        target: { kind: 'agent', id: r.body.id },
        after: { name: 'sub-1', principalId: pId, parentId: ownAgent, carveOut: 10_000, keyId: r.body.apiKey.keyId },
        commandSeq: null,
      },
    ]);
  });

  it.each<[string, 'admin' | 'principal', string, () => string, unknown, number, string]>([
    ["a key for another principal's agent", 'principal', 'POST', () => `/v1/principal/agents/${qAgent}/keys`, {}, 404, 'NOT_FOUND'],
    ['a key for an unknown agent', 'principal', 'POST', () => '/v1/principal/agents/agt_nosuchagent00/keys', {}, 404, 'NOT_FOUND'],
    [
      "revoking another principal's agent's key",
      'principal',
      'DELETE',
      () => `/v1/principal/agents/${qAgent}/keys/${qAgentKey}`,
      undefined,
      404,
      'NOT_FOUND',
    ],
    [
      "revoking another agent's key through one's own agent",
      'principal',
      'DELETE',
      () => `/v1/principal/agents/${ownAgent}/keys/${qAgentKey}`,
      undefined,
      404,
      'NOT_FOUND',
    ],
    [
      'revoking an unknown key',
      'principal',
      'DELETE',
      () => `/v1/principal/agents/${ownAgent}/keys/ak_nosuchkey0000000000`,
      undefined,
      404,
      'NOT_FOUND',
    ],
    ['an agent without a name', 'principal', 'POST', () => '/v1/principal/agents', { name: '' }, 400, 'VALIDATION_FAILED'],
    ['an unknown field', 'principal', 'POST', () => '/v1/principal/agents', { name: 'x', admin: true }, 400, 'VALIDATION_FAILED'],
    ['a principal key for an unknown principal', 'admin', 'POST', () => '/v1/admin/principals/prn_nosuchprincipal/keys', {}, 404, 'NOT_FOUND'],
    [
      'an auction with a deadline passed',
      'admin',
      'POST',
      () => '/v1/admin/auctions',
      { asset: 'PAU.1K', units: '1', deadline: 1 },
      400,
      'AUCTION_INVALID_DEADLINE',
    ],
    [
      'an auction of an unknown asset',
      'admin',
      'POST',
      () => '/v1/admin/auctions',
      { asset: 'NOPE.1K', units: '1', deadline: Date.now() + 60_000 },
      400,
      'AUCTION_UNKNOWN_ASSET',
    ],
    ['cancelling an unknown auction', 'admin', 'POST', () => '/v1/admin/auctions/auc_nosuch/cancel', undefined, 404, 'AUCTION_NOT_FOUND'],
    [
      'a fixed pool without a supply',
      'admin',
      'POST',
      () => '/v1/admin/pools',
      { asset: 'PAU.1K', mode: 'fixed', price: '1.000' },
      400,
      'MECHANISM_INVALID_CONFIG',
    ],
  ])('%s is refused, changes nothing and leaves no row', async (_, who, method, path, body, status, code) => {
    const before = await counts(db);
    const r = await call(who === 'admin' ? TEST_ADMIN : pKey, method, path(), body, 'req-refused');
    expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
    expect(await counts(db)).toEqual(before);
  });

  it.each([
    ['at the audit row (the effect is rolled back)', 'audit_log', `NEW.action = 'agent.create'`],
    ["at the effect's last write, the key (no row is written)", 'api_key', `NEW.label = 'first key'`],
  ])('a failure %s commits neither the agent nor its row', async (_, table, when) => {
    await db.pool.query(
      `CREATE OR REPLACE FUNCTION refuse_it() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
    );
    await db.pool.query(`CREATE TRIGGER refuse_it BEFORE INSERT ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION refuse_it()`);
    const before = await counts(db);
    try {
      const r = await call(pKey, 'POST', '/v1/principal/agents', { name: 'doomed' }, 'req-doomed');
      expect(r.status).toBe(500);
    } finally {
      await db.pool.query(`DROP TRIGGER refuse_it ON ${table}`);
    }
    expect(await counts(db)).toEqual(before);
    expect((await db.pool.query(`SELECT 1 FROM agent WHERE name = 'doomed'`)).rowCount).toBe(0);
  });

  it('rows from the api and from the sequencer, written concurrently, form one chain that verifies; reconciliation agrees', async () => {
    await admin.post(`/v1/admin/principals/${pId}/deposits`, { id: 'pa-seed', asset: 'CREDIT', amount: '1000' });
    const target = await p.post<{ id: string }>('/v1/principal/agents', { name: 'target' });
    const before = await counts(db);
    const N = 12;
    const results = await Promise.all([
      // the api's transactions (agent + key + row; key + row)...
      ...Array.from({ length: N }, (_, i) => p.post('/v1/principal/agents', { name: `conc-${i}` })),
      ...Array.from({ length: N }, () => p.post(`/v1/principal/agents/${target.id}/keys`, {})),
      // ...and the sequencer's batches (a transfer and its row; an operator's deposit and its row)
      ...Array.from({ length: N }, (_, i) =>
        p.post('/v1/principal/transfers', { id: `conc-t-${i}`, agentId: target.id, direction: 'to_agent', asset: 'CREDIT', amount: '1' }),
      ),
      ...Array.from({ length: N }, (_, i) => admin.post(`/v1/admin/principals/${pId}/deposits`, { id: `conc-d-${i}`, asset: 'CREDIT', amount: '1' })),
    ]);
    expect(results).toHaveLength(4 * N);
    const after = await counts(db);
    expect(after.audit - before.audit).toBe(4 * N);
    expect(after.agents - before.agents).toBe(N);
    const actions = (
      await db.pool.query<{ action: string; n: string }>(
        `SELECT action, count(*)::text AS n FROM audit_log WHERE seq > $1 GROUP BY action ORDER BY action`,
        [before.audit],
      )
    ).rows;
    expect(actions).toEqual([
      { action: 'agent.create', n: String(N) },
      { action: 'key.issue', n: String(N) },
      { action: 'principal.deposit', n: String(N) },
      { action: 'principal.to_agent', n: String(N) },
    ]);
    const r = await admin.reconciliation();
    expect(r).toMatchObject({ ok: true, audit: { ok: true, rowsChecked: after.audit, violations: [] }, engine: { ok: true, violations: [] } });
    expect(r.engine.principalAccountsChecked).toBe(1);
  });
});

/**
 * With ENGINE_MODE=redis the sequenced rows are written by the engine node, another process on another pool,
 * while the api writes its own: one chain still, numbered in commit order, that verifies.
 */
describe('one audit chain with the engine apart (real Redis, real engine process)', () => {
  jest.setTimeout(120_000);
  const REDIS_PREFIX = testRedisPrefix('audit-redis');
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let engine: ChildProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('principal_audit_redis');
    engine = await startEngineProcess({
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_PREFIX,
      ENGINE_NODE_ID: `audit-${process.pid}`,
      ENGINE_HEARTBEAT_MS: '250',
      LOG_LEVEL: 'warn',
    });
    ({ app, url, admin } = await startTestApp(testConfig(db, { REDIS_URL, REDIS_PREFIX, ENGINE_MODE: 'redis' })));
    await untilReady(url, 'the engine node did not become ready');
  });
  afterAll(async () => {
    await app?.close();
    if (engine) await stopProcess(engine, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it("the api's and the engine node's rows, written concurrently, are one chain that verifies", async () => {
    const pr = await admin.createPrincipal({ name: 'Apart' });
    const p = new AteClient({ baseUrl: url, ...(await admin.post<Key>(`/v1/admin/principals/${pr.id}/keys`, {})) });
    await admin.post(`/v1/admin/principals/${pr.id}/deposits`, { id: 'r-seed', asset: 'CREDIT', amount: '1000' });
    const target = await p.post<{ id: string }>('/v1/principal/agents', { name: 'target' });
    const before = await counts(db);
    const N = 10;
    await Promise.all([
      ...Array.from({ length: N }, (_, i) => p.post('/v1/principal/agents', { name: `r-${i}` })),
      ...Array.from({ length: N }, () => p.post(`/v1/principal/agents/${target.id}/keys`, {})),
      ...Array.from({ length: N }, (_, i) =>
        p.post('/v1/principal/transfers', { id: `r-t-${i}`, agentId: target.id, direction: 'to_agent', asset: 'CREDIT', amount: '1' }),
      ),
      ...Array.from({ length: N }, (_, i) =>
        p.put(`/v1/principal/agents/${target.id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: String(100 + i) }] }),
      ),
    ]);
    const after = await counts(db);
    expect(after.audit - before.audit).toBe(4 * N);
    const sequenced = Number(
      (await db.pool.query('SELECT count(*) AS n FROM audit_log WHERE seq > $1 AND command_seq IS NOT NULL', [before.audit])).rows[0].n,
    );
    expect(sequenced).toBe(2 * N); // written by the engine node
    const r = await admin.reconciliation();
    expect(r).toMatchObject({ ok: true, audit: { ok: true, rowsChecked: after.audit, violations: [] }, engine: { ok: true, violations: [] } });
    expect(r.engine.principalAccountsChecked).toBe(1);
  });
});
