import { z } from 'zod';
import { FEED_BOOK_DEPTHS, FeedBookDepth, FeedBookMessage, FeedResyncRequired } from '@ate/contracts';
import type { FeedBook } from './feed-book';

/** A book subscription's `depth`: one of FEED_BOOK_DEPTHS (absent: the whole 1,000-level view). */
export const BookDepth = z
  .number()
  .int()
  .refine((d): d is FeedBookDepth => (FEED_BOOK_DEPTHS as readonly number[]).includes(d), {
    message: `depth is one of ${FEED_BOOK_DEPTHS.join(', ')} (levels a side), or absent for the whole book`,
  });

/** The room of a market's book: the whole view, or a depth-limited one. */
export const bookRoom = (market: string, depth?: FeedBookDepth): string => (depth === undefined ? `book:${market}` : `book:${market}@${depth}`);

/**
 * What a client joining a market's book is sent, in order, by either endpoint (socket.io, plain WebSocket): with
 * `since` the deltas after it when the replay buffer holds them, else a `resync_required` (when it gave `since`)
 * and a snapshot. `replayed`: null without `since`. Its seq is the one its next message continues from.
 */
export function bookJoin(
  fb: FeedBook,
  market: string,
  since: number | undefined,
  depth: FeedBookDepth | undefined,
  now: number,
): { replayed: boolean | null; resync: FeedResyncRequired | null; book: FeedBookMessage[]; seq: number } {
  const seq = fb.seqOf(depth);
  const replay = since === undefined ? null : fb.since(since, depth);
  if (replay) return { replayed: true, resync: null, book: replay, seq };
  const resync: FeedResyncRequired | null =
    since === undefined ? null : { market, ...(depth === undefined ? {} : { depth }), since, reason: 'replay_unavailable' };
  return { replayed: since === undefined ? null : false, resync, book: [fb.snapshot(now, depth)], seq };
}
