import { AteClient, ateUrl } from '@ate/client';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createAteMcpServer } from './server';

/**
 * The exchange's MCP server over stdio: an agent's runtime starts it with the agent's API key in the environment
 * (ATE_KEY, ATE_SECRET; ATE_URL, else http://127.0.0.1:$PORT) and every tool call is one signed REST call of that
 * agent. stdout carries the protocol: diagnostics go to stderr.
 */
async function main(): Promise<void> {
  const keyId = process.env['ATE_KEY'];
  const secret = process.env['ATE_SECRET'];
  if (!keyId || !secret) {
    process.stderr.write('ate-mcp: set ATE_KEY and ATE_SECRET to the agent API key (and ATE_URL to the exchange)\n');
    process.exit(2);
  }
  const dedupe = process.env['ATE_MCP_DEDUPE_MS'];
  const client = new AteClient({ baseUrl: ateUrl(process.env), keyId, secret });
  await client.syncTime().catch((e: unknown) => process.stderr.write(`ate-mcp: could not read the exchange clock yet: ${String(e)}\n`));
  const server = createAteMcpServer(client, dedupe !== undefined && /^\d+$/.test(dedupe) ? { dedupeWindowMs: Number(dedupe) } : {});
  await server.connect(new StdioServerTransport());
  process.stderr.write('ate-mcp: serving over stdio\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`ate-mcp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
