import { BUDGET_CODES } from './codes/budgets';
import { LEDGER_CODES } from './codes/ledger';
import { MATCHING_CODES } from './codes/matching';
import { MECHANISM_CODES } from './codes/mechanisms';
import { AUCTION_CODES } from './codes/auctions';
import { FEED_CODES } from './codes/feed';
import { REDEMPTION_CODES } from './codes/redemption';
import { APPROVAL_CODES } from './codes/approvals';

/**
 * The closed list of error codes. Expected rejections are values carrying one of these codes; only broken
 * invariants and infrastructure failures throw. A code is never reused, renamed or renumbered: add new ones
 * at the end of their group. Codes are grouped by subsystem prefix. The HTTP status is what the API answers.
 */
export const ERROR_CODES = {
  // --- generic request errors (API edge) ---
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request content type is not supported.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed on this route.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  CONFLICT: { status: 409, message: 'The request conflicts with the current state.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is not ready.' },
  URI_TOO_LONG: { status: 414, message: 'A path parameter is too long.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },

  // --- money and amounts (contracts/money) ---
  AMOUNT_INVALID: { status: 400, message: 'The amount is not a valid decimal string.' },
  AMOUNT_TOO_MANY_DECIMALS: { status: 400, message: 'The amount has more decimals than the asset allows.' },
  AMOUNT_NEGATIVE: { status: 400, message: 'The amount must not be negative.' },
  AMOUNT_OUT_OF_RANGE: { status: 400, message: 'The amount is beyond the allowed range.' },

  // --- authentication and authorisation ---
  AUTH_MISSING: { status: 401, message: 'Authentication is required.' },
  AUTH_INVALID_SIGNATURE: { status: 401, message: 'The request signature is not valid.' },
  AUTH_TIMESTAMP_OUT_OF_WINDOW: { status: 401, message: 'The request timestamp is outside the receive window.' },
  AUTH_REPLAYED: { status: 401, message: 'This signature was already used.' },
  AUTH_FORBIDDEN: { status: 403, message: 'This key may not do that.' },

  // --- subsystems: each keeps its own group in ./codes/<subsystem>.ts ---
  ...MATCHING_CODES,
  ...LEDGER_CODES,
  ...MECHANISM_CODES,
  ...AUCTION_CODES,
  ...BUDGET_CODES,
  ...FEED_CODES,
  ...REDEMPTION_CODES,
  ...APPROVAL_CODES,
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one JSON error shape of every API response that is not a success. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, x);
}

/** An expected rejection as a value. */
export interface Rejection<C extends ErrorCode = ErrorCode> {
  ok: false;
  code: C;
  message?: string;
  details?: Record<string, unknown>;
}

export function reject<C extends ErrorCode>(code: C, details?: Record<string, unknown>, message?: string): Rejection<C> {
  return { ok: false, code, ...(message ? { message } : {}), ...(details ? { details } : {}) };
}

/**
 * The error that crosses layers when a rejection must become an HTTP answer (the API maps it to ErrorBody).
 * Libraries return Rejection values; services may throw this to end a request.
 */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'AppError';
    this.status = ERROR_CODES[code].status;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}
