/**
 * Codes of the live feed (apps/api/src/feed), sent in a subscribe ack, a `feed_error` event or a `connect_error`'s
 * data. Prefix FEED_. Never reuse, rename or renumber a code; add new ones at the end.
 */
export const FEED_CODES = {
  FEED_LIMIT_EXCEEDED: { status: 429, message: 'A feed limit was reached (details name it: limit, max).' },
  FEED_SLOW_CONSUMER: { status: 429, message: 'The client fell too far behind the feed and is disconnected; reconnect and resync.' },
  FEED_KEY_REVOKED: {
    status: 401,
    message: "The connection's API key was revoked (or its agent suspended): the server closed the connection.",
  },
} as const satisfies Record<string, { status: number; message: string }>;
