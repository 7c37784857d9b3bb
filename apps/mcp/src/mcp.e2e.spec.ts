import { join } from 'node:path';
import { AteClient } from '@ate/client';
import { startTestExchange, TestExchange } from '@ate/db';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const ROOT = join(__dirname, '../../..');
const M = 'MCP.1K-CREDIT';

/**
 * The MCP server as an agent's runtime uses it: the SDK's own Client starts `apps/mcp/src/main.ts` over stdio with
 * the agent's key in its environment, against a real exchange process on real Postgres.
 */
describe('MCP server over stdio (real exchange process)', () => {
  let ex: TestExchange;
  let admin: AteClient;
  let alice: { id: string; key: { keyId: string; secret: string } };
  let bob: AteClient;
  let mcp: Client;

  async function connect(env: Record<string, string> = {}): Promise<Client> {
    const c = new Client({ name: 'mcp-e2e', version: '1.0.0' });
    await c.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['-r', '@swc-node/register', 'apps/mcp/src/main.ts'],
        cwd: ROOT,
        env: { ...(process.env as Record<string, string>), ATE_URL: ex.url, ATE_KEY: alice.key.keyId, ATE_SECRET: alice.key.secret, ...env },
        stderr: 'ignore',
      }),
    );
    return c;
  }
  const tool = async (name: string, args: Record<string, unknown> = {}, c = mcp) => (await c.callTool({ name, arguments: args })) as CallToolResult;
  const data = (r: CallToolResult) => {
    if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
    return r.structuredContent as Record<string, any>;
  };
  const marketOrders = async () =>
    data(await tool('list_orders', { status: 'all', limit: 100 })).orders.filter((o: { type: string }) => o.type === 'market');
  const until = async (f: () => Promise<boolean>) => {
    for (let t0 = Date.now(); !(await f()); ) {
      if (Date.now() - t0 > 10_000) throw new Error('condition not met in 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const toolError = (r: CallToolResult) => {
    expect(r.isError).toBe(true);
    const text = (r.content[0] as { text: string }).text;
    return JSON.parse(text).error as { status: number; code: string; message: string; details: Record<string, unknown> };
  };

  beforeAll(async () => {
    ex = await startTestExchange('mcp', { RATE_LIMIT_PER_KEY: '100000', ORDER_RATE_PER_AGENT: '100000' });
    admin = new AteClient({ baseUrl: ex.url, ...ex.admin });
    await admin.defineAsset({ code: 'MCP.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'MCP.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 10000, priceBandBps: 5000 });
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    alice = { id: a.id, key: a.apiKey! };
    bob = new AteClient({ baseUrl: ex.url, ...b.apiKey! });
    await admin.deposit({ id: 'a-c', agentId: a.id, asset: 'CREDIT', amount: '1000' });
    await admin.deposit({ id: 'b-t', agentId: b.id, asset: 'MCP.1K', amount: '100' });
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '10.000', quantity: '20', clientOrderId: 'bob-ask' });
    mcp = await connect({ ATE_MCP_DEDUPE_MS: '60000' });
  }, 180_000);
  afterAll(async () => {
    await mcp?.close();
    await ex?.stop();
  });

  it('lists its tools, each with a description an LLM can act on, an input schema and an output schema', async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        'amend_order',
        'cancel_all_orders',
        'cancel_order',
        'get_balances',
        'get_candles',
        'get_fills',
        'get_order',
        'get_order_book',
        'get_recent_trades',
        'get_statement',
        'get_ticker',
        'list_markets',
        'list_orders',
        'place_order',
        'set_cancel_after',
        'test_order',
        'whoami',
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
      ].sort(),
    );
    for (const t of tools) {
      expect(t.description!.length).toBeGreaterThan(40);
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
    }
    const place = tools.find((t) => t.name === 'place_order')!;
    expect(Object.keys(place.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['market', 'side', 'type', 'price', 'quantity', 'clientOrderId']),
    );
  });

  it('reads markets, the book and balances as decimal strings', async () => {
    const { markets } = data(await tool('list_markets'));
    expect(markets).toEqual([expect.objectContaining({ id: M, symbol: 'MCP.1K/CREDIT', tickSize: '0.001', lotSize: '1' })]);
    expect(data(await tool('get_order_book', { market: M, depth: 5 }))).toMatchObject({ asks: [['10.000', '20']], bids: [] });
    expect(data(await tool('get_balances')).balances['CREDIT']).toEqual({ free: '1000.000', used: '0.000', total: '1000.000' });
    expect(data(await tool('whoami'))).toMatchObject({ role: 'agent', agentId: alice.id });
  });

  it('places, reads back and cancels an order; balances follow', async () => {
    const { order } = data(
      await tool('place_order', { market: M, side: 'buy', type: 'limit', price: '9.000', quantity: '10', clientOrderId: 'a-rest' }),
    );
    expect(order).toMatchObject({ status: 'open', price: '9.000', quantity: '10', filled: '0', clientOrderId: 'a-rest' });
    expect(data(await tool('get_balances')).balances['CREDIT']).toEqual({ free: '910.000', used: '90.000', total: '1000.000' });
    expect(data(await tool('get_order', { clientOrderId: 'a-rest' })).order.id).toBe(order.id);
    expect(data(await tool('list_orders', { status: 'open' })).orders.map((o: { id: string }) => o.id)).toEqual([order.id]);
    const amended = data(await tool('amend_order', { orderId: order.id, quantity: '5' }));
    expect(amended).toMatchObject({ remaining: '5', keptPriority: true });
    expect(data(await tool('cancel_order', { orderId: order.id })).order).toMatchObject({ id: order.id, status: 'canceled' });
    expect(data(await tool('get_balances')).balances['CREDIT']).toEqual({ free: '1000.000', used: '0.000', total: '1000.000' });
  });

  it('trades: a crossing buy fills against the resting ask; fills and trades show it', async () => {
    const { order } = data(
      await tool('place_order', { market: M, side: 'buy', type: 'limit', price: '10.000', quantity: '2', clientOrderId: 'a-take' }),
    );
    expect(order).toMatchObject({ status: 'closed', filled: '2', cost: '20.000', averagePrice: '10.000' });
    const { fills } = data(await tool('get_fills', { limit: 10 }));
    expect(fills[0]).toMatchObject({ orderId: order.id, side: 'buy', takerOrMaker: 'taker', price: '10.000', amount: '2' });
    expect(data(await tool('get_recent_trades', { market: M })).trades[0]).toMatchObject({ price: '10.000', amount: '2', takerSide: 'buy' });
    expect(data(await tool('get_ticker', { market: M }))).toMatchObject({ last: '10.000', baseVolume: '2' });
    const { candles } = data(await tool('get_candles', { market: M, timeframe: '1m', limit: 5 }));
    expect(candles.at(-1)).toMatchObject({ close: '10.000', volume: '2', trades: 1 });
    expect(data(await tool('list_orders', { status: 'closed', market: M })).orders.map((o: { id: string }) => o.id)).toEqual([order.id]);
    expect(data(await tool('get_fills', { market: M, since: 0 })).fills.map((f: { orderId: string }) => f.orderId)).toEqual([order.id]);
    expect(data(await tool('test_order', { market: M, side: 'buy', type: 'limit', price: '9.000', quantity: '1' }))).toMatchObject({ valid: true });
  });

  it('never trades twice when a call is repeated after a time-out (with and without a clientOrderId)', async () => {
    const before = (await bob.book(M)).asks[0]![1];
    // the runtime gives up on the first call at once (the request is cancelled, its answer never read) and repeats it
    const args = { market: M, side: 'buy', type: 'market', quantity: '1' };
    await expect(mcp.callTool({ name: 'place_order', arguments: args }, undefined, { timeout: 1 })).rejects.toThrow(/timed out/i);
    // the abandoned call did trade (the server finishes what it sent): wait until the exchange shows it
    await until(async () => marketOrders().then((o) => o.length === 1));
    const again = data(await tool('place_order', args));
    const third = data(await tool('place_order', args));
    expect(again.generatedClientOrderId).toBe(true);
    expect(third.order.id).toBe(again.order.id);
    // the same with an explicit clientOrderId: the exchange answers the original order
    await expect(mcp.callTool({ name: 'place_order', arguments: { ...args, clientOrderId: 'a-retry' } }, undefined, { timeout: 1 })).rejects.toThrow(
      /timed out/i,
    );
    await until(async () => marketOrders().then((o) => o.length === 2));
    const retried = data(await tool('place_order', { ...args, clientOrderId: 'a-retry' }));
    expect(retried.order).toMatchObject({ clientOrderId: 'a-retry', status: 'closed', filled: '1' });
    // two lots left the book, not three or four
    await new Promise((r) => setTimeout(r, 300));
    expect((await bob.book(M)).asks[0]![1]).toBe(String(Number(before) - 2));
    expect(await marketOrders()).toHaveLength(2);
  });

  it('hostile calls get clean tool errors carrying the exchange code and details', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['place_order', { market: M, side: 'buy', type: 'limit', price: '9.0.1', quantity: '1' }, 'AMOUNT_INVALID'],
      ['place_order', { market: M, side: 'buy', type: 'limit', price: '9.0001', quantity: '1' }, 'AMOUNT_TOO_MANY_DECIMALS'],
      ['place_order', { market: M, side: 'buy', type: 'limit', price: '-9.000', quantity: '1' }, 'AMOUNT_NEGATIVE'],
      ['place_order', { market: M, side: 'buy', type: 'limit', price: '9.000', quantity: '100000' }, 'MATCHING_INSUFFICIENT_FUNDS'],
      ['place_order', { market: 'NOPE.1K-CREDIT', side: 'buy', type: 'limit', price: '9.000', quantity: '1' }, 'NOT_FOUND'],
      ['cancel_order', { orderId: '999999' }, 'MATCHING_UNKNOWN_ORDER'],
      ['get_order', { orderId: '1' }, 'MATCHING_UNKNOWN_ORDER'],
      ['get_order', {}, 'VALIDATION_FAILED'],
      ['set_cancel_after', { timeoutMs: 5 }, 'VALIDATION_FAILED'],
    ];
    const got: [string, string][] = [];
    for (const [name, args] of cases) got.push([name, toolError(await tool(name, args)).code]);
    expect(got).toEqual(cases.map(([n, , code]) => [n, code]));

    // a foreign order id: bob's resting ask is not alice's to cancel or read
    const bobs = await bob.getOrderByClientId('bob-ask');
    const e = toolError(await tool('cancel_order', { orderId: bobs.id }));
    expect(e).toMatchObject({ status: 404, code: 'MATCHING_UNKNOWN_ORDER', details: { orderId: bobs.id } });
    expect((await bob.getOrder(bobs.id)).status).toBe('open');
    // the exchange's details verbatim: what the order would have needed
    const funds = toolError(await tool('place_order', { market: M, side: 'buy', type: 'limit', price: '9.000', quantity: '100000' }));
    expect(funds.details).toEqual(expect.objectContaining({ clientOrderId: expect.stringMatching(/^mcp-/) }));
    // a schema violation (not a string) never reaches the exchange and is a tool error too
    const schema = await tool('place_order', { market: M, side: 'buy', type: 'limit', price: 9, quantity: '1' });
    expect(schema.isError).toBe(true);
    expect((schema.content[0] as { text: string }).text).toMatch(/price/);
  });
});
