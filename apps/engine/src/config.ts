import { engineRedisKeys } from '@ate/sequencer';
import { z } from 'zod';

/** Settings of a standalone engine node (the single-node default hosts the engine inside the api instead). */
export const EngineConfigSchema = z.object({
  DATABASE_URL: z
    .string()
    .url()
    .refine((s) => /^postgres(ql)?:\/\//.test(s), 'must start with postgres:// or postgresql://'),
  REDIS_URL: z
    .string()
    .url()
    .refine((s) => /^rediss?:\/\//.test(s), 'must start with redis:// or rediss://'),
  /** Prefix of every Redis key; the same as the api nodes' REDIS_PREFIX. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
    .default('ate'),
  /** Name of this node in heartbeats and the market lease; defaults to the host name and pid. */
  ENGINE_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional(),
  /** How often the node announces itself and renews its lease, in ms; both expire after 3 of these. */
  ENGINE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** Connections of the engine's Postgres pool: one for the batch being committed, the rest for look-ups of new agents. */
  ENGINE_DB_POOL_MAX: z.coerce.number().int().min(2).max(50).default(4),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type EngineConfig = z.infer<typeof EngineConfigSchema>;

export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(EngineConfigSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const r = EngineConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new Error(`invalid configuration: ${variable}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** Redis key under which a live engine node announces itself (value: JSON status, expires unless renewed). */
export const heartbeatKey = (nodeId: string, prefix = 'ate'): string => engineRedisKeys(prefix).heartbeat(nodeId);
