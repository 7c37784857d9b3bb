import type { ErrorBody } from '@ate/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { MetricsService } from './metrics.service';

type ApiError = ErrorBody['error'];
type Observe = (seconds: number) => void;
type Inc = () => void;

declare module 'fastify' {
  interface FastifyRequest {
    /** The error this request was answered with (set by the error filter), for the metrics. */
    ateError: ApiError | null;
  }
}

/** The error filter notes the error it answered with; the onResponse hook counts it. */
export function noteError(req: FastifyRequest | undefined, error: ApiError): void {
  if (req) req.ateError = error;
}

const PLACE_ORDER_ROUTE = '/v1/orders';

/**
 * Request metrics, recorded once per request in an onResponse hook. Each route gets its own hook (added when
 * the route is registered, through onRoute) that closes over its route pattern, so a request costs a map lookup
 * by method and by status for its label set's observer, then one observe (fast-metrics.ts): no label object
 * and no string is built per request. Unknown paths are counted under route "unmatched" by one global hook.
 * Installed before the app initialises (its routes are registered then).
 */
export function installHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.decorateRequest('ateError', null);
  const children = (route: string) => {
    const byMethod = new Map<string, Map<number, Observe>>();
    return (method: string, status: number): Observe => {
      let byStatus = byMethod.get(method);
      if (!byStatus) byMethod.set(method, (byStatus = new Map()));
      let observe = byStatus.get(status);
      if (!observe) {
        byStatus.set(status, (observe = metrics.requests.observer({ method, route, status_code: String(status) })));
      }
      return observe;
    };
  };

  const errorCounters = cached((code: string): Inc => {
    const child = metrics.errors.labels(code);
    return () => child.inc();
  });
  const rejected = cached((code: string): Inc => metrics.orders.incrementer({ result: 'rejected', code }));
  const accepted = metrics.orders.incrementer({ result: 'accepted', code: 'none' });
  const countError = (req: FastifyRequest): void => {
    const e = req.ateError;
    if (!e) return;
    errorCounters(e.code)();
    if (e.code === 'RATE_LIMITED') metrics.rateLimited.inc({ limit: String(e.details?.['limit'] ?? 'unknown') });
    const outcome = e.details?.['outcome'];
    if (e.code === 'SERVICE_UNAVAILABLE' && (outcome === 'not_executed' || outcome === 'unknown')) metrics.engineUnavailable.inc({ outcome });
  };

  const hookFor = (route: string, placeOrder: boolean): onResponseHookHandler => {
    const child = children(route);
    return (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const status = reply.statusCode;
      child(req.method, status)(reply.elapsedTime / 1000);
      if (status >= 400) countError(req);
      if (placeOrder && req.method === 'POST') {
        if (status < 400) accepted();
        else rejected(req.ateError?.code ?? 'unknown')();
      }
      done();
    };
  };

  fastify.addHook('onRoute', (route) => {
    const hook = hookFor(route.url, route.url === PLACE_ORDER_ROUTE);
    const prior = route.onResponse;
    route.onResponse = prior === undefined ? [hook] : Array.isArray(prior) ? [...prior, hook] : [prior, hook];
  });
  const unmatched = hookFor('unmatched', false);
  fastify.addHook('onResponse', (req, reply, done) => {
    if (req.is404) unmatched.call(fastify, req, reply, done);
    else done();
  });
}

function cached<T>(make: (key: string) => T): (key: string) => T {
  const m = new Map<string, T>();
  return (key) => {
    let v = m.get(key);
    if (v === undefined) m.set(key, (v = make(key)));
    return v;
  };
}
