import { randomBytes } from 'node:crypto';
import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError, AUTH_RECV_WINDOW_MS, SIGNING_HEADERS, signatureMatches, signRequest } from '@ate/contracts';
import type { FastifyRequest } from 'fastify';
import { ApiKeysService } from './api-keys.service';
import { AuthContext, Role } from './auth.types';
import { IS_PUBLIC, ROLES_KEY } from './decorators';
import { ReplayCache, replayTtlMs } from './replay-cache';

/** Signs for unknown key ids: random per process, so no presented signature can match it by design. */
const NO_KEY = randomBytes(32);

type SignedRequest = FastifyRequest & { auth?: AuthContext; rawBody?: string };

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Verifies the HMAC signature of every non-public request, in this order (each failure a 401 with its code):
 * headers present, timestamp inside the receive window, key known and active, signature valid, not a replay.
 * Then the role check (403). The order is tested in auth.e2e.spec.ts.
 */
@Injectable()
export class SignatureGuard implements CanActivate {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly replays: ReplayCache,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<SignedRequest>();

    const keyId = header(req, SIGNING_HEADERS.key);
    const ts = header(req, SIGNING_HEADERS.timestamp);
    const sig = header(req, SIGNING_HEADERS.signature);
    if (!keyId || !ts || !sig) {
      throw new AppError('AUTH_MISSING', 'Sign the request: ate-key, ate-timestamp and ate-signature headers.', {
        missing: [!keyId && SIGNING_HEADERS.key, !ts && SIGNING_HEADERS.timestamp, !sig && SIGNING_HEADERS.signature].filter(Boolean),
      });
    }
    const now = Date.now();
    if (!/^[0-9]{1,16}$/.test(ts) || Math.abs(now - Number(ts)) > AUTH_RECV_WINDOW_MS) {
      throw new AppError(
        'AUTH_TIMESTAMP_OUT_OF_WINDOW',
        `ate-timestamp must be within ${AUTH_RECV_WINDOW_MS} ms of the server time (GET /v1/time).`,
        {
          serverTime: now,
          windowMs: AUTH_RECV_WINDOW_MS,
        },
      );
    }
    const key = await this.keys.lookup(keyId);
    // An unknown, revoked or suspended key answers exactly like a bad signature: no existence leak.
    // The HMAC is computed either way (with a key nobody holds for an unknown id), so the time does not tell them apart.
    const expected = signRequest(key?.signingKey ?? NO_KEY, ts, req.method, req.url, req.rawBody ?? '');
    if (!key || !signatureMatches(expected, sig)) throw new AppError('AUTH_INVALID_SIGNATURE');
    if (!(await this.replays.firstUse(sig, key.keyId, replayTtlMs(Number(ts), now), now))) throw new AppError('AUTH_REPLAYED');

    req.auth = { keyId: key.keyId, role: key.role, agentId: key.agentId, principalId: key.principalId };
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(key.role)) {
      // the caller's role is for the log; the answer says only what the route needs
      this.logger.warn({ keyId: key.keyId, role: key.role, required: roles, method: req.method, reqId: req.id }, 'forbidden: role');
      throw new AppError('AUTH_FORBIDDEN', `This needs a key with role ${roles.join(' or ')}.`, { required: roles });
    }
    return true;
  }
}
