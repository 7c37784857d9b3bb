/**
 * Rejection codes of the auction and posted-price mechanisms (libs/mechanisms). Prefix MECHANISM_.
 * Never reuse, rename or renumber a code; add new ones at the end.
 * Statuses: 400 malformed input, 409 duplicate, 413 beyond a documented size limit, 422 business rule,
 * 503 the solver could not answer (time limit, out of memory): nothing was decided, retry or cancel.
 */
export const MECHANISM_CODES = {
  MECHANISM_ZERO_UNITS: { status: 400, message: 'An auction or pool must offer at least one unit.' },
  MECHANISM_INVALID_AMOUNT: {
    status: 400,
    message: 'Units and prices must be integers within the allowed range (units positive, prices non-negative).',
  },
  MECHANISM_INVALID_BIDDER: { status: 400, message: 'A bidder id must be a non-empty string of at most 128 characters.' },
  MECHANISM_DUPLICATE_BIDDER: { status: 409, message: 'A bidder may submit only one bid (one schedule, or one XOR set of bundles).' },
  MECHANISM_EMPTY_BID: { status: 400, message: 'A bid needs at least one step or bundle.' },
  MECHANISM_INCREASING_SCHEDULE: { status: 400, message: 'Marginal prices must be non-increasing from one step to the next.' },
  MECHANISM_EMPTY_BUNDLE: { status: 400, message: 'A bundle must name at least one item, each at most once.' },
  MECHANISM_UNKNOWN_ITEM: { status: 400, message: 'The bundle names an item the auction does not offer.' },
  MECHANISM_INVALID_ITEM: {
    status: 400,
    message: 'Item ids must be distinct non-empty strings of at most 128 characters, each with a positive supply.',
  },
  MECHANISM_TOO_LARGE: { status: 413, message: 'The auction exceeds a documented size limit (bidders, steps, items or bundles).' },
  MECHANISM_SOLVER_FAILED: {
    status: 503,
    message: 'The solver did not prove an optimal integer answer (time limit, memory or numerical trouble); nothing was decided.',
  },
  MECHANISM_PRICE_ABOVE_MAX: { status: 422, message: 'The posted price is above the maximum price the buyer accepts; nothing was bought.' },
  MECHANISM_SUPPLY_EXHAUSTED: {
    status: 422,
    message: 'Not enough units are left at the posted price (supply cap or epoch capacity); nothing was bought.',
  },
  MECHANISM_INVALID_CONFIG: { status: 400, message: 'The mechanism configuration is not valid.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type MechanismCode = keyof typeof MECHANISM_CODES;
