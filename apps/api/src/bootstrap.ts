import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppModule } from './app.module';
import { AppError } from '@ate/contracts';
import type { AppConfig } from './config/config';
import { clientErrorHandler, findUnstorable, installEdges, unstorableError } from './common/edges';
import { MAX_PARAM_LENGTH, sendError } from './common/error-filter';
import { buildOpenApiDocument } from './openapi/document';
import { installHttpMetrics } from './metrics/http-metrics';
import { MetricsService } from './metrics/metrics.service';

/** A client-sent x-request-id is kept when it is short and plain; otherwise we make one. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}

/** Builds the api application (not listening yet): Fastify, error shape, request ids, logs, OpenAPI at /docs. */
export interface CreateAppOptions {
  /** Extra modules to mount beside the app's own (tests use it to exercise the request pipeline). */
  extraModules?: Type<unknown>[];
}

export async function createApp(config: AppConfig, opts: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: requestId,
    // Unknown query/body keys are refused by our schemas; Fastify must not coerce or strip silently.
    return503OnClosing: true,
    // X-Forwarded-For is believed only from these proxies (req.ip is then the client's address)
    trustProxy: config.TRUST_PROXY ?? false,
    forceCloseConnections: 'idle',
    // Router and HTTP-parser errors in our error shape (Fastify's own echo the URL and label a 414 "Bad Request").
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (err: unknown, req: { id: string }, reply: unknown) => sendError(reply as FastifyReply, err, req.id),
    clientErrorHandler,
  });
  installEdges(adapter.getInstance()); // before any route: the route table (405) and the check for unstorable text
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, opts.extraModules), adapter, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false, // we register the one body parser we accept (JSON) below
  });
  app.useLogger(app.get(Logger));

  const fastify = app.getHttpAdapter().getInstance();
  // before the routes are registered (at init); the cast: @nestjs/platform-fastify pins its own copy of fastify
  installHttpMetrics(fastify as unknown as FastifyInstance, app.get(MetricsService));
  // JSON bodies: Fastify's own parser (it refuses __proto__/constructor poisoning), with a parse failure
  // reported as our MALFORMED_JSON. Other Fastify errors (size, content type) reach the error filter through
  // Nest's handler with their HTTP status.
  const defaultJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers(); // JSON only: any other content type is 415
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    (req as typeof req & { rawBody?: string }).rawBody = text; // the exact bytes a request signature covers
    defaultJson(req, text, (err, value) => {
      if (err) return done(new AppError('MALFORMED_JSON', 'The request body is not valid JSON.'), undefined);
      const where = findUnstorable(value, 'body');
      if (where) done(unstorableError(where), undefined);
      else done(null, value);
    });
  });
  fastify.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    done(null, payload);
  });
  // The access log: one line per request (not /health), at info, warn for 4xx, error for 5xx, with its request id.
  fastify.addHook('onResponse', (req, reply, done) => {
    const access = PinoLogger.root; // set when the logger module initialises
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    if (access?.isLevelEnabled(level) && req.url !== '/health') {
      access[level]({ reqId: req.id, method: req.method, url: req.url, status, responseTime: Math.round(reply.elapsedTime) }, 'request completed');
    }
    done();
  });

  // OpenAPI 3.1 at /docs-json (and a viewer at /docs): the operations' documentation lives in src/openapi.
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app).document, { jsonDocumentUrl: 'docs-json' });

  // No enableShutdownHooks: main.ts handles signals itself, in order (drain, close pools, stop Postgres).
  return app;
}
