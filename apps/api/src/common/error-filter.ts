import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { AppError, ERROR_CODES, ErrorBody, ErrorCode, isErrorCode } from '@ate/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { noteError } from '../metrics/http-metrics';
import { bounded, RouteTable, routeTableOf } from './edges';

/** Longest path parameter the router accepts (Fastify's maxParamLength, set in bootstrap.ts). */
export const MAX_PARAM_LENGTH = 100;

/** Fastify's own error codes (body parsing, limits, routing) mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  // router errors, reached through the frameworkErrors option (bootstrap.ts)
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: 'INTERNAL',
};

/** Our messages for Fastify's errors: theirs echo the input (the URL, the content type) in full. */
const FASTIFY_MESSAGES: Partial<Record<string, string>> = {
  FST_ERR_BAD_URL: 'The URL is not valid (a broken percent-encoding).',
  FST_ERR_MAX_PARAM_LENGTH: `A path parameter is longer than ${MAX_PARAM_LENGTH} characters.`,
};

/** Nest's HTTP statuses mapped to ours, for exceptions Nest raises itself (e.g. an unknown route). */
const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'VALIDATION_FAILED',
  [HttpStatus.UNAUTHORIZED]: 'AUTH_MISSING',
  [HttpStatus.FORBIDDEN]: 'AUTH_FORBIDDEN',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'METHOD_NOT_ALLOWED',
  [HttpStatus.CONFLICT]: 'CONFLICT',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'UNSUPPORTED_MEDIA_TYPE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'RATE_LIMITED',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
};

const logger = new Logger('Errors');

/** Caps every message and detail string we send: no answer echoes its input unbounded. */
function boundedBody(body: ErrorBody): ErrorBody {
  const { code, message, details } = body.error;
  const cut = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return bounded(v, 256);
    if (depth > 4 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.slice(0, 50).map((x) => cut(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [bounded(k, 64), cut(x, depth + 1)]));
  };
  return { error: { code, message: bounded(message, 300), ...(details ? { details: cut(details, 0) as Record<string, unknown> } : {}) } };
}

/**
 * Turns anything thrown into the one error shape `{ error: { code, message, details? } }` with its status.
 * Expected rejections (AppError) keep their code; unknown errors become 500 INTERNAL with the request id,
 * logged with their stack, and never leak internals to the client.
 */
export function toErrorResponse(err: unknown, requestId?: string, routes?: RouteTable): { status: number; body: ErrorBody; allow?: string } {
  const r = errorResponse(err, requestId, routes);
  return { ...r, body: boundedBody(r.body) };
}

/** The details a 5xx may carry to the client (what to do next); anything else in them stays in the log. */
const SERVER_ERROR_DETAILS = ['outcome', 'requestId'];

function errorResponse(err: unknown, requestId?: string, routes?: RouteTable): { status: number; body: ErrorBody; allow?: string } {
  if (err instanceof AppError) {
    if (err.status < 500 || !err.details) return { status: err.status, body: err.toBody() };
    // internal text (e.g. the engine's broken-state message) reaches the log, not the client
    const shown = Object.fromEntries(Object.entries(err.details).filter(([k]) => SERVER_ERROR_DETAILS.includes(k)));
    if (Object.keys(shown).length < Object.keys(err.details).length) logger.warn({ code: err.code, details: err.details, requestId }, err.message);
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(Object.keys(shown).length ? { details: shown } : {}) } },
    };
  }

  const fe = err as Partial<FastifyError>;
  if (typeof fe?.code === 'string' && FASTIFY_CODES[fe.code]) {
    const code = FASTIFY_CODES[fe.code];
    if (code === 'INTERNAL') logger.error({ err, requestId }, 'router error');
    const details = code === 'URI_TOO_LONG' ? { maxParamLength: MAX_PARAM_LENGTH } : code === 'INTERNAL' && requestId ? { requestId } : undefined;
    const message = FASTIFY_MESSAGES[fe.code] ?? ERROR_CODES[code].message;
    return { status: ERROR_CODES[code].status, body: { error: { code, message, ...(details ? { details } : {}) } } };
  }

  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse() as { code?: unknown; message?: unknown; details?: Record<string, unknown> } | string;
    if (typeof res === 'object' && isErrorCode(res.code)) {
      return {
        status,
        body: { error: { code: res.code, message: String(res.message ?? err.message), ...(res.details ? { details: res.details } : {}) } },
      };
    }
    const code: ErrorCode = STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
    const route = status === HttpStatus.NOT_FOUND ? /^Cannot ([A-Z]+) ([^?]*)/.exec(err.message) : null;
    if (route) return noRoute(route[1] as string, route[2] as string, routes);
    return { status, body: { error: { code, message: status >= 500 ? ERROR_CODES.INTERNAL.message : err.message } } };
  }

  // A Fastify error with a 4xx status we did not list (e.g. a bad header): keep the status, say what it was.
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code: ErrorCode = STATUS_CODES[fe.statusCode] ?? 'VALIDATION_FAILED';
    return {
      status: fe.statusCode,
      body: { error: { code, message: ERROR_CODES[code].message, ...(fe.code ? { details: { reason: fe.code } } : {}) } },
    };
  }

  logger.error({ err, requestId }, 'unhandled error');
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message, ...(requestId ? { details: { requestId } } : {}) } },
  };
}

/** A path no route has: 405 with `Allow` when other methods have it, else 404. The path is echoed cut short. */
function noRoute(method: string, path: string, routes?: RouteTable): { status: number; body: ErrorBody; allow?: string } {
  const methods = routes?.methodsFor(path) ?? [];
  if (methods.length > 0 && !methods.includes(method)) {
    const allow = methods.join(', ');
    return {
      status: 405,
      allow,
      body: { error: { code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed here; this path has ${allow}.`, details: { allow: methods } } },
    };
  }
  return { status: 404, body: { error: { code: 'ROUTE_NOT_FOUND', message: `No route for ${method} ${bounded(path, 100)}.` } } };
}

/** Sends an error in our shape on a Fastify reply (the filter, and Fastify's own frameworkErrors hook). */
export function sendError(reply: FastifyReply, err: unknown, requestId?: string, req?: FastifyRequest): void {
  const { status, body, allow } = toErrorResponse(err, requestId, routeTableOf(reply.server));
  noteError(req ?? (reply.request as FastifyRequest | undefined), body.error); // counted by the request metrics
  if (allow) void reply.header('allow', allow);
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

@Catch()
export class AllErrorsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    sendError(reply, exception, req?.id, req);
  }
}
