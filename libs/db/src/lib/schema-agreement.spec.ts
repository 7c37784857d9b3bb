import { createPrismaClient, PrismaClient } from './prisma';
import { createTestDatabase, TestDatabase } from './testing';

/**
 * schema.prisma is the typed model, the SQL migrations are the truth in the database: this test applies the
 * migrations to an empty database and round-trips a row of every Prisma model through the generated client.
 * A model the SQL lacks, a column with another name or type, fails here.
 */
describe('schema.prisma agrees with the SQL migrations', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase('schema');
    prisma = createPrismaClient(db.url, { max: 2 });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('round-trips AppSetting', async () => {
    const row = await prisma.appSetting.create({ data: { key: 'k', value: { a: 1, s: 'x' } } });
    expect(await prisma.appSetting.findUniqueOrThrow({ where: { key: 'k' } })).toEqual(row);
  });

  // --- who may use the exchange ---
  it('round-trips Principal, Agent and ApiKey', async () => {
    const p = await prisma.principal.create({ data: { id: 'prn_00000001', name: 'Acme' } });
    expect(await prisma.principal.findUniqueOrThrow({ where: { id: p.id } })).toEqual(p);
    const a = await prisma.agent.create({ data: { id: 'agt_00000001', principalId: p.id, name: 'bot' } });
    expect(await prisma.agent.findUniqueOrThrow({ where: { id: a.id } })).toEqual(a);
    expect(a.status).toBe('active');
    const k = await prisma.apiKey.create({
      data: { id: 'ak_0000000000000001', role: 'agent', agentId: a.id, label: 'main', keyEnc: new Uint8Array(60).fill(7) },
    });
    expect(await prisma.apiKey.findUniqueOrThrow({ where: { id: k.id } })).toEqual(k);
    expect(k.revokedAt).toBeNull();
    // the role names exactly its owner (CHECK api_key_role_owner)
    await expect(
      prisma.apiKey.create({ data: { id: 'ak_0000000000000002', role: 'admin', agentId: a.id, keyEnc: new Uint8Array(60) } }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^P/) });
  });

  // --- trading ---
  it('round-trips Market, EngineCommand, EngineCheckpoint, TradingOrder and Trade', async () => {
    await prisma.ledgerAsset.create({ data: { code: 'TOK.1K', kind: 'allowance', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' } });
    const m = await prisma.market.create({
      data: {
        id: 'TOK.1K/CREDIT',
        baseAsset: 'TOK.1K',
        tickSize: 1n,
        lotSize: 1n,
        minOrderLots: 1,
        maxOrderLots: 1000,
        maxPriceTicks: 100000,
        priceBandBps: 1000,
        initialPriceTicks: 2000,
        defaultStp: 'cancel_taker',
        ordersPerAgentMax: 100,
        maxSpendCredits: 1000000n,
        makerFeeBps: 10,
        takerFeeBps: 20,
      },
    });
    expect(await prisma.market.findUniqueOrThrow({ where: { id: m.id } })).toEqual(m);
    const c = await prisma.engineCommand.create({
      data: { seq: 1n, marketId: m.id, ts: 1795000000000n, command: { t: 'm', c: { type: 'tick', ts: 1 } } },
    });
    expect(await prisma.engineCommand.findUniqueOrThrow({ where: { seq: 1n } })).toEqual(c);
    const cp = await prisma.engineCheckpoint.create({ data: { marketId: m.id, commandSeq: 1n, stateHash: '0123456789abcdef' } });
    expect(await prisma.engineCheckpoint.findUniqueOrThrow({ where: { marketId: m.id } })).toEqual(cp);
    const a = await prisma.agent.create({ data: { id: 'agt_trader0001', name: 'trader' } });
    expect(a.num).toEqual(expect.any(Number));
    const o = await prisma.tradingOrder.create({
      data: {
        id: 1n,
        marketId: m.id,
        agentId: a.id,
        clientOrderId: 'c-1',
        side: 'buy',
        type: 'limit',
        tif: 'GTC',
        priceTicks: 2000,
        lots: 5n,
        status: 'open',
        openLots: 5n,
        commandSeq: 1n,
      },
    });
    expect(await prisma.tradingOrder.findUniqueOrThrow({ where: { id: 1n } })).toEqual(o);
    const t = await prisma.trade.create({
      data: {
        marketId: m.id,
        eventSeq: 3n,
        commandSeq: 1n,
        makerOrderId: 1n,
        takerOrderId: 2n,
        makerAgentId: a.id,
        takerAgentId: a.id,
        takerSide: 'sell',
        priceTicks: 2000,
        lots: 1n,
        notional: 2000n,
        buyerFee: 0n,
        sellerFee: 4n,
      },
    });
    expect(await prisma.trade.findUniqueOrThrow({ where: { marketId_eventSeq: { marketId: m.id, eventSeq: 3n } } })).toEqual(t);
    // the trade's insert kept its minute's aggregate (trigger trade_market_stats)
    const minute = BigInt(Math.floor(t.createdAt.getTime() / 60_000));
    const s = await prisma.marketStatsMinute.findUniqueOrThrow({ where: { marketId_minute: { marketId: m.id, minute } } });
    expect(s).toMatchObject({ openSeq: 3n, openTicks: 2000, closeSeq: 3n, closeTicks: 2000, highTicks: 2000, lowTicks: 2000, trades: 1n });
    expect([s.lots.toString(), s.notional.toString()]).toEqual(['1', '2000']);
  });

  it('round-trips EngineSnapshot', async () => {
    await prisma.engineCommand.create({
      data: { seq: 1000n, ts: 1795000000000n, command: { t: 'f', op: 'deposit', agent: 1, asset: 'CREDIT', amount: '5' } },
    });
    const s = await prisma.engineSnapshot.create({
      data: {
        commandSeq: 1000n,
        format: 1,
        state: new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]),
        stateHashes: { 'TOK.1K/CREDIT': '0123456789abcdef' },
      },
    });
    expect(await prisma.engineSnapshot.findUniqueOrThrow({ where: { commandSeq: 1000n } })).toEqual(s);
    expect(s.takenAt).toEqual(expect.any(Date));
    // it names a command of the log (foreign key)
    await expect(
      prisma.engineSnapshot.create({ data: { commandSeq: 1001n, format: 1, state: new Uint8Array([1]), stateHashes: {} } }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^P/) });
  });

  // --- ledger (append-only journal tables: insert and read only) ---
  it('round-trips LedgerAsset', async () => {
    const row = await prisma.ledgerAsset.create({
      data: {
        code: 'GPT-X:OPENAI:OUT',
        kind: 'allowance',
        scale: 0,
        model: 'gpt-x',
        provider: 'openai',
        tokenClass: 'output',
        expiresOn: new Date('2027-01-31T00:00:00Z'),
      },
    });
    expect(await prisma.ledgerAsset.findUniqueOrThrow({ where: { code: row.code } })).toEqual(row);
  });

  it('round-trips LedgerAccount and LedgerChainHead', async () => {
    const row = await prisma.ledgerAccount.create({ data: { ownerKind: 'agent', ownerId: 'a1', asset: 'CREDIT' } });
    expect(row.id).toEqual(expect.any(BigInt));
    expect(await prisma.ledgerAccount.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
    const head = await prisma.ledgerChainHead.findUniqueOrThrow({ where: { singleton: true } });
    expect(head.seq).toBe(0n);
    expect(Buffer.from(head.hash).length).toBe(32);
  });

  it('round-trips LedgerTransfer, LedgerEntry, LedgerHold and LedgerHoldResolution', async () => {
    const h = (b: number) => new Uint8Array(32).fill(b);
    const acc = await prisma.ledgerAccount.create({ data: { ownerKind: 'agent', ownerId: 'a2', asset: 'CREDIT' } });
    const t = await prisma.ledgerTransfer.create({
      data: {
        seq: 1n,
        id: 'h1',
        kind: 'hold',
        type: 'hold',
        refKind: 'order',
        refId: 'o1',
        metadata: { k: 'v' },
        bodyHash: h(1),
        prevHash: h(0),
        hash: h(2),
      },
    });
    expect(await prisma.ledgerTransfer.findUniqueOrThrow({ where: { seq: 1n } })).toEqual(t);
    const hold = await prisma.ledgerHold.create({ data: { id: 'h1', accountId: acc.id, amount: 5n, createdSeq: 1n } });
    expect(await prisma.ledgerHold.findUniqueOrThrow({ where: { id: 'h1' } })).toEqual(hold);
    const v = await prisma.ledgerTransfer.create({
      data: { seq: 2n, id: 'v1', kind: 'void', type: 'release', holdId: 'h1', bodyHash: h(3), prevHash: h(2), hash: h(4) },
    });
    expect(v.metadata).toBeNull();
    const res = await prisma.ledgerHoldResolution.create({ data: { holdId: 'h1', transferSeq: 2n, postedAmount: 0n } });
    expect(await prisma.ledgerHoldResolution.findUniqueOrThrow({ where: { holdId: 'h1' } })).toEqual(res);
    const e = await prisma.ledgerEntry
      .create({ data: { transferSeq: 2n, leg: 0, accountId: acc.id, asset: 'CREDIT', amount: 0n } })
      .catch((err: unknown) => err);
    expect(e).toMatchObject({ code: expect.stringMatching(/^P/) }); // amount <> 0
    await prisma.$executeRawUnsafe(
      `INSERT INTO ledger_transfer (seq, id, kind, type, body_hash, prev_hash, hash) VALUES (3, 't3', 'transfer', 'adjustment', $1, $2, $3)`,
      h(5),
      h(4),
      h(6),
    );
    const entries = await prisma.$transaction([
      prisma.ledgerEntry.createMany({
        data: [
          { transferSeq: 3n, leg: 0, accountId: acc.id, asset: 'CREDIT', amount: -7n },
          { transferSeq: 3n, leg: 1, accountId: acc.id + 1000n, asset: 'CREDIT', amount: 7n },
        ],
      }),
      prisma.ledgerEntry.findMany({ where: { transferSeq: 3n }, orderBy: { leg: 'asc' } }),
    ]);
    expect(entries[1]).toEqual([
      { transferSeq: 3n, leg: 0, accountId: acc.id, asset: 'CREDIT', amount: -7n },
      { transferSeq: 3n, leg: 1, accountId: acc.id + 1000n, asset: 'CREDIT', amount: 7n },
    ]);
  });

  it('a CHECK violation comes back with SQLSTATE 23514', async () => {
    await expect(prisma.appSetting.create({ data: { key: '', value: 1 } })).rejects.toMatchObject({
      code: expect.stringMatching(/^P/),
    });
  });
});
