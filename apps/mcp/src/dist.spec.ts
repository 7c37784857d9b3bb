import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const ROOT = join(__dirname, '../../..');

/**
 * `npm run build` compiles the MCP server too (scripts/build.mjs), and the built server runs from dist with plain
 * node (no TypeScript loader): built into a temporary folder beside this checkout's node_modules, started over
 * stdio by the SDK's own client, it answers tools/list.
 */
describe('the built MCP server (dist/apps/mcp/src/main.js)', () => {
  jest.setTimeout(120_000);
  let base: string;
  let mcp: Client | undefined;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'ate-mcp-dist-'));
    const outDir = join(base, 'dist');
    // the build script's own function, into the temporary folder (npm run build writes ./dist)
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(ROOT, 'scripts/build.mjs'))}); await m.build({ outDir: ${JSON.stringify(outDir)}, log: () => {} });`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    symlinkSync(join(ROOT, 'node_modules'), join(base, 'node_modules'), 'dir');
  });
  afterAll(async () => {
    await mcp?.close();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('is in the build and answers tools/list; a tool call with no exchange reachable is a clean NETWORK_ERROR', async () => {
    const main = join(base, 'dist/apps/mcp/src/main.js');
    expect(existsSync(main)).toBe(true);
    mcp = new Client({ name: 'dist-check', version: '1.0.0' });
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [main],
        cwd: base,
        // an address nothing listens on (port 9 is discard; closed here): every tool call fails fast
        env: { PATH: process.env['PATH'] ?? '', ATE_URL: 'http://127.0.0.1:9', ATE_KEY: 'ak_distcheck000000000', ATE_SECRET: 'x' },
        stderr: 'ignore',
      }),
    );
    const { tools } = await mcp.listTools();
    expect(tools.length).toBe(28);
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['list_markets', 'place_order', 'get_budget', 'redeem', 'place_bid', 'buy_from_pool']),
    );
    const r = (await mcp.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(JSON.parse((r.content[0] as { text: string }).text).error).toMatchObject({ code: 'NETWORK_ERROR', details: { outcome: 'unknown' } });
  });
});
