/* eslint-disable @typescript-eslint/no-explicit-any -- tool answers are read loosely; the server checks them against each tool's output schema */
import { ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { AteClient } from '@ate/client';
import { startTestExchange, TestExchange } from '@ate/db';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startMcpHttp } from './http';

const ROOT = join(__dirname, '../../..');
const M = 'MCH.1K-CREDIT';

/**
 * The same tools over Streamable HTTP: `main.ts --http` started as its own process against a real exchange
 * process, the SDK's StreamableHTTPClientTransport as the client. Each session signs with the key of its
 * initialize request (Authorization: Bearer <keyId>:<secret>) or, without one, the server's own (ATE_KEY).
 */
describe('MCP server over Streamable HTTP (real exchange process)', () => {
  let ex: TestExchange;
  let alice: { id: string; keyId: string; secret: string };
  let bob: { id: string; keyId: string; secret: string };
  let server: ChildProcess;
  let url: string;
  const clients: Client[] = [];

  async function connect(headers: Record<string, string> = {}, at = url): Promise<{ c: Client; t: StreamableHTTPClientTransport }> {
    const c = new Client({ name: 'mcp-http-e2e', version: '1.0.0' });
    const t = new StreamableHTTPClientTransport(new URL(at), { requestInit: { headers } });
    await c.connect(t);
    clients.push(c);
    return { c, t };
  }
  const bearer = (k: { keyId: string; secret: string }) => ({ authorization: `Bearer ${k.keyId}:${k.secret}` });
  const data = (r: CallToolResult) => {
    if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
    return r.structuredContent as Record<string, any>;
  };
  const tool = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as CallToolResult;

  beforeAll(async () => {
    ex = await startTestExchange('mcp_http', { RATE_LIMIT_PER_KEY: '100000', ORDER_RATE_PER_AGENT: '100000' });
    const admin = new AteClient({ baseUrl: ex.url, ...ex.admin });
    await admin.defineAsset({ code: 'MCH.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'MCH.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 10000, priceBandBps: 5000 });
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    alice = { id: a.id, ...a.apiKey! };
    bob = { id: b.id, ...b.apiKey! };
    await admin.deposit({ id: 'b-c', agentId: b.id, asset: 'CREDIT', amount: '100' });
    server = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/mcp/src/main.ts', '--http'], {
      cwd: ROOT,
      env: { ...process.env, ATE_URL: ex.url, ATE_KEY: alice.keyId, ATE_SECRET: alice.secret, ATE_MCP_HTTP_PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let err = '';
      server.stderr!.on('data', (d: Buffer) => {
        err += String(d);
        const m = /serving Streamable HTTP on (\S+)/.exec(err);
        if (m) resolve(m[1] as string);
      });
      server.once('exit', (code) => reject(new Error(`the MCP server exited (${code}): ${err}`)));
    });
  }, 180_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    server?.kill('SIGTERM');
    await ex?.stop();
  });

  it('a session without Authorization signs with the server key; one with Bearer <keyId>:<secret> with its own', async () => {
    const { c: own } = await connect();
    const { c: bobs } = await connect(bearer(bob));
    expect(data(await tool(own, 'whoami'))).toMatchObject({ role: 'agent', agentId: alice.id });
    expect(data(await tool(bobs, 'whoami'))).toMatchObject({ role: 'agent', agentId: bob.id });
    expect((await bobs.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['place_order', 'get_budget', 'redeem', 'place_bid']));
    const { order } = data(
      await tool(bobs, 'place_order', { market: M, side: 'buy', type: 'limit', price: '9.000', quantity: '2', clientOrderId: 'h-1' }),
    );
    expect(order).toMatchObject({ status: 'open', clientOrderId: 'h-1' });
    expect(data(await tool(bobs, 'get_balances')).balances['CREDIT']).toEqual({ free: '82.000', used: '18.000', total: '100.000' });
    // refusals are tool errors, as over stdio
    const e = await tool(own, 'cancel_order', { orderId: order.id });
    expect(e.isError).toBe(true);
    expect(JSON.parse((e.content[0] as { text: string }).text).error).toMatchObject({ status: 404, code: 'MATCHING_UNKNOWN_ORDER' });
  });

  it('refuses a key the exchange refuses, a malformed Authorization, another key on a session, a foreign Host, an ended session', async () => {
    await expect(connect({ authorization: `Bearer ${bob.keyId}:not-the-secret` })).rejects.toThrow(/AUTH_INVALID_SIGNATURE/);
    await expect(connect({ authorization: 'Basic Zm9vOmJhcg==' })).rejects.toThrow(/Bearer <keyId>:<secret>/);

    const { t } = await connect(bearer(bob));
    const sid = t.sessionId as string;
    const call = (headers: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sid,
          'mcp-protocol-version': '2025-06-18',
          ...headers,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
      });
    // the session id alone acts for nobody: the same session with the server's key or another agent's is refused
    expect((await call({})).status).toBe(403);
    expect((await call(bearer(alice))).status).toBe(403);
    expect((await call(bearer(bob))).status).toBe(200);
    // DNS rebinding: a page served from another host name cannot reach the loopback server (fetch cannot set Host)
    const foreignHost = await new Promise<number>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        headers: {
          host: 'evil.example',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sid,
          ...bearer(bob),
        },
      });
      req.on('response', (r) => (r.resume(), resolve(r.statusCode as number)));
      req.on('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }));
    });
    expect(foreignHost).toBe(403);
    await t.terminateSession();
    expect((await call(bearer(bob))).status).toBe(404);
    // no session and not an initialize request
    const bare = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(bare.status).toBe(400);
  });

  it('a server with no key of its own needs one per session', async () => {
    const s = await startMcpHttp({ baseUrl: ex.url, host: '127.0.0.1', port: 0 });
    try {
      await expect(connect({}, s.url)).rejects.toThrow(/no key of its own/);
      const { c } = await connect(bearer(bob), s.url);
      expect(data(await tool(c, 'whoami'))).toMatchObject({ agentId: bob.id });
    } finally {
      await s.close();
    }
  });
});
