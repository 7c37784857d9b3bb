/**
 * Rejection codes of the auction and posted-price service (auctions and pools in the sequencer, apps/api/src/auctions).
 * Prefix AUCTION_. Never reuse, rename or renumber a code; add new ones at the end.
 */
export const AUCTION_CODES = {
  AUCTION_NOT_FOUND: { status: 404, message: 'No such auction.' },
  AUCTION_CLOSED: { status: 409, message: 'The auction takes no more bids (its deadline passed, or it was closed, settled or cancelled).' },
  AUCTION_BID_NOT_FOUND: { status: 404, message: 'You have no open bid in this auction.' },
  AUCTION_NOT_CLEARED: { status: 409, message: 'The auction has not been cleared yet; results are published once it is cleared.' },
  AUCTION_ALREADY_SETTLED: { status: 409, message: 'The auction is already settled or cancelled; nothing was done again.' },
  AUCTION_INVALID_DEADLINE: { status: 400, message: 'The deadline must be in the future and at most 30 days away.' },
  AUCTION_INSUFFICIENT_BALANCE: {
    status: 422,
    message: 'Not enough available funds to hold for this bid or purchase (or units to escrow); nothing was held.',
  },
  AUCTION_CLEARING_MISMATCH: { status: 409, message: 'The clearing does not match the auction as sequenced; nothing was settled.' },
  AUCTION_EXISTS: { status: 409, message: 'An auction or pool with this id exists already.' },
  AUCTION_POOL_NOT_FOUND: { status: 404, message: 'No such posted-price pool.' },
  AUCTION_NOT_CLOSED: { status: 409, message: 'The auction is still open (its deadline has not passed).' },
  AUCTION_UNKNOWN_ASSET: { status: 400, message: 'The asset is not one the exchange holds (or CREDIT, which cannot be sold here).' },
  AUCTION_ALREADY_CLEARED: { status: 409, message: 'The auction is already cleared: its clearing stands and only its settlement follows.' },
  AUCTION_CLIENT_ID_CONFLICT: {
    status: 409,
    message: 'This client id was already used for another bid or purchase (a different body); nothing was done.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type AuctionCode = keyof typeof AUCTION_CODES;
