/* eslint-disable @typescript-eslint/no-explicit-any -- tool answers are read loosely; the server checks them against each tool's output schema */
import { join } from 'node:path';
import { AteClient } from '@ate/client';
import { startTestExchange, TestExchange } from '@ate/db';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createLocalJWKSet, jwtVerify } from 'jose';

const ROOT = join(__dirname, '../../..');
const ASSET = 'MCM.1K';
const M = `${ASSET}-CREDIT`;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The tools of budgets, redemption, auctions and posted-price pools, as an agent's runtime calls them: the SDK's
 * own Client starts the server over stdio against a real exchange process on real Postgres; the agent's
 * principal has given it a spend cap.
 */
describe('MCP server: budget, redemption, auctions and pools over stdio (real exchange process)', () => {
  let ex: TestExchange;
  let admin: AteClient;
  let principal: AteClient;
  let alice: { id: string; key: { keyId: string; secret: string } };
  let aliceRest: AteClient;
  let carol: AteClient;
  let mcp: Client;

  const tool = async (name: string, args: Record<string, unknown> = {}, opts?: { timeout: number }) =>
    (await mcp.callTool({ name, arguments: args }, undefined, opts)) as CallToolResult;
  const data = (r: CallToolResult) => {
    if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
    return r.structuredContent as Record<string, any>;
  };
  const toolError = (r: CallToolResult) => {
    expect(r.isError).toBe(true);
    return JSON.parse((r.content[0] as { text: string }).text).error as { status: number; code: string; details: Record<string, any> };
  };
  const units = async (asset: string) => (await aliceRest.balances()).balances[asset]?.total;
  async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
    for (const t0 = Date.now(); ; ) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await wait(100);
    }
  }

  beforeAll(async () => {
    ex = await startTestExchange('mcp_mech', { RATE_LIMIT_PER_KEY: '100000', ORDER_RATE_PER_AGENT: '100000' });
    admin = new AteClient({ baseUrl: ex.url, ...ex.admin });
    await admin.defineAsset({ code: ASSET, scale: 0, model: 'mcm-model', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: ASSET, tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 10000, priceBandBps: 5000 });
    const p = await admin.createPrincipal({ name: 'acme' });
    principal = new AteClient({
      baseUrl: ex.url,
      ...(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p.id}/keys`, { label: 'mcp' })),
    });
    const a = await admin.createAgent({ name: 'alice', principalId: p.id });
    alice = { id: a.id, key: a.apiKey! };
    aliceRest = new AteClient({ baseUrl: ex.url, ...a.apiKey! });
    const b = await admin.createAgent({ name: 'bob' });
    const c = await admin.createAgent({ name: 'carol' });
    carol = new AteClient({ baseUrl: ex.url, ...c.apiKey! });
    await admin.deposit({ id: 'a-c', agentId: a.id, asset: 'CREDIT', amount: '1000' });
    await admin.deposit({ id: 'a-t', agentId: a.id, asset: ASSET, amount: '50' });
    await admin.deposit({ id: 'b-t', agentId: b.id, asset: ASSET, amount: '100' });
    await admin.deposit({ id: 'c-c', agentId: c.id, asset: 'CREDIT', amount: '1000' });
    await new AteClient({ baseUrl: ex.url, ...b.apiKey! }).placeOrder({ market: M, side: 'sell', type: 'limit', price: '10.000', quantity: '50' });
    await principal.put(`/v1/principal/agents/${a.id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '100' }] });
    mcp = new Client({ name: 'mcp-mech-e2e', version: '1.0.0' });
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['-r', '@swc-node/register', 'apps/mcp/src/main.ts'],
        cwd: ROOT,
        env: { ...(process.env as Record<string, string>), ATE_URL: ex.url, ATE_KEY: alice.key.keyId, ATE_SECRET: alice.key.secret },
        stderr: 'ignore',
      }),
    );
  }, 180_000);
  afterAll(async () => {
    await mcp?.close();
    await ex?.stop();
  });

  it('lists the new tools with descriptions, input and output schemas', async () => {
    const { tools } = await mcp.listTools();
    const names = tools.map((t) => t.name);
    const added = [
      'get_budget',
      'redeem',
      'list_redemptions',
      'list_auctions',
      'get_auction',
      'place_bid',
      'withdraw_bid',
      'get_auction_results',
      'list_pools',
      'get_pool',
      'buy_from_pool',
    ];
    expect(names).toEqual(expect.arrayContaining(added));
    for (const t of tools.filter((x) => added.includes(x.name))) {
      expect([t.name, t.description!.length > 80, t.inputSchema.type, t.outputSchema?.type]).toEqual([t.name, true, 'object', 'object']);
    }
    expect(Object.keys(tools.find((t) => t.name === 'redeem')!.inputSchema.properties ?? {})).toEqual(['asset', 'amount', 'clientRedemptionId']);
  });

  it('get_budget: caps, used, remaining and when it frees; a breach names the rule, the limit and what remains', async () => {
    const before = data(await tool('get_budget'));
    expect(before).toMatchObject({
      agentId: alice.id,
      frozen: false,
      policy: { spendCaps: [{ windowSeconds: 3600, limit: '100.000' }] },
      usage: [{ windowSeconds: 3600, limit: '100.000', used: '0.000', remaining: '100.000', resetsAt: null }],
    });
    data(await tool('place_order', { market: M, side: 'buy', type: 'limit', price: '10.000', quantity: '5', clientOrderId: 'b-1' }));
    const after = data(await tool('get_budget'));
    expect(after.usage[0]).toMatchObject({ used: '50.000', remaining: '50.000' });
    const frees = Date.parse(after.usage[0].resetsAt);
    expect(frees).toBeGreaterThan(Date.now() + 3_500_000);
    const e = toolError(await tool('place_order', { market: M, side: 'buy', type: 'limit', price: '10.000', quantity: '6' }));
    expect(e).toMatchObject({
      status: 422,
      code: 'BUDGET_EXCEEDED',
      details: { rule: 'spendCap', windowSeconds: 3600, limit: '100.000', remaining: '50.000' },
    });
    expect(e.details['freesAtMs']).toBe(frees);
  });

  it('redeem: a receipt that verifies with the JWKS; a repeated call (with or without an id, after a time-out) consumes once', async () => {
    const start = Number(await units(ASSET));
    const r = data(await tool('redeem', { asset: ASSET, amount: '3', clientRedemptionId: 'job-1' }));
    expect(r).toMatchObject({
      clientRedemptionId: 'job-1',
      asset: ASSET,
      amount: '3',
      model: 'mcm-model',
      replayed: false,
      generatedClientRedemptionId: false,
    });
    const jwks = (await fetch(`${ex.url}/.well-known/jwks.json`).then((x) => x.json())) as never;
    const { payload } = await jwtVerify(r.receipt, createLocalJWKSet(jwks), { issuer: 'ate-exchange', algorithms: ['EdDSA'] });
    expect(payload).toMatchObject({ jti: r.id, sub: alice.id, asset: ASSET, amount: '3' });
    expect(data(await tool('redeem', { asset: ASSET, amount: '3', clientRedemptionId: 'job-1' }))).toMatchObject({
      id: r.id,
      receipt: r.receipt,
      replayed: true,
    });
    expect(Number(await units(ASSET))).toBe(start - 3);

    // no id: the server generates one, and an identical call within the window gets the same receipt
    await expect(mcp.callTool({ name: 'redeem', arguments: { asset: ASSET, amount: '2' } }, undefined, { timeout: 1 })).rejects.toThrow(/timed out/i);
    await until('the abandoned redemption done', async () => (Number(await units(ASSET)) === start - 5 ? true : undefined));
    const again = data(await tool('redeem', { asset: ASSET, amount: '2' }));
    expect(again).toMatchObject({
      amount: '2',
      replayed: true,
      generatedClientRedemptionId: true,
      clientRedemptionId: expect.stringMatching(/^mcp-/),
    });
    expect(data(await tool('redeem', { asset: ASSET, amount: '2' })).id).toBe(again.id);
    await wait(200);
    expect(Number(await units(ASSET))).toBe(start - 5);

    const cases: [Record<string, unknown>, string][] = [
      [{ asset: ASSET, amount: '4', clientRedemptionId: 'job-1' }, 'REDEMPTION_CONFLICT'],
      [{ asset: ASSET, amount: '100000' }, 'REDEMPTION_INSUFFICIENT_BALANCE'],
      [{ asset: 'CREDIT', amount: '1' }, 'REDEMPTION_NOT_ALLOWANCE'],
      [{ asset: ASSET, amount: '1.5' }, 'AMOUNT_TOO_MANY_DECIMALS'],
    ];
    const got = [];
    for (const [args] of cases) got.push([args, toolError(await tool('redeem', args)).code]);
    expect(got).toEqual(cases);
    expect(toolError(await tool('redeem', { asset: ASSET, amount: '100000' })).details).toMatchObject({
      requested: '100000',
      available: String(start - 5),
    });
    const { redemptions } = data(await tool('list_redemptions', { limit: 10 }));
    expect(redemptions.map((x: { clientRedemptionId: string }) => x.clientRedemptionId)).toEqual([again.clientRedemptionId, 'job-1']);
  });

  it('auctions: list, read with my bid, bid sealed, withdraw, bid again, results after the settlement', async () => {
    const deadline = Date.now() + 4000;
    const a = await admin.post<{ id: string }>('/v1/admin/auctions', { id: 'mcp-auc', asset: ASSET, units: '3', reservePrice: '1', deadline });
    expect(data(await tool('list_auctions', { status: 'open' })).auctions).toEqual([
      expect.objectContaining({ id: a.id, mechanism: 'vcg_multi_unit', asset: ASSET, units: '3', reservePrice: '1.000', status: 'open' }),
    ]);
    expect(data(await tool('get_auction', { auctionId: a.id }))).toMatchObject({ auction: { id: a.id }, myBid: null });
    const bid = data(await tool('place_bid', { auctionId: a.id, steps: [{ units: '2', price: '5' }] }));
    expect(bid).toMatchObject({ auctionId: a.id, agentId: alice.id, steps: [{ units: '2', price: '5.000' }], hold: '10.000', status: 'open' });
    // the same call again is the same bid (a generated clientBidId), not a second one
    expect(data(await tool('place_bid', { auctionId: a.id, steps: [{ units: '2', price: '5' }] }))).toMatchObject({ seq: bid.seq, replayed: true });
    expect(data(await tool('withdraw_bid', { auctionId: a.id }))).toMatchObject({ status: 'withdrawn' });
    // after a withdrawal the same bid is placed anew
    expect(data(await tool('place_bid', { auctionId: a.id, steps: [{ units: '2', price: '5' }] }))).toMatchObject({ status: 'open', hold: '10.000' });
    // one bid per agent: a second while one is open is refused; withdraw, then bid again (here with an explicit clientBidId)
    expect(toolError(await tool('place_bid', { auctionId: a.id, steps: [{ units: '2', price: '6' }] })).code).toBe('MECHANISM_DUPLICATE_BIDDER');
    expect(data(await tool('withdraw_bid', { auctionId: a.id }))).toMatchObject({ status: 'withdrawn' });
    const explicit = data(await tool('place_bid', { auctionId: a.id, steps: [{ units: '2', price: '6' }], clientBidId: 'bid-x' }));
    expect(data(await tool('place_bid', { auctionId: a.id, steps: [{ units: '2', price: '6' }], clientBidId: 'bid-x' }))).toMatchObject({
      seq: explicit.seq,
      replayed: true,
    });
    expect(toolError(await tool('place_bid', { auctionId: a.id, steps: [{ units: '2', price: '7' }], clientBidId: 'bid-x' })).code).toBe(
      'AUCTION_CLIENT_ID_CONFLICT',
    );
    expect(data(await tool('get_auction', { auctionId: a.id })).myBid).toMatchObject({ hold: '12.000', status: 'open' });
    await carol.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '2', price: '4' }] });

    const refused: [string, Record<string, unknown>, string][] = [
      ['place_bid', { auctionId: a.id, bundles: [{ items: ['x'], value: '5' }] }, 'VALIDATION_FAILED'],
      [
        'place_bid',
        {
          auctionId: a.id,
          steps: [
            { units: '1', price: '1' },
            { units: '1', price: '2' },
          ],
        },
        'MECHANISM_INCREASING_SCHEDULE',
      ],
      ['place_bid', { auctionId: 'no-such-auction', steps: [{ units: '1', price: '1' }] }, 'AUCTION_NOT_FOUND'],
      ['get_auction_results', { auctionId: a.id }, 'AUCTION_NOT_CLEARED'],
    ];
    const got = [];
    for (const [name, args] of refused) got.push([name, args, toolError(await tool(name, args)).code]);
    expect(got).toEqual(refused);

    const r = await until('the settlement', async () => {
      const x = await tool('get_auction_results', { auctionId: a.id });
      return x.isError ? undefined : data(x);
    });
    // 3 units: alice's 2 at 6, then one of carol's at 4; alice pays what her units cost carol (4 + 4 = 8... less the unit carol gets)
    expect(r.allocation).toEqual(
      expect.arrayContaining([expect.objectContaining({ agentId: alice.id, units: '2' }), expect.objectContaining({ units: '1' })]),
    );
    expect(r.inputs.bids.map((b: { agentId: string }) => b.agentId)).toContain(alice.id);
    // the bids' outcome once settled (the results may be readable a moment before, when the clearing is its own step)
    const mine = await until('my bid settled', async () => {
      const b = data(await tool('get_auction', { auctionId: a.id })).myBid;
      return b?.status === 'won' ? b : undefined;
    });
    expect(mine).toMatchObject({ status: 'won', unitsWon: '2' });
    expect(toolError(await tool('withdraw_bid', { auctionId: a.id })).code).toBe('AUCTION_CLOSED');
  });

  it('pools: list, read the price and history, buy with a max price; a price above it buys nothing', async () => {
    await admin.post('/v1/admin/pools', { id: 'mcp-pool', asset: ASSET, mode: 'fixed', price: '2', supply: '10' });
    expect(data(await tool('list_pools')).pools).toEqual([
      expect.objectContaining({ id: 'mcp-pool', mode: 'fixed', price: '2.000', remaining: '10' }),
    ]);
    expect(data(await tool('get_pool', { poolId: 'mcp-pool' }))).toMatchObject({
      id: 'mcp-pool',
      asset: ASSET,
      supply: '10',
      sold: '0',
      history: [],
    });
    const before = Number(await units(ASSET));
    expect(data(await tool('buy_from_pool', { poolId: 'mcp-pool', units: '3', maxPrice: '2' }))).toMatchObject({
      poolId: 'mcp-pool',
      units: '3',
      price: '2.000',
      cost: '6.000',
    });
    expect(Number(await units(ASSET))).toBe(before + 3);
    // retry-safe: the same clientPurchaseId again is the first purchase; without one, an identical call within the
    // dedupe window (here after the first was abandoned at a time-out) is too
    const first = data(await tool('buy_from_pool', { poolId: 'mcp-pool', units: '1', maxPrice: '2', clientPurchaseId: 'buy-1' }));
    expect(first).toMatchObject({ units: '1', replayed: false, generatedClientPurchaseId: false });
    expect(data(await tool('buy_from_pool', { poolId: 'mcp-pool', units: '1', maxPrice: '2', clientPurchaseId: 'buy-1' }))).toMatchObject({
      seq: first.seq,
      replayed: true,
    });
    expect(toolError(await tool('buy_from_pool', { poolId: 'mcp-pool', units: '2', maxPrice: '2', clientPurchaseId: 'buy-1' })).code).toBe(
      'AUCTION_CLIENT_ID_CONFLICT',
    );
    await expect(
      mcp.callTool({ name: 'buy_from_pool', arguments: { poolId: 'mcp-pool', units: '1', maxPrice: '2.000' } }, undefined, { timeout: 1 }),
    ).rejects.toThrow(/timed out/i);
    await until('the abandoned purchase done', async () => (Number(await units(ASSET)) === before + 5 ? true : undefined));
    expect(data(await tool('buy_from_pool', { poolId: 'mcp-pool', units: '1', maxPrice: '2.000' }))).toMatchObject({
      replayed: true,
      generatedClientPurchaseId: true,
      clientPurchaseId: expect.stringMatching(/^mcp-/),
    });
    await wait(200);
    expect(Number(await units(ASSET))).toBe(before + 5);
    const refused: [Record<string, unknown>, string][] = [
      [{ poolId: 'mcp-pool', units: '1', maxPrice: '1.999' }, 'MECHANISM_PRICE_ABOVE_MAX'],
      [{ poolId: 'mcp-pool', units: '6', maxPrice: '2' }, 'MECHANISM_SUPPLY_EXHAUSTED'],
      [{ poolId: 'no-such-pool', units: '1', maxPrice: '2' }, 'AUCTION_POOL_NOT_FOUND'],
    ];
    const got = [];
    for (const [args] of refused) got.push([args, toolError(await tool('buy_from_pool', args)).code]);
    expect(got).toEqual(refused);
    expect(Number(await units(ASSET))).toBe(before + 5);
    // a schema violation never reaches the exchange
    expect((await tool('buy_from_pool', { poolId: 'mcp-pool', units: '1.5', maxPrice: '2' })).isError).toBe(true);
    expect(data(await tool('get_pool', { poolId: 'mcp-pool' }))).toMatchObject({ sold: '5', remaining: '5' });
  });

  it('redeem above the policy threshold: pending_approval with no receipt until the principal approves; the same call then gets the receipt', async () => {
    await principal.put(`/v1/principal/agents/${alice.id}/policy`, {
      spendCaps: [{ windowSeconds: 3600, limit: '100' }],
      approval: { ttlSeconds: 600, redemptionsAbove: { [ASSET]: '5' } },
    });
    const before = Number(await units(ASSET));
    const held = data(await tool('redeem', { asset: ASSET, amount: '6', clientRedemptionId: 'job-big' }));
    expect(held).toMatchObject({ status: 'pending_approval', receipt: null, issuedAt: null, replayed: false });
    expect(Number(await units(ASSET))).toBe(before);
    await principal.post(`/v1/principal/approvals/${held.id}/approve`);
    const issued = data(await tool('redeem', { asset: ASSET, amount: '6', clientRedemptionId: 'job-big' }));
    expect(issued).toMatchObject({ id: held.id, status: 'issued', replayed: true, receipt: expect.stringMatching(/^ey/) });
    expect(Number(await units(ASSET))).toBe(before - 6);
    const list = data(await tool('list_redemptions', {}));
    expect(list.redemptions[0]).toMatchObject({ id: held.id, status: 'issued' });
    await principal.put(`/v1/principal/agents/${alice.id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '100' }] });
  });
});
