import { Controller, Module, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InjectOptions } from 'fastify';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { z } from 'zod';
import { createApp } from './bootstrap';
import { testConfig } from './testing/test-app';
import { ZodBody } from './common/zod';
import { Public } from './auth/decorators';

/** A route with a validated body, mounted only here, to drive the request pipeline (parsing, limits, errors). */
const EchoBody = z.strictObject({ name: z.string().min(1).max(20), lots: z.string().regex(/^[1-9][0-9]{0,8}$/) });
@Public()
@Controller('test')
class EchoController {
  @Post('echo')
  echo(@ZodBody(EchoBody) body: z.infer<typeof EchoBody>): { got: z.infer<typeof EchoBody> } {
    return { got: body };
  }

  @Post('boom')
  boom(): never {
    throw new Error('secret internal detail');
  }
}
@Module({ controllers: [EchoController] })
class EchoModule {}

const BODY_LIMIT = 2048;

describe('api (real Postgres, real Fastify pipeline)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    db = await createTestDatabase('api');
    const config = testConfig(db, { BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    app = await createApp(config, { extraModules: [EchoModule] });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const inject = (opts: InjectOptions) => app.getHttpAdapter().getInstance().inject(opts);

  it('GET /health answers 200', async () => {
    const r = await inject({ method: 'GET', url: '/health' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ok' });
  });

  it('GET /ready is 200 with every check passing on a migrated database', async () => {
    const r = await inject({ method: 'GET', url: '/ready' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      ready: true,
      checks: { database: { ok: true }, migrations: { ok: true, pending: [] }, engine: { ok: true, mode: 'in-process' } },
    });
  });

  it('GET /docs-json serves the OpenAPI document generated from the code', async () => {
    const r = await inject({ method: 'GET', url: '/docs-json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/ready', '/test/echo']));
    expect(doc.paths['/test/echo'].post.requestBody.content['application/json'].schema.required).toEqual(['name', 'lots']);
  });

  it('echoes a request id the client sends, and makes one otherwise', async () => {
    const given = await inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'client-42' } });
    expect(given.headers['x-request-id']).toBe('client-42');
    const made = await inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a valid body passes validation', async () => {
    const r = await inject({ method: 'POST', url: '/test/echo', payload: { name: 'a', lots: '5' } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ got: { name: 'a', lots: '5' } });
  });

  // One row per kind of bad input: the request, the status, the stable code.
  it.each(
    [
      ['unknown route', { method: 'GET', url: '/no/such/route' }, 404, 'ROUTE_NOT_FOUND'],
      ['unknown route (POST)', { method: 'POST', url: '/nope', payload: {} }, 404, 'ROUTE_NOT_FOUND'],
      [
        'malformed JSON',
        { method: 'POST', url: '/test/echo', payload: '{"name": "a",', headers: { 'content-type': 'application/json' } },
        400,
        'MALFORMED_JSON',
      ],
      ['empty JSON body', { method: 'POST', url: '/test/echo', payload: '', headers: { 'content-type': 'application/json' } }, 400, 'MALFORMED_JSON'],
      [
        'prototype poisoning',
        {
          method: 'POST',
          url: '/test/echo',
          payload: '{"__proto__":{"x":1},"name":"a","lots":"1"}',
          headers: { 'content-type': 'application/json' },
        },
        400,
        'MALFORMED_JSON',
      ],
      [
        'wrong content type',
        { method: 'POST', url: '/test/echo', payload: 'name=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'text/plain body',
        { method: 'POST', url: '/test/echo', payload: 'hello', headers: { 'content-type': 'text/plain' } },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'oversized body',
        {
          method: 'POST',
          url: '/test/echo',
          payload: JSON.stringify({ name: 'x'.repeat(BODY_LIMIT), lots: '1' }),
          headers: { 'content-type': 'application/json' },
        },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['unknown field', { method: 'POST', url: '/test/echo', payload: { name: 'a', lots: '1', extra: true } }, 400, 'VALIDATION_FAILED'],
      ['missing field', { method: 'POST', url: '/test/echo', payload: { name: 'a' } }, 400, 'VALIDATION_FAILED'],
      ['float where an integer string belongs', { method: 'POST', url: '/test/echo', payload: { name: 'a', lots: 1.5 } }, 400, 'VALIDATION_FAILED'],
      [
        'JSON array instead of object',
        { method: 'POST', url: '/test/echo', payload: '[1,2]', headers: { 'content-type': 'application/json' } },
        400,
        'VALIDATION_FAILED',
      ],
    ].map(([n, r, s, c]) => [n, s, c, r] as [string, number, string, InjectOptions]),
  )('%s -> %i %s', async (_name, status, code, req) => {
    const r = await inject(req);
    expect(r.statusCode).toBe(status);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(Object.keys(body)).toEqual(['error']);
  });

  it('validation errors say which field and why', async () => {
    const r = await inject({ method: 'POST', url: '/test/echo', payload: { name: '', lots: '0' } });
    expect(
      r
        .json()
        .error.details.issues.map((i: { path: string }) => i.path)
        .sort(),
    ).toEqual(['lots', 'name']);
  });

  it('an unexpected error is a 500 with the error shape, the request id, and no internals', async () => {
    const r = await inject({ method: 'POST', url: '/test/boom', headers: { 'x-request-id': 'req-boom' } });
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error.', details: { requestId: 'req-boom' } } });
    expect(r.body).not.toContain('secret');
  });
});

describe('/ready when not ready', () => {
  it('answers 503 naming the pending migrations on an unmigrated database', async () => {
    const db = await createTestDatabase('api_unready', { migrated: false });
    const app = await createApp(testConfig(db));
    try {
      await app.init();
      const r = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/ready' });
      expect(r.statusCode).toBe(503);
      expect(r.json().ready).toBe(false);
      expect(r.json().checks.migrations.ok).toBe(false);
      expect(r.json().checks.migrations.pending.length).toBeGreaterThan(0);
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
