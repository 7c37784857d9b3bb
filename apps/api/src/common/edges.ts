import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, ERROR_CODES, ErrorCode } from '@ate/contracts';
import type { FastifyInstance } from 'fastify';

/**
 * The api's edges that no route sees: text the database cannot hold, methods a path does not have, and HTTP the
 * parser refuses. Each answers in the one error shape with a stable code, echoing no input unbounded.
 */

/** Text Postgres cannot store as sent: NUL (refused by the server), a UTF-16 surrogate without its pair (stored as U+FFFD). */
const UNSTORABLE =
  // eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
  /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path (e.g. `body.items.2.name`) of the first string or key in `value` that the database cannot hold, or null. */
export function findUnstorable(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]]; // iterative: a deeply nested body must not overflow the stack
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return path;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (UNSTORABLE.test(k)) return `${path}.${bounded(k.replace(UNSTORABLE, '?'), 64)}`;
        stack.push([child, `${path}.${bounded(k, 64)}`]);
      }
    }
  }
  return null;
}

export function unstorableError(where: string): AppError {
  return new AppError('VALIDATION_FAILED', 'The request holds a character the exchange cannot store (NUL, or half of a UTF-16 surrogate pair).', {
    issues: [
      {
        path: where,
        message: 'NUL and unpaired surrogates are not allowed in any string',
        code: 'unstorable_character',
      },
    ],
  });
}

/** At most `max` characters of `s` (input echoed in an error is cut, never sent back whole). */
export function bounded(s: string, max = 128): string {
  return s.length <= max ? s : `${s.slice(0, max)}...`;
}

/** The routes by method, to tell 405 (the path exists with other methods, `Allow` lists them) from 404. */
export class RouteTable {
  private readonly routes: { parts: string[]; method: string }[] = [];

  add(methods: string | string[], url: string): void {
    for (const method of Array.isArray(methods) ? methods : [methods]) this.routes.push({ parts: url.split('/'), method: method.toUpperCase() });
  }

  /** The methods of every route whose pattern matches `path` (no query), sorted. */
  methodsFor(path: string): string[] {
    const segs = path.split('/');
    const methods = new Set<string>();
    for (const r of this.routes) if (matches(r.parts, segs)) methods.add(r.method);
    return [...methods].sort();
  }
}

function matches(parts: string[], segs: string[]): boolean {
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (p === '*') return true;
    const s = segs[i];
    if (s === undefined || (p.startsWith(':') ? s === '' : p !== s)) return false;
  }
  return parts.length === segs.length;
}

const ROUTE_TABLE = Symbol('ate:route-table');

/** Collects the route table (call before any route is registered) and checks every URL for unstorable text. */
export function installEdges(fastify: FastifyInstance): void {
  const table = new RouteTable();
  (fastify as unknown as Record<symbol, RouteTable>)[ROUTE_TABLE] = table;
  fastify.addHook('onRoute', (route) => table.add(route.method, route.url));
  fastify.addHook('onRequest', (req, _reply, done) => {
    const where = findUnstorable(req.params, 'path') ?? findUnstorable(req.query, 'query');
    done(where ? unstorableError(where) : undefined);
  });
}

/** The route table of the fastify instance `server` descends from (installEdges), if any. */
export function routeTableOf(server: unknown): RouteTable | undefined {
  return (server as Record<symbol, RouteTable | undefined> | undefined)?.[ROUTE_TABLE];
}

/** Fastify's `clientErrorHandler`: HTTP the parser refuses gets our shape too (Fastify's own would be `{ error: 'Bad Request' }`). */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'VALIDATION_FAILED';
  const { status } = ERROR_CODES[code];
  const message = code === 'VALIDATION_FAILED' ? 'The request is not valid HTTP.' : ERROR_CODES[code].message;
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
