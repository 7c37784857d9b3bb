import { str as crc32 } from 'crc-32';

/**
 * The live feed's wire protocol (socket.io at path FEED_PATH on the api): what the server sends and what a client
 * asks, shared by the api (apps/api/src/feed) and the subscriber helper (libs/client). Prices and quantities are
 * decimal strings as in REST (credits per unit, base-asset units); a level is [price, quantity].
 */

/** socket.io's path on the api's HTTP server. */
export const FEED_PATH = '/v1/feed';

/** What a signed handshake signs: `${timestamp}\nGET\n/v1/feed\n` (the REST scheme with an empty body). */
export const FEED_SIGNED_METHOD = 'GET';

/** Levels each side that the book checksum covers. */
export const FEED_CHECKSUM_DEPTH = 10;

export type FeedLevel = [price: string, quantity: string];

/**
 * The depths a book subscription may ask for (`{ channel: 'book', market, depth }`, Kraken's list below the
 * engine's 1,000-level view): the best `depth` levels of each side. Without `depth`, the whole view (1,000 levels).
 */
export const FEED_BOOK_DEPTHS = [10, 25, 100, 500] as const;
export type FeedBookDepth = (typeof FEED_BOOK_DEPTHS)[number];

/**
 * A book message. A snapshot replaces the local book; a delta carries the levels that changed between `prev` and
 * `seq` with their new quantity ("0" removes the level), and applies only to a book at `prev` (or, for a client
 * that started from `GET /v1/markets/:id/book`, a book whose seq is in [prev, seq): every level touched in that
 * span is in the delta). `seq` is the market's committed event sequence, the `seq` of the REST book.
 * `checksum` is `bookChecksum()` of the book after the message. `committedAt`: ms, when the api received the
 * oldest committed batch the message carries (the engine's commit, for the in-process engine).
 */
export interface FeedBookMessage {
  type: 'snapshot' | 'delta';
  market: string;
  /**
   * Set on a depth-limited subscription's messages: the book holds the best `depth` levels of each side, a level
   * leaving them comes as "0" and one entering them with its quantity. Such a delta applies to a book at `prev`
   * (from the feed's snapshot, not from REST); it is sent only when those levels changed, so `prev` may lag the
   * market's seq, and a snapshot's `seq` is the last change of those levels.
   */
  depth?: FeedBookDepth;
  seq: number;
  /** the seq of the book message before this one (null for a snapshot) */
  prev: number | null;
  bids: FeedLevel[];
  asks: FeedLevel[];
  checksum: number;
  committedAt: number;
}

/** Sent instead of a replay when the server's bounded buffer no longer holds what came after `since`; a snapshot follows. */
export interface FeedResyncRequired {
  market: string;
  /** the subscription's depth, when it asked for one */
  depth?: FeedBookDepth;
  since: number;
  reason: 'gap' | 'replay_unavailable';
}

export interface FeedTrade {
  market: string;
  /** `${market}:${event seq}`, the id REST gives the trade */
  id: string;
  seq: number;
  price: string;
  amount: string;
  takerSide: 'buy' | 'sell';
  ts: number;
}

export interface FeedTicker {
  market: string;
  seq: number;
  last: string | null;
  bid: string | null;
  ask: string | null;
  /** over the last 24 hours (refreshed from the trades table at most every few seconds) */
  baseVolume24h: string;
  quoteVolume24h: string;
  ts: number;
}

/** What happened to one of the agent's orders (the engine's event, formatted). */
export interface FeedOrderUpdate {
  type: 'order';
  event: 'accepted' | 'rejected' | 'cancelled' | 'expired' | 'reduced' | 'amended';
  market: string;
  orderId: string;
  side?: 'buy' | 'sell';
  price?: string;
  /** accepted: the quantity placed; reduced/amended: the quantity now open; cancelled/expired: the quantity taken off */
  quantity?: string;
  reason?: string;
}

export interface FeedFill {
  type: 'fill';
  market: string;
  /** `${market}:${event seq}` as in GET /v1/fills */
  id: string;
  orderId: string;
  side: 'buy' | 'sell';
  takerOrMaker: 'taker' | 'maker';
  price: string;
  amount: string;
  fee: { currency: string; cost: string };
}

/**
 * One of the agent's auction bids (the `auction_bid` events of the sequencer): placed (its maximum payment held),
 * withdrawn, and at the auction's end won (units, or the items of a combinatorial auction, and the payment), lost,
 * or released (the auction was cancelled). Credits as decimal strings, units as integer strings.
 */
export interface FeedAuctionBid {
  type: 'auction_bid';
  event: 'placed' | 'withdrawn' | 'won' | 'lost' | 'released';
  auctionId: string;
  /** placed: the credits held; withdrawn, released: the credits released */
  hold?: string;
  /** won: units (combinatorial: the number of items won, named in `items`) */
  units?: string;
  items?: string[];
  payment?: string;
}

export interface FeedBalance {
  type: 'balance';
  asset: string;
  total: string;
  used: string;
  free: string;
}

/**
 * One private update of an agent, in commit order. `seq` is the agent's own sequence on this api node
 * (consecutive: a jump is a gap); `commandSeq` the engine_command seq (the same on every node).
 */
export type FeedPrivateMessage = { agent: string; seq: number; commandSeq: number; ts: number } & (
  | FeedOrderUpdate
  | FeedFill
  | FeedBalance
  | FeedAuctionBid
);

/**
 * Sent instead of a private replay (a subscribe with `since` and `epoch`) when this api node cannot give every
 * private update after `since`: another node's or a restarted node's stream (`epoch` differs), or older than its
 * bounded buffer. The subscription is on from `seq` (the updates that follow carry seq + 1, ...); what came before
 * must be read again over REST (orders, fills, balances).
 */
export interface FeedPrivateResyncRequired {
  agent: string;
  since: number;
  /** the stream the client named (null: none) and the one it is on now */
  clientEpoch: string | null;
  epoch: string;
  seq: number;
  reason: 'other_stream' | 'replay_unavailable';
}

/**
 * The public `auctions` channel: each auction's life as committed: created (open for bids at once), closed,
 * settled (with `result`), cancelled. `seq` is the engine command's seq. Credits as decimal strings.
 */
export interface FeedAuction {
  event: 'created' | 'closed' | 'settled' | 'cancelled';
  auctionId: string;
  mechanism: string;
  sellerAgentId: string | null;
  /** multi-unit: the asset and units for sale ('' and '0' for a combinatorial auction) */
  asset: string;
  units: string;
  reservePrice: string;
  deadline: string;
  /** open bids when it happened (bid contents stay sealed) */
  bids: number;
  /** settled: units sold (combinatorial: items sold), the revenue in credits, the winners */
  result?: { unitsSold: string; revenue: string; winners: number };
  seq: number;
  ts: number;
}

export type FeedChannel = 'book' | 'trades' | 'ticker' | 'private' | 'auctions';

/** `subscribe` / `unsubscribe`: a public channel of a market, or the private channel of an agent (the key's own by default). */
export type FeedSubscribeRequest =
  /** `depth` (FEED_BOOK_DEPTHS): the best levels only; `since`: replay what came after it, else resync_required */
  | { channel: 'book'; market: string; depth?: FeedBookDepth; since?: number }
  | { channel: 'trades' | 'ticker'; market: string }
  | { channel: 'auctions' }
  /** `since` + `epoch` (from the ack or the last resync): replay what came after since, else private_resync_required */
  | { channel: 'private'; agent?: string; since?: number; epoch?: string };

/** The ack of a subscribe: ok, or the error (a stable code of libs/contracts with its details). */
export type FeedAck =
  | { ok: true; channel: FeedChannel; market?: string; depth?: FeedBookDepth; agent?: string; seq?: number; epoch?: string }
  | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

/** The `feed_error` event: a refusal or a limit (details name it: `{ limit, max }`), or why the server disconnects. */
export interface FeedError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Server -> client event names. */
export const FEED_EVENTS = {
  book: 'book',
  resync: 'resync_required',
  trade: 'trade',
  ticker: 'ticker',
  private: 'private',
  error: 'feed_error',
  privateResync: 'private_resync_required',
  auction: 'auction',
} as const;

/** A decimal string as the checksum writes it: without the decimal point and without leading zeros ("0.050" -> "50"). */
function digits(s: string): string {
  return s.replace('.', '').replace(/^0+/, '');
}

/** What one level adds to `bookChecksumString`: its price then its quantity, each as `digits` writes it. */
export function checksumPiece(price: string, quantity: string): string {
  return digits(price) + digits(quantity);
}

/**
 * The string the book checksum covers (Kraken v2 style): the best FEED_CHECKSUM_DEPTH asks (lowest first), then
 * the best FEED_CHECKSUM_DEPTH bids (highest first); for each level its price then its quantity, each without the
 * decimal point and leading zeros, all concatenated. `bids` and `asks` are best first.
 */
export function bookChecksumString(bids: readonly FeedLevel[], asks: readonly FeedLevel[]): string {
  let s = '';
  for (const [p, q] of asks.slice(0, FEED_CHECKSUM_DEPTH)) s += checksumPiece(p, q);
  for (const [p, q] of bids.slice(0, FEED_CHECKSUM_DEPTH)) s += checksumPiece(p, q);
  return s;
}

/** CRC32 (unsigned 32-bit) of a checksum string (`bookChecksumString`, or the same string built from cached pieces). */
export function checksumOf(s: string): number {
  return crc32(s) >>> 0;
}

/** CRC32 (unsigned 32-bit) of `bookChecksumString`. */
export function bookChecksum(bids: readonly FeedLevel[], asks: readonly FeedLevel[]): number {
  return checksumOf(bookChecksumString(bids, asks));
}
