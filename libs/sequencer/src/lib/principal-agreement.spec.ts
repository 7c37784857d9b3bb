import { createTestDatabase, TestDatabase } from '@ate/db';
import { applyBatch } from '@ate/ledger';
import { engineAgreement, EngineReads } from './agreement';
import { EngineHost } from './engine-host';

const P = 'prn_agreement01';
const Q = 'prn_agreement02';
const A = 'agt_agreement01';

/**
 * Reconciliation compares principals' own accounts with the engine's view of them, as it does agents' accounts:
 * a clean run after deposits, transfers both ways and a withdrawal agrees; money moved in the ledger behind the
 * engine's back, or held by the engine without a ledger account, is reported with both figures.
 */
describe("the engine-database agreement over principals' accounts (real Postgres)", () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let host: EngineHost;

  beforeAll(async () => {
    db = await createTestDatabase('principal_agreement');
    await db.pool.query(`INSERT INTO principal (id, name) VALUES ($1, 'p'), ($2, 'q')`, [P, Q]);
    await db.pool.query(`INSERT INTO agent (id, name, principal_id) VALUES ($1, 'a', $2)`, [A, P]);
    host = new EngineHost(db.pool);
    await host.load();
    const funds = (op: 'deposit' | 'withdraw' | 'to_agent' | 'from_agent', principalId: string, amount: bigint, id: string) =>
      host.submit({
        kind: 'principal_funds',
        op,
        principalId,
        ...(op.endsWith('agent') ? { agentId: A } : {}),
        asset: 'CREDIT',
        amount,
        transferId: id,
      });
    for (const [op, principalId, amount, id] of [
      ['deposit', P, 10_000n, 'p-dep'],
      ['deposit', Q, 500n, 'q-dep'],
      ['to_agent', P, 3_000n, 'p-to'],
      ['from_agent', P, 1_000n, 'p-from'],
      ['withdraw', Q, 200n, 'q-wd'],
    ] as const)
      expect((await funds(op, principalId, amount, id)).code).toBeNull();
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  /** Moves credits between a principal's ledger account and issuance, behind the engine's back. */
  async function behindTheEngine(principalId: string, amount: bigint, id: string): Promise<void> {
    const acc = await db.pool.query<{ id: string; owner_kind: string }>(
      `SELECT id, owner_kind FROM ledger_account WHERE asset = 'CREDIT' AND ((owner_kind = 'principal' AND owner_id = $1) OR (owner_kind = 'system' AND owner_id = 'issuance'))`,
      [principalId],
    );
    const own = acc.rows.find((r) => r.owner_kind === 'principal')!.id;
    const issuance = acc.rows.find((r) => r.owner_kind === 'system')!.id;
    const [from, to] = amount > 0n ? [issuance, own] : [own, issuance];
    const amt = amount > 0n ? amount : -amount;
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const [r] = await applyBatch(client, [
        {
          kind: 'transfer',
          type: amount > 0n ? 'mint' : 'burn',
          id,
          legs: [
            { accountId: from, side: 'debit', amount: amt },
            { accountId: to, side: 'credit', amount: amt },
          ],
        },
      ]);
      expect(r).toMatchObject({ ok: true });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  /** The host as the check reads it, with a holding the engine claims for a principal that the ledger has no account of. */
  const withPhantom = (principalId: string, asset: string, total: bigint): EngineReads => ({
    exclusive: (fn) => host.exclusive(fn),
    holdings: (a, s) => host.holdings(a, s),
    restingOrder: (m, o) => host.restingOrder(m, o),
    openOrders: (m) => host.openOrders(m),
    marketIds: () => host.marketIds(),
    principalHoldings: () => [...host.principalHoldings(), { principalId, asset, total }],
  });

  it('a clean run: every principal account agrees with the engine (and the agent funded from one)', async () => {
    expect([...host.principalHoldings()].sort((x, y) => x.principalId.localeCompare(y.principalId))).toEqual([
      { principalId: P, asset: 'CREDIT', total: 8_000n },
      { principalId: Q, asset: 'CREDIT', total: 300n },
    ]);
    expect(await host.agreement()).toEqual({ ok: true, violations: [], accountsChecked: 1, principalAccountsChecked: 2, ordersChecked: 0 });
  });

  it.each<[string, () => Promise<EngineReads>, () => Promise<void>, Record<string, unknown>]>([
    [
      "credits minted into a principal's ledger account behind the engine",
      async () => (await behindTheEngine(P, 5n, 'sneaky-mint'), host),
      () => behindTheEngine(P, -5n, 'sneaky-mint-undone'),
      { principalId: P, asset: 'CREDIT', ledger: '8005', engine: '8000' },
    ],
    [
      "credits burnt from a principal's ledger account behind the engine",
      async () => (await behindTheEngine(Q, -300n, 'sneaky-burn'), host),
      () => behindTheEngine(Q, 300n, 'sneaky-burn-undone'),
      { principalId: Q, asset: 'CREDIT', ledger: '0', engine: '300' },
    ],
    [
      'a holding the engine has for a principal without a ledger account',
      async () => withPhantom('prn_agreement03', 'CREDIT', 42n),
      async () => undefined,
      { principalId: 'prn_agreement03', asset: 'CREDIT', ledger: null, engine: '42' },
    ],
  ])('%s is reported', async (_, tamper, undo, details) => {
    const reads = await tamper();
    try {
      const r = await engineAgreement(reads, db.pool);
      expect(r.ok).toBe(false);
      expect(r.violations).toEqual([{ check: 'principal_balance', details }]);
    } finally {
      await undo();
    }
    expect(await host.agreement()).toMatchObject({ ok: true, violations: [] });
  });
});
