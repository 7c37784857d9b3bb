import { AMOUNT_MAX, ERROR_CODES } from '@ate/contracts';
import type { TestDatabase } from '@ate/db';
import { account, issuance, ledgerDb, mintReq, moveReq, one, snapshot } from '../testing/fixtures';
import { defineAsset } from './accounts';
import { LEGS_PER_TRANSFER_MAX, METADATA_BYTES_MAX } from './limits';
import { reconcile } from './reconcile';
import type { LedgerCode, LedgerRequest } from './types';
import { commitBatch } from './writer';

/**
 * Bad input: one row per rejection, in the documented precedence order (validate.ts), each asserting the code
 * and that nothing at all was written (journal, holds, balances, chain head). Then a table of requests with
 * two faults each, proving which check comes first.
 */
describe('rejections', () => {
  let db: TestDatabase;
  const a: Record<string, string> = {};
  const debit = (accountId: string, amount: bigint) => ({ accountId, side: 'debit' as const, amount });
  const credit = (accountId: string, amount: bigint) => ({ accountId, side: 'credit' as const, amount });
  const NO_ACCOUNT = '999999999';

  beforeAll(async () => {
    db = await ledgerDb('validation');
    a['iss'] = await issuance(db.pool);
    a['alice'] = await account(db.pool, 'alice');
    a['bob'] = await account(db.pool, 'bob');
    a['whale'] = await account(db.pool, 'whale');
    const asset = await defineAsset(db.pool, { code: 'M:P:IN', scale: 0, model: 'm', provider: 'p', tokenClass: 'input' });
    if (!asset.ok) throw new Error(asset.code);
    a['aliceTok'] = await account(db.pool, 'alice', 'M:P:IN');
    const setup: LedgerRequest[] = [
      mintReq('fund-alice', a['iss'], a['alice'], 1_000n),
      mintReq('fund-whale', a['iss'], a['whale'], AMOUNT_MAX - 2_000n),
      { kind: 'hold', id: 'open-hold', accountId: a['alice'], amount: 100n },
      { kind: 'hold', id: 'done-hold', accountId: a['alice'], amount: 50n },
      { kind: 'void', id: 'done-void', holdId: 'done-hold' },
      moveReq('used-id', a['alice'], a['bob'], 1n),
    ];
    const r = await commitBatch(db.pool, setup);
    expect(r.every((x) => x.ok)).toBe(true);
  });
  afterAll(() => db.drop());

  const legs17 = () => Array.from({ length: LEGS_PER_TRANSFER_MAX + 1 }, (_, i) => credit(String(1000 + i), 1n));
  const rows: [string, () => LedgerRequest, LedgerCode][] = [
    ['empty id', () => moveReq('', a['alice'] as string, a['bob'] as string, 1n), 'LEDGER_ID_INVALID'],
    ['id with a space', () => moveReq('a b', a['alice'] as string, a['bob'] as string, 1n), 'LEDGER_ID_INVALID'],
    ['id of 129 characters', () => moveReq('x'.repeat(129), a['alice'] as string, a['bob'] as string, 1n), 'LEDGER_ID_INVALID'],
    ['malformed hold id', () => ({ kind: 'void', id: 'v-bad', holdId: '../x' }), 'LEDGER_ID_INVALID'],
    ['unknown kind', () => ({ kind: 'teleport', id: 'k1' }) as unknown as LedgerRequest, 'LEDGER_TYPE_INVALID'],
    [
      'transfer typed as a hold',
      () => ({ ...moveReq('k2', a['alice'] as string, a['bob'] as string, 1n), type: 'hold' }) as unknown as LedgerRequest,
      'LEDGER_TYPE_INVALID',
    ],
    [
      'unknown reference kind',
      () => ({ ...moveReq('k3', a['alice'] as string, a['bob'] as string, 1n), ref: { kind: 'invoice', id: '1' } }) as unknown as LedgerRequest,
      'LEDGER_REFERENCE_INVALID',
    ],
    [
      'metadata not an object',
      () => ({ ...moveReq('k4', a['alice'] as string, a['bob'] as string, 1n), metadata: [1] }) as unknown as LedgerRequest,
      'LEDGER_METADATA_INVALID',
    ],
    [
      'metadata with NUL',
      () => ({ ...moveReq('k5', a['alice'] as string, a['bob'] as string, 1n), metadata: { s: 'a\u0000b' } }),
      'LEDGER_METADATA_INVALID',
    ],
    [
      'metadata too large',
      () => ({ ...moveReq('k6', a['alice'] as string, a['bob'] as string, 1n), metadata: { s: 'x'.repeat(METADATA_BYTES_MAX) } }),
      'LEDGER_METADATA_INVALID',
    ],
    [
      'metadata with a bigint',
      () => ({ ...moveReq('k7', a['alice'] as string, a['bob'] as string, 1n), metadata: { n: 1n } }),
      'LEDGER_METADATA_INVALID',
    ],
    ['one leg', () => ({ kind: 'transfer', id: 'l1', type: 'settlement', legs: [debit(a['alice'] as string, 1n)] }), 'LEDGER_LEGS_INVALID'],
    ['17 legs', () => ({ kind: 'transfer', id: 'l2', type: 'settlement', legs: legs17() }), 'LEDGER_LEGS_INVALID'],
    [
      'the same account twice',
      () => ({ kind: 'transfer', id: 'l3', type: 'settlement', legs: [debit(a['alice'] as string, 1n), credit(a['alice'] as string, 1n)] }),
      'LEDGER_LEGS_INVALID',
    ],
    ['account id not a number', () => moveReq('l4', 'alice', a['bob'] as string, 1n), 'LEDGER_LEGS_INVALID'],
    ['account id beyond bigint', () => moveReq('l5', '9223372036854775808', a['bob'] as string, 1n), 'LEDGER_LEGS_INVALID'],
    [
      'unknown side',
      () =>
        ({
          kind: 'transfer',
          id: 'l6',
          type: 'settlement',
          legs: [{ accountId: a['alice'], side: 'up', amount: 1n }, credit(a['bob'] as string, 1n)],
        }) as unknown as LedgerRequest,
      'LEDGER_LEGS_INVALID',
    ],
    ['post with no credits', () => ({ kind: 'post', id: 'l7', holdId: 'open-hold', credits: [] }), 'LEDGER_LEGS_INVALID'],
    ['zero amount', () => moveReq('n1', a['alice'] as string, a['bob'] as string, 0n), 'LEDGER_AMOUNT_INVALID'],
    ['negative amount', () => moveReq('n2', a['alice'] as string, a['bob'] as string, -5n), 'LEDGER_AMOUNT_INVALID'],
    [
      'amount as a float',
      () => ({ kind: 'hold', id: 'n3', accountId: a['alice'], amount: 1.5 }) as unknown as LedgerRequest,
      'LEDGER_AMOUNT_INVALID',
    ],
    [
      'amount as a string',
      () => ({ kind: 'hold', id: 'n4', accountId: a['alice'], amount: '5' }) as unknown as LedgerRequest,
      'LEDGER_AMOUNT_INVALID',
    ],
    ['amount beyond the column (2^63)', () => moveReq('n5', a['alice'] as string, a['bob'] as string, AMOUNT_MAX + 1n), 'LEDGER_AMOUNT_OUT_OF_RANGE'],
    [
      'post credits summing beyond the column',
      () => ({
        kind: 'post',
        id: 'n6',
        holdId: 'open-hold',
        credits: [
          { accountId: a['bob'] as string, amount: AMOUNT_MAX },
          { accountId: a['whale'] as string, amount: 1n },
        ],
      }),
      'LEDGER_AMOUNT_OUT_OF_RANGE',
    ],
    ['known id, other body', () => moveReq('used-id', a['alice'] as string, a['bob'] as string, 2n), 'LEDGER_IDEMPOTENCY_CONFLICT'],
    ['known id, other kind', () => ({ kind: 'hold', id: 'used-id', accountId: a['alice'] as string, amount: 1n }), 'LEDGER_IDEMPOTENCY_CONFLICT'],
    [
      'post of an unknown hold',
      () => ({ kind: 'post', id: 's1', holdId: 'nope', credits: [{ accountId: a['bob'] as string, amount: 1n }] }),
      'LEDGER_HOLD_NOT_FOUND',
    ],
    ['void of an unknown hold', () => ({ kind: 'void', id: 's2', holdId: 'nope' }), 'LEDGER_HOLD_NOT_FOUND'],
    [
      'post of a voided hold',
      () => ({ kind: 'post', id: 's3', holdId: 'done-hold', credits: [{ accountId: a['bob'] as string, amount: 1n }] }),
      'LEDGER_HOLD_ALREADY_RESOLVED',
    ],
    ['void of a voided hold', () => ({ kind: 'void', id: 's4', holdId: 'done-hold' }), 'LEDGER_HOLD_ALREADY_RESOLVED'],
    ['unknown account', () => moveReq('s5', a['alice'] as string, NO_ACCOUNT, 1n), 'LEDGER_ACCOUNT_NOT_FOUND'],
    ['hold on an unknown account', () => ({ kind: 'hold', id: 's6', accountId: NO_ACCOUNT, amount: 1n }), 'LEDGER_ACCOUNT_NOT_FOUND'],
    [
      'post crediting an unknown account',
      () => ({ kind: 'post', id: 's7', holdId: 'open-hold', credits: [{ accountId: NO_ACCOUNT, amount: 1n }] }),
      'LEDGER_ACCOUNT_NOT_FOUND',
    ],
    [
      'post crediting the held account',
      () => ({ kind: 'post', id: 's8', holdId: 'open-hold', credits: [{ accountId: a['alice'] as string, amount: 1n }] }),
      'LEDGER_LEGS_INVALID',
    ],
    [
      'debits differ from credits',
      () => ({ kind: 'transfer', id: 's9', type: 'settlement', legs: [debit(a['alice'] as string, 5n), credit(a['bob'] as string, 6n)] }),
      'LEDGER_UNBALANCED',
    ],
    ['legs of two assets', () => moveReq('s10', a['aliceTok'] as string, a['bob'] as string, 1n), 'LEDGER_UNBALANCED'],
    [
      'post to an account of another asset',
      () => ({ kind: 'post', id: 's11', holdId: 'open-hold', credits: [{ accountId: a['aliceTok'] as string, amount: 1n }] }),
      'LEDGER_ASSET_MISMATCH',
    ],
    [
      'post beyond the hold',
      () => ({ kind: 'post', id: 's12', holdId: 'open-hold', credits: [{ accountId: a['bob'] as string, amount: 101n }] }),
      'LEDGER_HOLD_EXCEEDED',
    ],
    ['overdraft (held funds are not available)', () => moveReq('s13', a['alice'] as string, a['bob'] as string, 900n), 'LEDGER_INSUFFICIENT_FUNDS'],
    ['hold beyond available', () => ({ kind: 'hold', id: 's14', accountId: a['alice'] as string, amount: 900n }), 'LEDGER_INSUFFICIENT_FUNDS'],
    ['debit of an empty account', () => moveReq('s15', a['bob'] as string, a['alice'] as string, 2n), 'LEDGER_INSUFFICIENT_FUNDS'],
    // Within one asset the balances sum to zero, so only a mint can push a balance out of range.
    ['mint beyond the column range', () => mintReq('s17', a['iss'] as string, a['whale'] as string, 2_001n), 'LEDGER_BALANCE_OVERFLOW'],
  ];

  it.each(rows)('%s: %s, nothing written', async (_label, make, code) => {
    const before = await snapshot(db.pool);
    const [r] = await commitBatch(db.pool, [make()]);
    expect(r).toMatchObject({ ok: false, code });
    expect(await snapshot(db.pool)).toEqual(before);
  });

  // Two faults each: the first in precedence order wins.
  const precedence: [string, () => LedgerRequest, LedgerCode][] = [
    [
      'id before type',
      () => ({ ...moveReq('', a['alice'] as string, a['bob'] as string, 1n), type: 'x' }) as unknown as LedgerRequest,
      'LEDGER_ID_INVALID',
    ],
    [
      'type before reference',
      () => ({ ...moveReq('p1', a['alice'] as string, a['bob'] as string, 1n), type: 'x', ref: { kind: 'x', id: '' } }) as unknown as LedgerRequest,
      'LEDGER_TYPE_INVALID',
    ],
    [
      'reference before metadata',
      () =>
        ({ ...moveReq('p2', a['alice'] as string, a['bob'] as string, 1n), ref: { kind: 'x', id: '' }, metadata: [] }) as unknown as LedgerRequest,
      'LEDGER_REFERENCE_INVALID',
    ],
    [
      'metadata before legs',
      () => ({ kind: 'transfer', id: 'p3', type: 'fee', legs: [], metadata: [] }) as unknown as LedgerRequest,
      'LEDGER_METADATA_INVALID',
    ],
    [
      'legs before amounts',
      () => ({ kind: 'transfer', id: 'p4', type: 'fee', legs: [debit('x', 0n), credit(a['bob'] as string, 0n)] }),
      'LEDGER_LEGS_INVALID',
    ],
    [
      'amount invalid before out of range',
      () => ({ kind: 'transfer', id: 'p5', type: 'fee', legs: [debit(a['alice'] as string, AMOUNT_MAX + 1n), credit(a['bob'] as string, 0n)] }),
      'LEDGER_AMOUNT_INVALID',
    ],
    ['static checks before idempotency', () => moveReq('used-id', a['alice'] as string, a['bob'] as string, -1n), 'LEDGER_AMOUNT_INVALID'],
    ['idempotency before accounts', () => moveReq('used-id', a['alice'] as string, NO_ACCOUNT, 1n), 'LEDGER_IDEMPOTENCY_CONFLICT'],
    [
      'hold before accounts',
      () => ({ kind: 'post', id: 'p6', holdId: 'nope', credits: [{ accountId: NO_ACCOUNT, amount: 1n }] }),
      'LEDGER_HOLD_NOT_FOUND',
    ],
    [
      'resolved before accounts',
      () => ({ kind: 'post', id: 'p7', holdId: 'done-hold', credits: [{ accountId: NO_ACCOUNT, amount: 1n }] }),
      'LEDGER_HOLD_ALREADY_RESOLVED',
    ],
    [
      'accounts before balance',
      () => ({ kind: 'transfer', id: 'p8', type: 'fee', legs: [debit(a['alice'] as string, 1n), credit(NO_ACCOUNT, 2n)] }),
      'LEDGER_ACCOUNT_NOT_FOUND',
    ],
    [
      'balance before funds',
      () => ({ kind: 'transfer', id: 'p9', type: 'fee', legs: [debit(a['bob'] as string, 1000n), credit(a['alice'] as string, 2n)] }),
      'LEDGER_UNBALANCED',
    ],
    [
      'asset before hold amount',
      () => ({ kind: 'post', id: 'p10', holdId: 'open-hold', credits: [{ accountId: a['aliceTok'] as string, amount: 1000n }] }),
      'LEDGER_ASSET_MISMATCH',
    ],
    [
      'funds before overflow',
      () => ({
        kind: 'transfer',
        id: 'p11',
        type: 'fee',
        legs: [debit(a['bob'] as string, 100n), credit(a['alice'] as string, 50n), credit(a['whale'] as string, 50n)],
      }),
      'LEDGER_INSUFFICIENT_FUNDS',
    ],
  ];

  it.each(precedence)('precedence: %s', async (_label, make, code) => {
    const before = await snapshot(db.pool);
    const [r] = await commitBatch(db.pool, [make()]);
    expect(r).toMatchObject({ ok: false, code });
    expect(await snapshot(db.pool)).toEqual(before);
  });

  it('a replay returns the original result even where the request would now be refused', async () => {
    const first = await one(db.pool, moveReq('replay-1', a['alice'] as string, a['bob'] as string, 5n));
    expect(first.ok).toBe(true);
    await one(db.pool, moveReq('drain', a['alice'] as string, a['bob'] as string, 894n));
    expect(await one(db.pool, moveReq('replay-1', a['alice'] as string, a['bob'] as string, 5n))).toEqual({ ...first, replayed: true });
  });

  it('every rejection code above is listed in @ate/contracts with its status', () => {
    for (const [, , code] of [...rows, ...precedence]) expect(ERROR_CODES[code].status).toBeGreaterThanOrEqual(400);
    expect(ERROR_CODES.LEDGER_IDEMPOTENCY_CONFLICT.status).toBe(409);
    expect(ERROR_CODES.LEDGER_INSUFFICIENT_FUNDS.status).toBe(422);
  });

  it('after all of it, the ledger reconciles', async () => {
    expect((await reconcile(db.pool)).violations).toEqual([]);
  });
});
