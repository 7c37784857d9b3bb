import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppError, AUTH_RECV_WINDOW_MS, FEED_PATH, FEED_SIGNED_METHOD, signatureMatches, signRequest } from '@ate/contracts';
import { ApiKeysService } from '../auth/api-keys.service';
import type { AuthContext } from '../auth/auth.types';
import { ReplayCache, replayTtlMs } from '../auth/replay-cache';

/** Signs for unknown key ids: random per process, so no presented signature can match it. */
const NO_KEY = randomBytes(32);

/**
 * The feed's handshake authentication: the REST signature scheme (libs/contracts signing.ts) over
 * `${timestamp}\nGET\n/v1/feed\n`, sent in socket.io's `auth` payload as `{ key, timestamp, signature }`: no
 * secret on the wire; the same receive window, key lookup (revoked and unknown keys look alike) and replay cache
 * as the REST guard (auth/signature.guard.ts), in the same order. No `auth` at all: a public connection.
 */
@Injectable()
export class FeedAuth {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly replays: ReplayCache,
  ) {}

  async verify(auth: unknown): Promise<AuthContext | null> {
    const a = (auth ?? {}) as Record<string, unknown>;
    const keyId = a['key'];
    const ts = a['timestamp'];
    const sig = a['signature'];
    if (keyId === undefined && ts === undefined && sig === undefined) return null;
    if (typeof keyId !== 'string' || typeof ts !== 'string' || typeof sig !== 'string' || !keyId || !ts || !sig)
      throw new AppError('AUTH_MISSING', 'Sign the handshake: auth { key, timestamp, signature }.');
    const now = Date.now();
    if (!/^[0-9]{1,16}$/.test(ts) || Math.abs(now - Number(ts)) > AUTH_RECV_WINDOW_MS)
      throw new AppError('AUTH_TIMESTAMP_OUT_OF_WINDOW', `timestamp must be within ${AUTH_RECV_WINDOW_MS} ms of the server time (GET /v1/time).`, {
        serverTime: now,
        windowMs: AUTH_RECV_WINDOW_MS,
      });
    const key = await this.keys.lookup(keyId);
    const expected = signRequest(key?.signingKey ?? NO_KEY, ts, FEED_SIGNED_METHOD, FEED_PATH, '');
    if (!key || !signatureMatches(expected, sig)) throw new AppError('AUTH_INVALID_SIGNATURE');
    if (!(await this.replays.firstUse(sig, key.keyId, replayTtlMs(Number(ts), now), now))) throw new AppError('AUTH_REPLAYED');
    return { keyId: key.keyId, role: key.role, agentId: key.agentId, principalId: key.principalId };
  }
}
