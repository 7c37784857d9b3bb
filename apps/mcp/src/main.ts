import { AteClient, ateUrl } from '@ate/client';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { startMcpHttp } from './http';
import { createAteMcpServer } from './server';

/**
 * The exchange's MCP server. Over stdio (the default): an agent's runtime starts it with the agent's API key in
 * the environment (ATE_KEY, ATE_SECRET; ATE_URL, else http://127.0.0.1:$PORT) and every tool call is one signed
 * REST call of that agent; stdout carries the protocol, diagnostics go to stderr. With `--http` (or
 * ATE_MCP_HTTP=1): the same tools over Streamable HTTP at http://ATE_MCP_HTTP_HOST:ATE_MCP_HTTP_PORT/mcp, each
 * session with the key of its initialize request's `Authorization: Bearer <keyId>:<secret>`, else ATE_KEY.
 */
async function main(): Promise<void> {
  const keyId = process.env['ATE_KEY'];
  const secret = process.env['ATE_SECRET'];
  const num = (name: string): number | undefined => {
    const v = process.env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v)) {
      process.stderr.write(`ate-mcp: ${name} must be a whole number (got "${v}")\n`);
      process.exit(2);
    }
    return Number(v);
  };
  const dedupeWindowMs = num('ATE_MCP_DEDUPE_MS');
  const http = process.argv.includes('--http') || process.env['ATE_MCP_HTTP'] === '1';
  if (http) {
    const port = num('ATE_MCP_HTTP_PORT') ?? 3100;
    const s = await startMcpHttp({
      baseUrl: ateUrl(process.env),
      host: process.env['ATE_MCP_HTTP_HOST'] || '127.0.0.1',
      port,
      ...(keyId && secret ? { defaultKey: { keyId, secret } } : {}),
      ...(dedupeWindowMs !== undefined ? { dedupeWindowMs } : {}),
      ...(num('ATE_MCP_HTTP_IDLE_MS') !== undefined ? { idleMs: num('ATE_MCP_HTTP_IDLE_MS') } : {}),
      log: (l) => process.stderr.write(`ate-mcp: ${l}\n`),
    });
    process.stderr.write(`ate-mcp: serving Streamable HTTP on ${s.url}${keyId && secret ? ` (default key ${keyId})` : ''}\n`);
    const stop = () => void s.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return;
  }
  if (!keyId || !secret) {
    process.stderr.write('ate-mcp: set ATE_KEY and ATE_SECRET to the agent API key (and ATE_URL to the exchange)\n');
    process.exit(2);
  }
  const client = new AteClient({ baseUrl: ateUrl(process.env), keyId, secret });
  await client.syncTime().catch((e: unknown) => process.stderr.write(`ate-mcp: could not read the exchange clock yet: ${String(e)}\n`));
  const server = createAteMcpServer(client, dedupeWindowMs !== undefined ? { dedupeWindowMs } : {});
  await server.connect(new StdioServerTransport());
  process.stderr.write('ate-mcp: serving over stdio\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`ate-mcp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
