import { isIP } from 'node:net';
import { z } from 'zod';
import { redactUrl } from '@ate/contracts';

function isAddressOrRange(s: string): boolean {
  const [addr = '', bits, extra] = s.split('/');
  const v = isIP(addr);
  if (v === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128));
}

/**
 * Every setting of the api process, read from the environment once at start-up and validated here.
 * A bad value stops the process with one line naming the variable (see main.ts), never a stack trace.
 */
const port = z.coerce.number().int().min(1).max(65535);
const url = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((s) => protocols.some((p) => s.startsWith(p + '://')), `must start with ${protocols.join(':// or ')}://`);

export const ConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Loopback by default (the single node prints its first admin key); containers set 0.0.0.0 (the image does). */
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  /** Postgres to use. Unset: start an embedded Postgres with data under DATA_DIR. */
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  /**
   * Where the api applies migrations from (a role that owns the tables). Unset: DATABASE_URL. Set it when
   * DATABASE_URL is a role with only the rights of `ate_app` (docs/SECURITY.md).
   */
  MIGRATION_DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  /** Redis for scheduled jobs and multi-node transport. Unset: single node, in-process transport, no scheduled jobs. */
  REDIS_URL: url(['redis', 'rediss']).optional(),
  /** Prefix of every Redis key this deployment writes (several deployments may share one Redis). */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
    .default('ate'),
  /** Where the embedded Postgres keeps its data (only without DATABASE_URL). */
  DATA_DIR: z.string().min(1).default('.data'),
  /** Port of the embedded Postgres: its own, since 5432 may be a system Postgres. */
  EMBEDDED_PG_PORT: port.default(54329),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest request body in bytes. Orders are < 1 KiB; 64 KiB leaves room for batch calls and refuses floods. */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  /** How long SIGTERM waits for in-flight requests before closing anyway, in ms. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /**
   * Master key (base64 of 32 bytes) that seals API signing keys at rest. Unset: a key file created once
   * under DATA_DIR (fine for one node; set it explicitly where api nodes share a database).
   */
  MASTER_KEY: z
    .string()
    .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be the base64 of 32 bytes (openssl rand -base64 32)')
    .optional(),
  /** Bootstrap admin key (both or neither). Unset: the first start creates one and prints it once. */
  ADMIN_KEY_ID: z
    .string()
    .regex(/^ak_[a-z0-9]{16,32}$/, 'must look like ak_ followed by 16-32 of a-z0-9')
    .optional(),
  ADMIN_SECRET: z.string().min(32, 'must be at least 32 characters').max(256).optional(),
  /** Window of the request rate limits, in ms. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).default(10_000),
  /** Requests per window per API key (after the signature is verified): 500 per 10 s is 50/s sustained. */
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(1).max(10_000_000).default(500),
  /** Requests per window per source address (before signature work), to keep floods cheap. */
  RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).max(10_000_000).default(2_000),
  /** Unsigned requests to public routes (market data, server time) per window per address. */
  RATE_LIMIT_PUBLIC_PER_ADDRESS: z.coerce.number().int().min(1).max(10_000_000).default(600),
  /**
   * Proxies whose X-Forwarded-For is believed: comma-separated addresses or CIDR ranges (e.g. 10.0.0.0/8). The
   * client address is then the right-most X-Forwarded-For entry that is not itself a trusted proxy. Unset: the
   * socket's address (X-Forwarded-For is ignored).
   */
  TRUST_PROXY: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .refine((l) => l.length > 0 && l.every(isAddressOrRange), 'must be comma-separated IP addresses or CIDR ranges (e.g. 10.0.0.0/8,::1)')
    .optional(),
  /** Orders placed or amended per agent per ORDER_RATE_WINDOW_MS (all its keys together): 200 per second. */
  ORDER_RATE_PER_AGENT: z.coerce.number().int().min(1).max(10_000_000).default(200),
  ORDER_RATE_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(1_000),
  /** Set: GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset: /metrics is open (keep it off the public network). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(256).optional(),
  /** Connections in the api's Postgres pool. 10 suits a 2-core machine; the engine's batch writer has its own. */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /**
   * How often reconciliation runs by itself, ms (0: only on demand). A run that finds a violation halts every
   * market. With Redis the runs are a BullMQ job scheduler (one api node runs each); without, a timer.
   */
  RECONCILE_EVERY_MS: z.coerce.number().int().min(0).max(86_400_000).default(300_000),
  /**
   * Where the engine runs: `in-process` (the single-node default: this process hosts it, no Redis needed) or
   * `redis` (a standalone engine node, `apps/engine`, reached over Redis; needs REDIS_URL).
   */
  ENGINE_MODE: z.enum(['in-process', 'redis']).default('in-process'),
  /**
   * Redis mode: ms after an order is queued by which the engine must have started it; a command started later is
   * not executed (503, nothing was done). Covers an engine restart; short enough that a client's retry is timely.
   */
  ENGINE_COMMAND_DEADLINE_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /**
   * Redis mode: ms the api waits for the engine's reply before answering 503 with the outcome unknown. Longer than
   * the deadline plus a batch commit, so a command the engine started is normally answered.
   */
  ENGINE_REPLY_TIMEOUT_MS: z.coerce.number().int().min(200).max(120_000).default(10_000),
  /** The live feed (apps/api/src/feed): ms over which book deltas are conflated (0: one delta per committed batch). */
  FEED_CONFLATE_MS: z.coerce.number().int().min(0).max(1_000).default(50),
  /** Book deltas each market keeps to replay a reconnecting client's gap (beyond: resync_required + snapshot). */
  FEED_REPLAY_DELTAS: z.coerce.number().int().min(1).max(100_000).default(2_000),
  /** Subscriptions one feed connection may hold. */
  FEED_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Feed connections one API key may hold (across api nodes with Redis). */
  FEED_MAX_CONNECTIONS_PER_KEY: z.coerce.number().int().min(1).max(10_000).default(5),
  /** Bytes a feed client may leave unread before it is disconnected as a slow consumer (FEED_SLOW_CONSUMER). */
  FEED_CLIENT_BUFFER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  /** Subscribe requests per second a feed connection may make on average (a token bucket; beyond: FEED_LIMIT_EXCEEDED with retryAfterMs). */
  FEED_SUBSCRIBE_RATE: z.coerce.number().min(0.01).max(100_000).default(10),
  /** Subscribe requests a feed connection may make at once (the bucket's size; a reconnect resubscribes everything). */
  FEED_SUBSCRIBE_BURST: z.coerce.number().int().min(1).max(1_000_000).default(50),
  /** Private updates kept per followed agent on an api node, to replay a reconnecting client's gap. */
  FEED_PRIVATE_REPLAY: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** ms an api node keeps an agent's private stream (and its replay buffer) after its last follower there left. */
  FEED_PRIVATE_RETAIN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** ms between checks of the open feed connections' keys: a revoked key's connections close within about this. */
  FEED_KEY_CHECK_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
});

export type AppConfig = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`invalid configuration: ${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Settings whose value is a secret: an error names them but never shows them. */
const SECRET_SETTINGS = new Set(['ADMIN_SECRET', 'MASTER_KEY']);
const URL_SETTINGS = new Set(['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'REDIS_URL']);

/** A bad value as a configuration error may show it: secrets not at all, URLs without their password. */
function shown(variable: string, value: string | undefined): string {
  if (value === undefined) return 'null';
  if (SECRET_SETTINGS.has(variable)) return `a value of ${value.length} characters, not shown`;
  if (URL_SETTINGS.has(variable)) {
    const url = redactUrl(value);
    return url === null ? `a value of ${value.length} characters, not shown (it may hold a password)` : JSON.stringify(url);
  }
  return JSON.stringify(value);
}

/** Validates the environment. Empty strings count as unset (a common shell mistake: `DATABASE_URL= npm start`). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const r = ConfigSchema.superRefine((c, ctx) => {
    if (Boolean(c.ADMIN_KEY_ID) !== Boolean(c.ADMIN_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.ADMIN_KEY_ID ? 'ADMIN_SECRET' : 'ADMIN_KEY_ID'],
        message: 'set ADMIN_KEY_ID and ADMIN_SECRET together',
      });
    }
    if (c.ENGINE_MODE === 'redis' && !c.REDIS_URL) {
      ctx.addIssue({ code: 'custom', path: ['ENGINE_MODE'], message: 'ENGINE_MODE=redis needs REDIS_URL' });
    }
    if (c.ENGINE_REPLY_TIMEOUT_MS <= c.ENGINE_COMMAND_DEADLINE_MS) {
      ctx.addIssue({ code: 'custom', path: ['ENGINE_REPLY_TIMEOUT_MS'], message: 'must be longer than ENGINE_COMMAND_DEADLINE_MS' });
    }
  }).safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, `${issue?.message ?? 'invalid'} (got ${shown(variable, env[variable])})`);
  }
  return r.data;
}
