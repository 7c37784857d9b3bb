/**
 * Rejection codes of the matching engine (libs/matching). Prefix MATCHING_.
 * Never reuse, rename or renumber a code; add new ones at the end.
 *
 * A new order is checked in this order (the first failing check answers): market state, invalid fields,
 * unknown owner, duplicate id, already expired, price band, post-only would cross, insufficient funds,
 * then the capacity limits (orders per agent, book full) and, for FOK, fillability.
 */
export const MATCHING_CODES = {
  MATCHING_MARKET_HALTED: { status: 422, message: 'The market is halted; it accepts no commands, cancels included.' },
  MATCHING_MARKET_CANCEL_ONLY: { status: 422, message: 'The market is in cancel-only state; only cancels are accepted.' },
  MATCHING_INVALID_TIMESTAMP: { status: 400, message: 'The command timestamp is not a safe integer or goes back in time.' },
  MATCHING_INVALID_ORDER_ID: { status: 400, message: 'The order id must be a positive safe integer.' },
  MATCHING_INVALID_SIDE: { status: 400, message: 'The side must be buy or sell.' },
  MATCHING_INVALID_PRICE: { status: 400, message: 'The price must be an integer number of ticks between 1 and the market maximum.' },
  MATCHING_INVALID_SIZE: { status: 400, message: 'The size must be an integer number of lots within the market minimum and maximum.' },
  MATCHING_INVALID_SPEND: { status: 400, message: 'The spend must be a positive integer number of credits within the market maximum.' },
  MATCHING_INVALID_TIME_IN_FORCE: {
    status: 400,
    message: 'The time in force is not valid for this order (GTD needs an expiry, post-only needs GTC or GTD).',
  },
  MATCHING_INVALID_STP_MODE: { status: 400, message: 'The self-trade prevention mode is not known.' },
  MATCHING_INVALID_CLIENT_ORDER_ID: { status: 400, message: 'The client order id must be a non-empty string of at most 64 characters.' },
  MATCHING_INVALID_COMMAND: { status: 400, message: 'The command type or a field of it is not valid.' },
  MATCHING_UNKNOWN_AGENT: { status: 404, message: 'The agent has no account in this market.' },
  MATCHING_DUPLICATE_ORDER_ID: { status: 409, message: 'The order id was already used in this market.' },
  MATCHING_DUPLICATE_CLIENT_ORDER_ID: { status: 409, message: 'The client order id is in use by an open order of this agent.' },
  MATCHING_ALREADY_EXPIRED: { status: 422, message: 'The GTD order expires at or before the command time.' },
  MATCHING_PRICE_OUTSIDE_BAND: { status: 422, message: 'The price is beyond the price band around the reference price.' },
  MATCHING_POST_ONLY_WOULD_CROSS: { status: 422, message: 'The post-only order would trade on arrival.' },
  MATCHING_INSUFFICIENT_FUNDS: { status: 422, message: 'The agent does not have enough available funds for this order.' },
  MATCHING_TOO_MANY_ORDERS: { status: 422, message: 'The agent has reached the maximum number of open orders in this market.' },
  MATCHING_BOOK_FULL: { status: 503, message: 'The order book of this market is full.' },
  MATCHING_FOK_NOT_FILLABLE: { status: 422, message: 'The fill-or-kill order cannot trade its full size now; nothing happened.' },
  MATCHING_UNKNOWN_ORDER: { status: 404, message: 'No open order with this id for this agent.' },
  MATCHING_AMEND_WOULD_CROSS: { status: 422, message: 'The amended price would trade; amends never trade.' },
  MATCHING_INSUFFICIENT_BALANCE: { status: 422, message: 'The withdrawal exceeds the available balance.' },
} as const satisfies Record<string, { status: number; message: string }>;

/**
 * Why an accepted order ended without filling (carried by the engine's `cancelled` event). These are outcomes,
 * not errors, so they have no HTTP status and are not part of ERROR_CODES. Same rules: never reuse or rename.
 */
export const MATCHING_CANCEL_REASONS = {
  MATCHING_CANCEL_BY_OWNER: 'Cancelled by its owner.',
  MATCHING_CANCEL_ALL: "Cancelled by the owner's cancel-all.",
  MATCHING_CANCEL_UNFILLED: 'The unfilled rest of an IOC or market order (no more liquidity, or the spend is used up).',
  MATCHING_CANCEL_PRICE_BAND: 'The market order reached the edge of the price band.',
  MATCHING_CANCEL_STP: 'Cancelled by self-trade prevention.',
  MATCHING_CANCEL_ALLOWANCE_EXPIRED: 'Cancelled by the exchange: the allowance it trades expired (its hold is released).',
} as const;

export type MatchingCode = keyof typeof MATCHING_CODES;
export type MatchingCancelReason = keyof typeof MATCHING_CANCEL_REASONS;
