import { ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerRequest } from '@nestjs/throttler';
import { AppError } from '@ate/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/auth.types';
import { IS_PUBLIC } from '../auth/decorators';

/**
 * Named limits (requests per window). Defaults suit one agent on a 2-core node and are set per deployment:
 *  - per source address, before any signature work, so floods of unsigned or forged requests stay cheap;
 *  - per API key, after the signature is verified (a forged request cannot spend someone else's budget);
 *  - per address on public routes (unsigned market data), tighter than the address limit, never the key limit.
 */
export const THROTTLE_IP = 'ip';
export const THROTTLE_KEY = 'default'; // the standard RateLimit-* headers (no suffix) describe the key's limit
/** Orders placed or amended per agent (not per key: an agent with many keys gets one budget). */
export const THROTTLE_ORDERS = 'orders';
/** Unsigned requests to public routes (market data, server time) per address: their own, tighter budget. */
export const THROTTLE_PUBLIC = 'public';

/** Each limit's names: in the 429 message, in its details, and as its policy in the RateLimit fields. */
const LIMIT_NAMES: Record<string, { label: string; detail: string; policy: string }> = {
  [THROTTLE_IP]: { label: 'per address', detail: 'requests_per_address', policy: 'address' },
  [THROTTLE_KEY]: { label: 'per key', detail: 'requests_per_key', policy: 'key' },
  [THROTTLE_ORDERS]: { label: 'orders per agent', detail: 'orders_per_agent', policy: 'orders' },
  [THROTTLE_PUBLIC]: { label: 'public routes per address', detail: 'public_requests_per_address', policy: 'public' },
};

/** Appends one item to a structured-field list header (several limits report on one response). */
function appendItem(reply: FastifyReply, name: string, item: string): void {
  const prev = reply.getHeader(name);
  void reply.header(name, prev ? `${String(prev)}, ${item}` : item);
}

/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "<name>";q=<quota>;w=<window s>`
 * and `RateLimit: "<name>";r=<remaining>;t=<s until reset>`, one item per limit that counted the request, in the
 * order they ran. Seconds are rounded up (a window under a second shows as w=1).
 */
function reportLimit(reply: FastifyReply, policy: string, quota: number, windowMs: number, remaining: number, resetSec: number): void {
  appendItem(reply, 'RateLimit-Policy', `"${policy}";q=${quota};w=${Math.max(1, Math.ceil(windowMs / 1000))}`);
  appendItem(reply, 'RateLimit', `"${policy}";r=${remaining};t=${Math.max(0, Math.ceil(resetSec))}`);
}

/** Marks the routes that count against the order-rate limit (placing and amending orders). */
export const ORDER_RATE = 'ate:order-rate';
export const OrderRateLimited = (): MethodDecorator => SetMetadata(ORDER_RATE, true);
export const isOrderRoute = (ctx: ExecutionContext): boolean => Reflect.getMetadata(ORDER_RATE, ctx.getHandler()) === true;
export const isPublicRoute = (ctx: ExecutionContext): boolean =>
  Reflect.getMetadata(IS_PUBLIC, ctx.getHandler()) === true || Reflect.getMetadata(IS_PUBLIC, ctx.getClass()) === true;
export const trackByAgent = (req: Record<string, unknown>): string => {
  const r = req as unknown as Req;
  return r.auth?.agentId ? `agent:${r.auth.agentId}` : `ip:${addressKey(r.ip)}`;
};

type Req = FastifyRequest & { auth?: AuthContext };

/**
 * The budget an address draws on: an IPv4 address as is, an IPv6 address by its /64 (one host or customer gets a
 * /64 and can rotate through it), an IPv4-mapped IPv6 address as its IPv4. `req.ip` is the socket's address, or
 * the client's from X-Forwarded-For when the socket is a trusted proxy (TRUST_PROXY).
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!ip.includes(':')) return ip;
  const [head = '', tail] = ip.toLowerCase().split('%')[0]!.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export const trackByIp = (req: Record<string, unknown>): string => addressKey(String((req as unknown as Req).ip));
export const trackByKey = (req: Record<string, unknown>): string => {
  const r = req as unknown as Req;
  return r.auth ? `key:${r.auth.keyId}` : `ip:${addressKey(r.ip)}`;
};

/** One budget per tracker across all routes (the library's default keys budgets per route). */
export const budgetKey =
  (prefix: string) =>
  (_ctx: ExecutionContext, tracker: string, throttler: string): string =>
    `${prefix}:rl:${throttler}:${tracker}`;

/** Shared behaviour: IETF-style RateLimit-* headers, and a 429 in our error shape that names the limit. */
abstract class LimitGuard extends ThrottlerGuard {
  protected abstract readonly applies: string;

  /** Each guard runs its own limit only (the library's guard walks every configured throttler, with six
   * metadata lookups each, on every request). */
  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    this.throttlers = this.throttlers.filter((t) => t.name === this.applies);
  }

  /** Counts the request against this guard's limit, reports the limit in the RateLimit fields, 429 past it. */
  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = props;
    const { req, res } = this.getRequestResponse(context);
    const name = throttler.name as string;
    const key = generateKey(context, await getTracker(req, context), name);
    let r: Awaited<ReturnType<typeof this.storageService.increment>>;
    try {
      r = await this.storageService.increment(key, ttl, limit, blockDuration, name);
    } catch {
      // fail closed: a request whose limit cannot be counted (Redis away) is not served
      throw new AppError('SERVICE_UNAVAILABLE', 'Rate limits cannot be checked right now (Redis unavailable); nothing was done.');
    }
    const reply = res as FastifyReply;
    const remaining = Math.max(0, limit - r.totalHits);
    reportLimit(
      reply,
      (LIMIT_NAMES[this.applies] as { policy: string }).policy,
      limit,
      ttl,
      remaining,
      r.isBlocked ? r.timeToBlockExpire : r.timeToExpire,
    );
    if (this.applies === THROTTLE_KEY) {
      // the earlier, unnamed fields describe the per-key limit (kept for clients that read them)
      void reply
        .header('RateLimit-Limit', String(limit))
        .header('RateLimit-Remaining', String(remaining))
        .header('RateLimit-Reset', String(r.timeToExpire));
    }
    if (r.isBlocked)
      await this.throwThrottlingException(context, {
        limit,
        ttl,
        key,
        tracker: '',
        totalHits: r.totalHits,
        timeToExpire: r.timeToExpire,
        isBlocked: true,
        timeToBlockExpire: r.timeToBlockExpire,
      });
    return true;
  }

  protected override async throwThrottlingException(ctx: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const retryAfterSec = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    void reply.header('retry-after', String(retryAfterSec));
    const name = LIMIT_NAMES[this.applies] as { label: string; detail: string };
    throw new AppError('RATE_LIMITED', `Rate limit "${name.label}" reached.`, {
      limit: name.detail,
      max: detail.limit,
      windowMs: detail.ttl,
      remaining: 0,
      retryAfterMs: retryAfterSec * 1000,
    });
  }
}

@Injectable()
export class IpLimitGuard extends LimitGuard {
  protected readonly applies = THROTTLE_IP;
}

@Injectable()
export class KeyLimitGuard extends LimitGuard {
  protected readonly applies = THROTTLE_KEY;
}

@Injectable()
export class PublicLimitGuard extends LimitGuard {
  protected readonly applies = THROTTLE_PUBLIC;
}

@Injectable()
export class OrderLimitGuard extends LimitGuard {
  protected readonly applies = THROTTLE_ORDERS;
}
