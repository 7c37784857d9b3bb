/**
 * Rejection codes of redemptions (allowances consumed, with a signed receipt), allowance expiry, and the
 * operator's admin surface. Never reuse, rename or renumber a code; add new ones at the end.
 */
export const REDEMPTION_CODES = {
  ALLOWANCE_EXPIRED: {
    status: 422,
    message: 'The allowance has expired: it can no longer be redeemed, and its market takes no more orders.',
  },
  REDEMPTION_NOT_ALLOWANCE: { status: 422, message: 'Only allowance assets can be redeemed (credits cannot).' },
  REDEMPTION_INSUFFICIENT_BALANCE: {
    status: 422,
    message: 'The agent does not hold enough of the allowance available to redeem this amount (open orders hold the rest).',
  },
  REDEMPTION_CONFLICT: {
    status: 409,
    message: 'This redemption id was used already with another asset or amount; nothing was redeemed again.',
  },
  ADMIN_INVALID_CURSOR: { status: 400, message: 'The cursor is not one this list gave out.' },
  ADMIN_KEY_REVOKED: { status: 409, message: 'The API key is revoked already; a revoked key cannot be rotated.' },
} as const satisfies Record<string, { status: number; message: string }>;
