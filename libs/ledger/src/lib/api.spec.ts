import { CREDIT } from '@ate/contracts';
import type { TestDatabase } from '@ate/db';
import { account, issuance, ledgerDb, mintReq, moveReq, one, snapshot } from '../testing/fixtures';
import { defineAsset, openAccount, systemAccount } from './accounts';
import { getBalance, getBalances, getHold, getStatement, getTransfer } from './queries';
import { reconcile } from './reconcile';
import { commitBatch } from './writer';
import { GroupCommitWriter } from './group-commit';

/** Behaviour of the ledger against a real Postgres: promises 1-6 through the API, and the database's own guards. */
describe('ledger', () => {
  let db: TestDatabase;
  let iss: string;
  let alice: string;
  let bob: string;
  let fees: string;
  beforeAll(async () => {
    db = await ledgerDb('ledger');
    iss = await issuance(db.pool);
    alice = await account(db.pool, 'alice');
    bob = await account(db.pool, 'bob');
    const f = await systemAccount(db.pool, 'fees', CREDIT);
    if (!f.ok) throw new Error(f.code);
    fees = f.account.id;
  });
  afterAll(() => db.drop());
  afterEach(async () => {
    const r = await reconcile(db.pool);
    expect(r.violations).toEqual([]);
  });

  it('mints, moves and reports balances (promises 1-3)', async () => {
    expect(await one(db.pool, mintReq('m1', iss, alice, 10_000n))).toMatchObject({ ok: true, id: 'm1', replayed: false });
    expect(await one(db.pool, moveReq('x1', alice, bob, 2_500n))).toMatchObject({ ok: true });
    const a = await getBalance(db.pool, alice);
    expect(a).toMatchObject({ ok: true, balance: { total: 7_500n, held: 0n, available: 7_500n, asset: CREDIT } });
    const i = await getBalance(db.pool, iss);
    expect(i).toMatchObject({ ok: true, balance: { total: -10_000n } });
    expect(await getBalances(db.pool, { kind: 'agent', id: 'bob' })).toEqual([expect.objectContaining({ total: 2_500n })]);
  });

  it('idempotency: same id and body returns the original result; another body is a conflict with no effect (promise 5)', async () => {
    const first = await one(db.pool, moveReq('idem-1', alice, bob, 10n));
    expect(first).toMatchObject({ ok: true, replayed: false });
    const again = await one(db.pool, moveReq('idem-1', alice, bob, 10n));
    expect(again).toEqual({ ...first, replayed: true });
    const before = await snapshot(db.pool);
    expect(await one(db.pool, moveReq('idem-1', alice, bob, 11n))).toMatchObject({ ok: false, code: 'LEDGER_IDEMPOTENCY_CONFLICT' });
    expect(await snapshot(db.pool)).toEqual(before);
    // in one batch, too
    const r = await commitBatch(db.pool, [moveReq('idem-2', alice, bob, 1n), moveReq('idem-2', alice, bob, 1n), moveReq('idem-2', alice, bob, 2n)]);
    expect(r.map((x) => (x.ok ? x.replayed : x.code))).toEqual([false, true, 'LEDGER_IDEMPOTENCY_CONFLICT']);
  });

  it('a rejected request in a batch does not fail the others', async () => {
    const before = (await getBalance(db.pool, alice)) as { ok: true; balance: { total: bigint } };
    const r = await commitBatch(db.pool, [moveReq('b-1', alice, bob, 1n), moveReq('b-2', alice, bob, 10n ** 15n), moveReq('b-3', alice, bob, 2n)]);
    expect(r.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['ok', 'LEDGER_INSUFFICIENT_FUNDS', 'ok']);
    expect(await getBalance(db.pool, alice)).toMatchObject({ balance: { total: before.balance.total - 3n } });
    expect(await getTransfer(db.pool, 'b-2')).toMatchObject({ ok: false, code: 'LEDGER_TRANSFER_NOT_FOUND' });
  });

  it('holds: create reduces available, post part moves it and releases the rest, each hold resolves once (promise 4)', async () => {
    const carol = await account(db.pool, 'carol');
    await one(db.pool, mintReq('m-carol', iss, carol, 1_000n));
    expect(await one(db.pool, { kind: 'hold', id: 'h1', accountId: carol, amount: 600n, ref: { kind: 'order', id: 'o1' } })).toMatchObject({
      ok: true,
    });
    expect(await getBalance(db.pool, carol)).toMatchObject({ balance: { total: 1_000n, held: 600n, available: 400n } });
    expect(await one(db.pool, moveReq('over', carol, bob, 401n))).toMatchObject({ code: 'LEDGER_INSUFFICIENT_FUNDS' });
    const post = await one(db.pool, {
      kind: 'post',
      id: 'p1',
      holdId: 'h1',
      credits: [
        { accountId: bob, amount: 500n },
        { accountId: fees, amount: 5n },
      ],
      ref: { kind: 'trade', id: 't1' },
    });
    expect(post).toMatchObject({ ok: true });
    expect(await getBalance(db.pool, carol)).toMatchObject({ balance: { total: 495n, held: 0n, available: 495n } });
    expect(await getHold(db.pool, 'h1')).toMatchObject({ ok: true, hold: { status: 'posted', postedAmount: 505n } });
    expect(await one(db.pool, { kind: 'void', id: 'v1', holdId: 'h1' })).toMatchObject({ code: 'LEDGER_HOLD_ALREADY_RESOLVED' });
    // void releases everything; hold, post and void of one hold in a single batch
    const r = await commitBatch(db.pool, [
      { kind: 'hold', id: 'h2', accountId: carol, amount: 100n },
      { kind: 'void', id: 'v2', holdId: 'h2' },
      { kind: 'post', id: 'p2', holdId: 'h2', credits: [{ accountId: bob, amount: 1n }] },
      { kind: 'hold', id: 'h3', accountId: carol, amount: 495n },
      { kind: 'post', id: 'p3', holdId: 'h3', credits: [{ accountId: bob, amount: 496n }] },
      { kind: 'post', id: 'p4', holdId: 'h3', credits: [{ accountId: bob, amount: 495n }] },
    ]);
    expect(r.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['ok', 'ok', 'LEDGER_HOLD_ALREADY_RESOLVED', 'ok', 'LEDGER_HOLD_EXCEEDED', 'ok']);
    expect(await getBalance(db.pool, carol)).toMatchObject({ balance: { total: 0n, held: 0n } });
    expect(await getHold(db.pool, 'h2')).toMatchObject({ hold: { status: 'voided', postedAmount: 0n } });
  });

  it('allowance assets: defined once, accounts per asset, transfers balance per asset', async () => {
    const def = { code: 'GPT-X:OPENAI:OUTPUT', scale: 0, model: 'gpt-x', provider: 'openai', tokenClass: 'output', expiresOn: '2027-03-31' };
    expect(await defineAsset(db.pool, def)).toMatchObject({ ok: true, asset: { kind: 'allowance', expiresOn: '2027-03-31' } });
    expect(await defineAsset(db.pool, def)).toMatchObject({ ok: true });
    expect(await defineAsset(db.pool, { ...def, scale: 3 })).toMatchObject({ ok: false, code: 'LEDGER_ASSET_CONFLICT' });
    expect(await defineAsset(db.pool, { ...def, code: 'lower' })).toMatchObject({ ok: false, code: 'LEDGER_ASSET_INVALID' });
    expect(await openAccount(db.pool, { kind: 'agent', id: 'x' }, 'NOPE')).toMatchObject({ code: 'LEDGER_ASSET_NOT_FOUND' });
    expect(await openAccount(db.pool, { kind: 'system', id: 'bank' }, CREDIT)).toMatchObject({ code: 'LEDGER_OWNER_INVALID' });
    const issA = await issuance(db.pool, def.code);
    const aliceA = await account(db.pool, 'alice', def.code);
    expect(await one(db.pool, mintReq('mA', issA, aliceA, 1_000_000n))).toMatchObject({ ok: true });
    // a trade settlement: allowance one way, credits the other, 4 legs, balanced per asset
    const r = await one(db.pool, {
      kind: 'transfer',
      id: 'trade-1',
      type: 'settlement',
      legs: [
        { accountId: aliceA, side: 'debit', amount: 1000n },
        { accountId: await account(db.pool, 'bob', def.code), side: 'credit', amount: 1000n },
        { accountId: bob, side: 'debit', amount: 20n },
        { accountId: alice, side: 'credit', amount: 20n },
      ],
    });
    expect(r).toMatchObject({ ok: true });
    const mixed = await one(db.pool, moveReq('mixed', aliceA, bob, 1n));
    expect(mixed).toMatchObject({ code: 'LEDGER_UNBALANCED' });
  });

  it('statement: every entry once, in order, by cursor pages; transfer by id with its legs', async () => {
    const dave = await account(db.pool, 'dave');
    await one(db.pool, mintReq('m-dave', iss, dave, 100n));
    for (let i = 0; i < 7; i++) await one(db.pool, moveReq(`d-${i}`, dave, bob, BigInt(i + 1)));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await getStatement(db.pool, dave, { cursor, limit: 3 });
      if (!page.ok) throw new Error(page.code);
      seen.push(...page.entries.map((e) => `${e.transferId}:${e.amount}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['m-dave:100', 'd-0:-1', 'd-1:-2', 'd-2:-3', 'd-3:-4', 'd-4:-5', 'd-5:-6', 'd-6:-7']);
    expect(await getStatement(db.pool, dave, { cursor: 'x' })).toMatchObject({ code: 'LEDGER_CURSOR_INVALID' });
    const t = await getTransfer(db.pool, 'd-3');
    expect(t).toMatchObject({
      ok: true,
      transfer: {
        kind: 'transfer',
        type: 'settlement',
        legs: [
          { accountId: dave, amount: -4n },
          { accountId: bob, amount: 4n },
        ],
      },
    });
  });

  it('the group-commit writer answers each caller with its own result', async () => {
    const erin = await account(db.pool, 'erin');
    await one(db.pool, mintReq('m-erin', iss, erin, 50n));
    const sizes: number[] = [];
    const w = new GroupCommitWriter(db.pool, { maxBatch: 8, onBatch: (n) => sizes.push(n) });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => w.submit(moveReq(`gc-${i}`, erin, bob, 5n))));
    await w.flush();
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.code === 'LEDGER_INSUFFICIENT_FUNDS')).toBe(true);
    expect(results.slice(0, 10).every((r) => r.ok)).toBe(true); // submission order is commit order
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
  });

  it('the group-commit writer commits batches in submission order (a hold, then its post in the next batch)', async () => {
    const gina = await account(db.pool, 'gina');
    await one(db.pool, mintReq('m-gina', iss, gina, 1_000n));
    const w = new GroupCommitWriter(db.pool, { maxBatch: 3, windowMs: 0, inFlight: 2 }); // pairs straddle batches
    const reqs = [];
    for (let i = 0; i < 10; i++) {
      reqs.push(w.submit({ kind: 'hold', id: `go-h${i}`, accountId: gina, amount: 10n }));
      reqs.push(w.submit({ kind: 'post', id: `go-p${i}`, holdId: `go-h${i}`, credits: [{ accountId: bob, amount: 10n }] }));
    }
    const results = await Promise.all(reqs);
    await w.flush();
    expect(results.map((r) => (r.ok ? 'ok' : r.code))).toEqual(Array(20).fill('ok'));
    const seqs = results.map((r) => (r.ok ? Number(r.seq) : 0));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs); // journal order = submission order
    expect(await getBalance(db.pool, gina)).toMatchObject({ balance: { total: 900n, held: 0n } });
  });

  describe('the database refuses what the library never does (promises 3, 5, 6)', () => {
    it.each([
      ['UPDATE of a journal row', `UPDATE ledger_transfer SET type = 'fee' WHERE seq = 1`, /append-only/],
      ['DELETE of an entry', `DELETE FROM ledger_entry WHERE transfer_seq = 1`, /append-only/],
      ['TRUNCATE of the journal', `TRUNCATE ledger_entry`, /append-only/],
      ['UPDATE of a hold', `UPDATE ledger_hold SET amount = 1`, /append-only/],
      ['DELETE of a resolution', `DELETE FROM ledger_hold_resolution`, /append-only/],
      ['DELETE of an account', `DELETE FROM ledger_account`, /append-only/],
      ['an overdraft', `UPDATE ledger_account SET balance = held - 1 WHERE NOT allow_negative`, /ledger_account_available_nonneg/],
      ['negative held', `UPDATE ledger_account SET held = -1`, /ledger_account_held_nonneg/],
      [
        'a second journal row with an id',
        `INSERT INTO ledger_transfer (seq, id, kind, type, body_hash, prev_hash, hash) SELECT 999999, id, kind, type, body_hash, prev_hash, hash FROM ledger_transfer WHERE seq = 1`,
        /duplicate key/,
      ],
      ['unbalanced entries', `INSERT INTO ledger_entry VALUES (1, 99, 1, 'CREDIT', 5)`, /does not balance/],
      [
        'a negative user account',
        `UPDATE ledger_account SET allow_negative = true WHERE owner_kind = 'agent'`,
        /append-only|ledger_account_negative_only_issuance/,
      ],
    ])('%s', async (_label, sql, message) => {
      const before = await snapshot(db.pool);
      await expect(db.pool.query(sql)).rejects.toThrow(message);
      expect(await snapshot(db.pool)).toEqual(before);
    });
  });

  it('reconciliation reports a disabled journal guard (promise 6)', async () => {
    await db.pool.query('ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only');
    try {
      const r = await reconcile(db.pool);
      expect(r.violations).toEqual([{ promise: 6, check: 'journal guard missing or disabled', details: { trigger: 'ledger_entry_append_only' } }]);
    } finally {
      await db.pool.query('ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only');
    }
  });

  it('reconciliation finds tampering that bypasses the guards (promise 6, 7)', async () => {
    const c2 = await db.pool.connect();
    try {
      await c2.query('BEGIN');
      await c2.query('ALTER TABLE ledger_transfer DISABLE TRIGGER ledger_transfer_append_only');
      await c2.query(`UPDATE ledger_transfer SET metadata = '{"x":1}' WHERE seq = 2`);
      await c2.query(`UPDATE ledger_account SET balance = balance + 1 WHERE id = $1`, [bob]);
      await c2.query('ALTER TABLE ledger_transfer ENABLE TRIGGER ledger_transfer_append_only');
      await c2.query('COMMIT');
      const r = await reconcile(db.pool);
      expect(r.ok).toBe(false);
      expect(r.violations.map((v) => `${v.promise}:${v.check}`)).toEqual(
        expect.arrayContaining([
          '2:asset not conserved (balances or entries do not sum to zero)',
          '3:balance differs from the sum of entries, or available < 0',
          '6:hash differs from the stored row',
          '5:body hash differs from the stored body',
        ]),
      );
      // put it back so the afterEach reconciliation of this file passes
      await c2.query('BEGIN');
      await c2.query('ALTER TABLE ledger_transfer DISABLE TRIGGER ledger_transfer_append_only');
      await c2.query(`UPDATE ledger_transfer SET metadata = NULL WHERE seq = 2`);
      await c2.query(`UPDATE ledger_account SET balance = balance - 1 WHERE id = $1`, [bob]);
      await c2.query('ALTER TABLE ledger_transfer ENABLE TRIGGER ledger_transfer_append_only');
      await c2.query('COMMIT');
    } finally {
      c2.release();
    }
  });

  it('reconciliation names a journal row whose transfer id was changed (the id is in the chain hash)', async () => {
    const row = (await db.pool.query<{ id: string }>('SELECT id FROM ledger_transfer WHERE seq = 1')).rows[0]!;
    const tamper = async (from: string, to: string) => {
      const c = await db.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('ALTER TABLE ledger_transfer DISABLE TRIGGER ledger_transfer_append_only');
        await c.query('UPDATE ledger_transfer SET id = $2 WHERE seq = 1 AND id = $1', [from, to]);
        await c.query('ALTER TABLE ledger_transfer ENABLE TRIGGER ledger_transfer_append_only');
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    };
    await tamper(row.id, `${row.id}x`);
    try {
      const r = await reconcile(db.pool);
      // the body does not hold the id, the chain does: only the row hash gives it away
      expect(r.violations).toEqual([{ promise: 6, check: 'hash differs from the stored row', details: { seq: '1', id: `${row.id}x` } }]);
    } finally {
      await tamper(`${row.id}x`, row.id);
    }
  });
});
