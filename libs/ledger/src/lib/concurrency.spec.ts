import { mulberry32 } from '@ate/contracts';
import type { TestDatabase } from '@ate/db';
import { account, issuance, ledgerDb, mintReq, moveReq } from '../testing/fixtures';
import { getBalance } from './queries';
import { reconcile } from './reconcile';
import type { LedgerRequest, LedgerResult } from './types';
import { commitBatch } from './writer';

/** Writers at once on the same hot accounts, count (the issue asks for 16+). */
const WRITERS = 16;
/** Batches per writer, count, and requests per batch, count. */
const BATCHES = 12;
const PER_BATCH = 25;
const SEED = 424242;

/**
 * Promise 3 under concurrency: 16 writers (each its own connection) hammer 4 hot accounts with transfers,
 * holds, posts and voids sized to overdraw often. No account ever goes below zero available (the in-memory
 * check under the row locks, and the CHECK behind it), and the final balances are exactly the start plus
 * the sum of the accepted requests (each applied once; conservation per asset is exact).
 */
describe(`${WRITERS} concurrent writers on hot accounts`, () => {
  let db: TestDatabase;
  let iss: string;
  let hot: string[];
  beforeAll(async () => {
    db = await ledgerDb('concurrency', WRITERS + 2);
    iss = await issuance(db.pool);
    hot = [];
    for (let i = 0; i < 4; i++) hot.push(await account(db.pool, `hot-${i}`));
    await commitBatch(
      db.pool,
      hot.map((h, i) => mintReq(`fund-${i}`, iss, h, 10_000n)),
    );
  });
  afterAll(() => db.drop());

  it('no overdraft, exact conservation, every accepted request applied once', async () => {
    console.log(`concurrency seed ${SEED}`);
    const expected = new Map<string, { balance: bigint; held: bigint }>(hot.map((h) => [h, { balance: 10_000n, held: 0n }]));
    const accepted: LedgerRequest[] = [];
    const holdAmount = new Map<string, { account: string; amount: bigint }>();
    let rejectedForFunds = 0;

    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const rand = mulberry32(SEED + w);
        const pickHot = () => hot[Math.floor(rand() * hot.length)] as string;
        const myHolds: string[] = [];
        for (let b = 0; b < BATCHES; b++) {
          const batch: LedgerRequest[] = [];
          for (let i = 0; i < PER_BATCH; i++) {
            const id = `w${w}-b${b}-${i}`;
            const roll = rand();
            const from = pickHot();
            let to = pickHot();
            while (to === from) to = pickHot();
            const amount = BigInt(1 + Math.floor(rand() * 4000));
            if (roll < 0.6) batch.push(moveReq(id, from, to, amount));
            else if (roll < 0.8) {
              batch.push({ kind: 'hold', id, accountId: from, amount });
              myHolds.push(id);
            } else if (myHolds.length > 0) {
              const holdId = myHolds.splice(Math.floor(rand() * myHolds.length), 1)[0] as string;
              if (roll < 0.9) batch.push({ kind: 'void', id, holdId });
              else batch.push({ kind: 'post', id, holdId, credits: [{ accountId: to, amount: BigInt(1 + Math.floor(rand() * 100)) }] });
            }
          }
          const results: LedgerResult[] = await commitBatch(db.pool, batch);
          results.forEach((r, i) => {
            const req = batch[i] as LedgerRequest;
            if (r.ok) accepted.push(req);
            else if (r.code === 'LEDGER_INSUFFICIENT_FUNDS') rejectedForFunds++;
            else if (!['LEDGER_HOLD_NOT_FOUND', 'LEDGER_HOLD_EXCEEDED', 'LEDGER_LEGS_INVALID'].includes(r.code))
              throw new Error(`unexpected ${r.code}`);
          });
        }
      }),
    );

    // The model: apply the accepted requests in any order (their effects on totals commute).
    for (const req of accepted) {
      if (req.kind === 'transfer') {
        for (const l of req.legs) {
          const e = expected.get(l.accountId);
          if (e) e.balance += l.side === 'credit' ? l.amount : -l.amount;
        }
      } else if (req.kind === 'hold') {
        (expected.get(req.accountId) as { held: bigint }).held += req.amount;
        holdAmount.set(req.id, { account: req.accountId, amount: req.amount });
      } else {
        const h = holdAmount.get(req.holdId) as { account: string; amount: bigint };
        const src = expected.get(h.account) as { balance: bigint; held: bigint };
        src.held -= h.amount;
        if (req.kind === 'post') {
          for (const c of req.credits) {
            src.balance -= c.amount;
            (expected.get(c.accountId) as { balance: bigint }).balance += c.amount;
          }
        }
      }
    }
    expect(accepted.length).toBeGreaterThan(WRITERS * BATCHES * PER_BATCH * 0.15);
    expect(rejectedForFunds).toBeGreaterThan(0); // the test did try to overdraw
    let total = 0n;
    for (const h of hot) {
      const b = await getBalance(db.pool, h);
      if (!b.ok) throw new Error(b.code);
      const e = expected.get(h) as { balance: bigint; held: bigint };
      expect({ balance: b.balance.total, held: b.balance.held }).toEqual(e);
      expect(b.balance.available).toBeGreaterThanOrEqual(0n);
      total += b.balance.total;
    }
    expect(total).toBe(40_000n); // nothing minted or burned during the run
    const seqs = await db.pool.query(`SELECT count(*)::int AS n, max(seq)::int AS max FROM ledger_transfer`);
    expect(seqs.rows[0]).toEqual({ n: accepted.length + 4, max: accepted.length + 4 });
    expect((await reconcile(db.pool)).violations).toEqual([]);
  }, 60_000);

  it('32 racing debits of 100 from an account holding 1,000: exactly 10 succeed', async () => {
    const src = await account(db.pool, 'race-src');
    const dst = await account(db.pool, 'race-dst');
    await commitBatch(db.pool, [mintReq('race-fund', iss, src, 1_000n)]);
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) => commitBatch(db.pool, [moveReq(`race-${i}`, src, dst, 100n)]).then((r) => r[0] as LedgerResult)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results.filter((r) => !r.ok && r.code === 'LEDGER_INSUFFICIENT_FUNDS')).toHaveLength(22);
    expect(await getBalance(db.pool, src)).toMatchObject({ balance: { total: 0n, available: 0n } });
    expect((await reconcile(db.pool)).violations).toEqual([]);
  }, 30_000);
});
