import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { AppError, ERROR_CODES, ErrorBody, ErrorCode, isErrorCode } from '@ate/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { noteError } from '../metrics/http-metrics';

/** Fastify's own error codes (body parsing, limits, routing) mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
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

/**
 * Turns anything thrown into the one error shape `{ error: { code, message, details? } }` with its status.
 * Expected rejections (AppError) keep their code; unknown errors become 500 INTERNAL with the request id,
 * logged with their stack, and never leak internals to the client.
 */
export function toErrorResponse(err: unknown, requestId?: string): { status: number; body: ErrorBody } {
  if (err instanceof AppError) return { status: err.status, body: err.toBody() };

  const fe = err as Partial<FastifyError>;
  if (typeof fe?.code === 'string' && FASTIFY_CODES[fe.code]) {
    const code = FASTIFY_CODES[fe.code];
    return { status: ERROR_CODES[code].status, body: { error: { code, message: fe.message ?? ERROR_CODES[code].message } } };
  }

  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse() as { code?: unknown; message?: unknown; details?: Record<string, unknown> } | string;
    if (typeof res === 'object' && isErrorCode(res.code)) {
      return { status, body: { error: { code: res.code, message: String(res.message ?? err.message), ...(res.details ? { details: res.details } : {}) } } };
    }
    const code: ErrorCode = STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
    const notFoundRoute = status === HttpStatus.NOT_FOUND && /^Cannot [A-Z]+ /.test(err.message);
    const finalCode: ErrorCode = notFoundRoute ? 'ROUTE_NOT_FOUND' : code;
    return { status, body: { error: { code: finalCode, message: status >= 500 ? ERROR_CODES.INTERNAL.message : err.message } } };
  }

  // A Fastify error with a 4xx status we did not list (e.g. a bad header): keep the status, say what it was.
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code: ErrorCode = STATUS_CODES[fe.statusCode] ?? 'VALIDATION_FAILED';
    return { status: fe.statusCode, body: { error: { code, message: fe.message ?? ERROR_CODES[code].message } } };
  }

  logger.error({ err, requestId }, 'unhandled error');
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message, ...(requestId ? { details: { requestId } } : {}) } },
  };
}

@Catch()
export class AllErrorsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    const { status, body } = toErrorResponse(exception, req?.id);
    noteError(req, body.error); // counted by the request metrics
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
