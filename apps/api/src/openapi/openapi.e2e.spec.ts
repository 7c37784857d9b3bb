import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import ts from 'typescript';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, testConfig } from '../testing/test-app';
import { buildOpenApiDocument } from './document';
import { OPERATIONS } from './operations';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const REPO = resolve(__dirname, '../../../..');

/** A typed call against the client openapi-typescript generates: it must compile, and the wrong calls must not. */
const CALL_SOURCE = `
import type { paths, components } from './api';
type Method = 'get' | 'post' | 'patch' | 'delete';
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Body<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? B : undefined;
type Success<O> = O extends { responses: infer R }
  ? { [S in keyof R]: S extends 200 | 201 ? (R[S] extends { content: { 'application/json': infer T } } ? T : never) : never }[keyof R]
  : never;
declare function call<P extends keyof paths, M extends Method>(method: M, path: P, body: Body<Op<P, M>>): Promise<Success<Op<P, M>>>;

export async function main(): Promise<void> {
  const order = await call('post', '/v1/orders', { market: 'GPT-X.1K/CREDIT', side: 'buy', type: 'limit', price: '1.250', quantity: '10' });
  const status: 'open' | 'closed' | 'canceled' | 'rejected' | 'expired' | 'pending_approval' = order.status;
  const filled: string = order.filled;
  const asComponent: components['schemas']['Order'] = order;
  const book = await call('get', '/v1/markets/{marketId}/book', undefined);
  const best: string | undefined = book.bids[0]?.[0];
  const balances = await call('get', '/v1/account/balances', undefined);
  const credit: string | undefined = balances.balances['CREDIT']?.free;
  void [status, filled, asComponent, best, credit];
  // @ts-expect-error amounts are decimal strings, never JSON numbers
  await call('post', '/v1/orders', { market: 'GPT-X.1K/CREDIT', side: 'buy', type: 'limit', price: 1.25, quantity: '10' });
  // @ts-expect-error unknown fields are refused
  await call('post', '/v1/orders', { market: 'GPT-X.1K/CREDIT', side: 'buy', type: 'limit', leverage: 10 });
  // @ts-expect-error an order has no such field
  void order.leverage;
}
`;

describe('the OpenAPI document (/docs-json)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let doc: Json;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('openapi');
    ({ app, url } = await startTestApp(testConfig(db)));
    doc = (await (await fetch(`${url}/docs-json`)).json()) as Json;
    dir = mkdtempSync(join(tmpdir(), 'ate-openapi-'));
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is OpenAPI 3.1 and documents exactly the routes the app serves', () => {
    expect(doc['openapi']).toBe('3.1.0');
    const { undocumented, unrouted } = buildOpenApiDocument(app);
    expect({ undocumented, unrouted }).toEqual({ undocumented: [], unrouted: [] });
  });

  it('passes Redocly lint (recommended rules) with no error; the only warnings are the probes that have no 4xx', () => {
    const out = execFileSync(
      process.execPath,
      [join(REPO, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', join(dir, 'openapi.json'), '--format=json'],
      {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ).toString();
    const report = JSON.parse(out.slice(out.indexOf('{'))) as {
      totals: { errors: number };
      problems: { ruleId: string; location: { pointer: string }[] }[];
    };
    expect(report.totals.errors).toBe(0);
    expect(report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}`).sort()).toEqual([
      'operation-4xx-response #/paths/~1health/get/responses',
      'operation-4xx-response #/paths/~1ready/get/responses',
    ]);
  });

  it('is valid to a second validator (swagger-parser)', () => {
    // in a child process: swagger-parser's dependencies are ES modules, which Jest does not load
    const script = `require('@apidevtools/swagger-parser').validate(process.argv[1]).then(() => console.log('valid'), (e) => { console.log(e.message); process.exitCode = 1; })`;
    const r = spawnSync(process.execPath, ['-e', script, join(dir, 'openapi.json')], { cwd: REPO, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('valid');
  });

  it('names the success schemas as components, and the signature scheme per operation (none for public data)', () => {
    expect(Object.keys(doc['components'].schemas)).toEqual(
      expect.arrayContaining(['Order', 'Fill', 'Balance', 'Balances', 'Market', 'Book', 'Trade', 'Error', 'Statement', 'ReconciliationReport']),
    );
    expect(Object.keys(doc['components'].securitySchemes)).toEqual(['ateKey', 'ateTimestamp', 'ateSignature', 'metricsToken']);
    const place = doc['paths']['/v1/orders'].post;
    expect(place.security).toEqual([{ ateKey: [], ateTimestamp: [], ateSignature: [] }]);
    expect(place.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Order' });
    expect(Object.keys(place.responses['422'].content['application/json'].examples)).toContain('MATCHING_INSUFFICIENT_FUNDS');
    expect(doc['paths']['/v1/markets/{marketId}/book'].get.security).toEqual([]);
  });

  it('documents as signed exactly the operations that refuse an unsigned request (401 AUTH_MISSING)', async () => {
    const sample: Record<string, string> = {
      marketId: 'GPT-X.1K-CREDIT',
      orderId: '1',
      clientOrderId: 'c1',
      agentId: 'agt_nosuchagent1',
      keyId: 'ak_nosuchkey00000000',
    };
    for (const [key, op] of Object.entries(OPERATIONS)) {
      const [method, path] = key.split(' ') as [string, string];
      const r = await fetch(url + path.replace(/\{(\w+)\}/g, (_, n: string) => sample[n] as string), { method });
      const body = (await r.json().catch(() => ({}))) as Json;
      const signed = doc['paths'][path][method.toLowerCase()].security.length > 0 && op.access !== 'metrics';
      expect([key, r.status === 401 && body['error']?.code === 'AUTH_MISSING']).toEqual([key, signed]);
    }
  });

  it('generates a TypeScript client (openapi-typescript) that type-checks a real call and refuses wrong ones', () => {
    // its CLI, as an integrator runs it (its dependencies are ES modules, which Jest does not load)
    execFileSync(process.execPath, [join(REPO, 'node_modules/openapi-typescript/bin/cli.js'), join(dir, 'openapi.json'), '-o', join(dir, 'api.ts')], {
      stdio: 'pipe',
    });
    writeFileSync(join(dir, 'call.ts'), CALL_SOURCE);
    const program = ts.createProgram([join(dir, 'call.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      lib: ['lib.es2022.d.ts'],
      types: [],
      skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });
});
