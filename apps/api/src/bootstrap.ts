import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply } from 'fastify';
import { AppModule } from './app.module';
import { AppError } from '@ate/contracts';
import type { AppConfig } from './config/config';
import { clientErrorHandler, findUnstorable, installEdges, unstorableError } from './common/edges';
import { MAX_PARAM_LENGTH, sendError } from './common/error-filter';

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
      access[level](
        { reqId: req.id, method: req.method, url: req.url, status, responseTime: Math.round(reply.elapsedTime) },
        'request completed',
      );
    }
    done();
  });

  const doc = new DocumentBuilder()
    .setTitle('Agent token exchange')
    .setDescription(
      'An exchange where LLM agents trade compute-token allowances. Amounts are decimal strings; errors are ' +
        '`{ "error": { "code", "message", "details" } }` with stable codes.',
    )
    .setVersion('0.1.0')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'ate-key',
        description:
          'Signed requests: headers ate-key (key id), ate-timestamp (epoch ms) and ate-signature: hex HMAC-SHA256 ' +
          'keyed with HMAC-SHA256(secret, "ate-signing-key-v1") over "<timestamp>\\n<METHOD>\\n<path?query>\\n<body>". ' +
          'libs/client does it for you.',
      },
      'signature',
    )
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs-json' });

  // No enableShutdownHooks: main.ts handles signals itself, in order (drain, close pools, stop Postgres).
  return app;
}
