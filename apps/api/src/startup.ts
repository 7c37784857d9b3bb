import { redactUrl } from '@ate/contracts';
import { EmbeddedPostgresError } from '@ate/db';

/** What start-up knows when it fails: the settings a message may point to. */
export interface StartupContext {
  HOST: string;
  PORT: number;
  DATA_DIR: string;
  DATABASE_URL?: string;
  /** Whether DATABASE_URL was the operator's (else the embedded Postgres's own). */
  databaseFromEnv: boolean;
}

type Coded = Error & { code?: string; syscall?: string; path?: string; address?: string; port?: number };

/**
 * One line for a start-up failure that names its cause and the setting to change, e.g.
 * `port 3000 on 127.0.0.1 is taken by another program: set PORT to a free port (or stop that program)`.
 */
export function describeStartupError(e: unknown, c: StartupContext): string {
  if (e instanceof EmbeddedPostgresError) return e.message;
  // Node's connect to several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError, no message
  const err = (e instanceof AggregateError && e.errors.length ? e.errors[0] : e) as Coded | undefined;
  if (!(err instanceof Error)) return `unexpected failure: ${e === undefined ? 'no reason given' : String(e)}`;
  const db = c.databaseFromEnv
    ? `the database at ${c.DATABASE_URL ? (redactUrl(c.DATABASE_URL) ?? '(unparseable)') : '(none)'} (DATABASE_URL)`
    : 'the embedded PostgreSQL';
  switch (err.code) {
    case 'EADDRINUSE':
      if (err.syscall === 'listen') return `port ${c.PORT} on ${c.HOST} is taken by another program: set PORT to a free port (or stop that program)`;
      break;
    case 'EADDRNOTAVAIL':
      return `HOST ${c.HOST} is not an address of this machine: set HOST (127.0.0.1, or 0.0.0.0 for every interface)`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      if (err.syscall === 'listen') return `not allowed to listen on ${c.HOST}:${c.PORT}: set PORT to 1024 or above`;
      if (err.path) return `cannot write ${err.path} (${err.code}): set DATA_DIR to a directory this user can write (now ${c.DATA_DIR})`;
      break;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return `cannot reach ${db}: ${err.code}${err.address ? ` ${err.address}:${err.port}` : ''}: check DATABASE_URL (unset: an embedded PostgreSQL)`;
    case '28P01':
    case '28000':
      return `${db} refused the login: ${err.message}: check the user and password in DATABASE_URL`;
    case '3D000':
      return `${db}: ${err.message}: create it, or name another database in DATABASE_URL`;
  }
  return err.message || `${err.name} without a message${err.code ? ` (${err.code})` : ''}`;
}

/** The address the server is bound to, as it is (every interface is said so, not shown as loopback). */
export function listeningOn(a: string | { address: string; port: number } | null): string {
  if (!a || typeof a === 'string') return `listening on ${a ?? 'an unknown address'}`;
  if (a.address === '0.0.0.0' || a.address === '::')
    return `listening on every interface, port ${a.port} (${a.address}:${a.port}; from this machine http://127.0.0.1:${a.port})`;
  return `listening on http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
}
