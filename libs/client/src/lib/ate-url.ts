// One way to name the server for the command-line tools (`npm run ate`, `npm run seed:demo`) and any client
// configured from its environment: ATE_URL, else
// http://127.0.0.1:$PORT (the port `npm start` listens on; default 3000). Errors name the URL they tried.

/** The exchange's base URL from the environment. */
export function ateUrl(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env['ATE_URL'] || `http://127.0.0.1:${env['PORT'] || 3000}`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`ATE_URL is not a URL: ${JSON.stringify(raw)} (e.g. http://127.0.0.1:3000)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`ATE_URL must start with http:// or https:// (got ${JSON.stringify(raw)})`);
  return raw.replace(/\/+$/, '');
}

/** Where the URL came from, for messages. */
export function ateUrlSource(env: NodeJS.ProcessEnv = process.env): string {
  if (env['ATE_URL']) return 'ATE_URL';
  return env['PORT'] ? 'from PORT; set ATE_URL to name another server' : 'the default; set ATE_URL or PORT';
}

/** A failure of a request to `url`, as one line naming the URL (fetch itself says only "fetch failed"). */
export function describeRequestError(e: unknown, url: string, env: NodeJS.ProcessEnv = process.env): string {
  const cause = (e as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (e instanceof TypeError && cause) {
    return `cannot reach the exchange at ${url} (${ateUrlSource(env)}): ${cause.code ?? cause.message ?? 'fetch failed'}. Is it running (npm start)?`;
  }
  return `${url}: ${e instanceof Error ? e.message : String(e)}`;
}
