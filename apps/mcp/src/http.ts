import { createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AteApiError, AteClient } from '@ate/client';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createAteMcpServer } from './server';

/** The MCP endpoint's path on the HTTP server. */
export const MCP_HTTP_PATH = '/mcp';

export interface McpHttpOptions {
  /** the exchange, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  host: string;
  /** 0: any free port (the one taken is in the answer) */
  port: number;
  /** the key sessions use when their initialize request carries no Authorization header (the server's environment) */
  defaultKey?: { keyId: string; secret: string };
  dedupeWindowMs?: number;
  /** a session unused this long is closed (ms) */
  idleMs?: number;
  maxSessions?: number;
  log?: (line: string) => void;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  /** sha256 of the Authorization header the session was opened with ('' for the server's own key) */
  credential: string;
  lastUsed: number;
}

const BODY_LIMIT = 1 << 20;

function jsonError(res: ServerResponse, status: number, code: number, message: string, data?: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message, ...(data !== undefined ? { data } : {}) }, id: null }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > BODY_LIMIT) throw Object.assign(new Error(`the body is larger than ${BODY_LIMIT} bytes`), { status: 413 });
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw Object.assign(new Error('the body is not JSON'), { status: 400 });
  }
}

/** `Authorization: Bearer <keyId>:<secret>` -> the key, undefined when absent, null when malformed. */
export function keyFromAuthorization(h: string | undefined): { keyId: string; secret: string } | null | undefined {
  if (h === undefined || h === '') return undefined;
  const m = /^Bearer ([^:\s]+):(\S+)$/.exec(h);
  return m ? { keyId: m[1] as string, secret: m[2] as string } : null;
}

/**
 * The same tools over MCP's Streamable HTTP transport, one stateful session per initialize request, each with
 * its own McpServer and its own signed client. The key of a session: `Authorization: Bearer <keyId>:<secret>`
 * on its initialize request (checked against the exchange then), else the server's own key (its environment);
 * every later request of the session must carry the same Authorization header (or none, for the server's key),
 * so a session id alone acts for nobody. Loopback hosts get DNS-rebinding protection (the Host header must be
 * this server's).
 */
export async function startMcpHttp(o: McpHttpOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const sessions = new Map<string, Session>();
  const log = o.log ?? (() => undefined);
  const idleMs = o.idleMs ?? 30 * 60_000;
  const maxSessions = o.maxSessions ?? 100;
  let allowedHosts: string[] | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== MCP_HTTP_PATH) return jsonError(res, 404, -32601, `not found: the MCP endpoint is ${MCP_HTTP_PATH}`);
    const authorization = req.headers['authorization'];
    const credential = authorization ? createHash('sha256').update(authorization).digest('hex') : '';
    const sid = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      if (!s) return jsonError(res, 404, -32001, 'no such session (it ended or expired): initialize a new one');
      if (s.credential !== credential) return jsonError(res, 403, -32003, 'this request does not carry the key its session was opened with');
      s.lastUsed = Date.now();
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body))
      return jsonError(res, 400, -32000, 'no session: send an initialize request first (without mcp-session-id)');
    const key = keyFromAuthorization(authorization) ?? (authorization ? null : o.defaultKey);
    if (key === null) return jsonError(res, 401, -32002, 'Authorization must be "Bearer <keyId>:<secret>" (an agent API key)');
    if (!key) return jsonError(res, 401, -32002, 'this server has no key of its own: send Authorization: Bearer <keyId>:<secret>');
    if (sessions.size >= maxSessions) return jsonError(res, 503, -32004, `this server holds ${maxSessions} sessions: close one or retry later`);
    const client = new AteClient({ baseUrl: o.baseUrl, ...key });
    await client.syncTime().catch(() => undefined);
    const who = await client.me().catch((e: unknown) => e);
    if (who instanceof AteApiError && (who.status === 401 || who.status === 403))
      return jsonError(res, 401, -32002, `the exchange refused this key: ${who.code}`, { code: who.code, details: who.details ?? {} });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      ...(allowedHosts ? { enableDnsRebindingProtection: true, allowedHosts } : {}),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, credential, lastUsed: Date.now() });
        log(`session ${id} opened for ${key.keyId}`);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createAteMcpServer(client, o.dedupeWindowMs !== undefined ? { dedupeWindowMs: o.dedupeWindowMs } : {}).connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = (e as { status?: number }).status ?? 500;
      jsonError(res, status, status === 500 ? -32603 : -32700, e instanceof Error ? e.message : String(e));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (['127.0.0.1', 'localhost', '::1'].includes(o.host)) allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [id, s] of sessions)
        if (now - s.lastUsed > idleMs) {
          sessions.delete(id);
          void s.transport.close();
          log(`session ${id} closed (idle)`);
        }
    },
    Math.min(60_000, idleMs),
  );
  sweep.unref();
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server,
    url: `http://${host}:${port}${MCP_HTTP_PATH}`,
    close: async () => {
      clearInterval(sweep);
      for (const s of sessions.values()) await s.transport.close().catch(() => undefined);
      sessions.clear();
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
    },
  };
}
