// `npm run -s ate -- METHOD PATH [JSON]`: a signed request from the command line (the curl of this exchange).
// Uses ATE_KEY / ATE_SECRET and ATE_URL (default http://127.0.0.1:$PORT, PORT default 3000). Prints the JSON answer.
import { AteClient, ateUrl, describeRequestError } from '@ate/client';

let url = '';

async function main(): Promise<void> {
  const [method, path, body] = process.argv.slice(2);
  if (!method || !path) throw new Error('usage: npm run -s ate -- METHOD PATH [JSON-BODY]');
  url = ateUrl();
  const c = new AteClient({ baseUrl: url, keyId: process.env['ATE_KEY'], secret: process.env['ATE_SECRET'] });
  await c.syncTime();
  const r = await c.raw(method.toUpperCase(), path, body === undefined ? undefined : JSON.parse(body), { signed: Boolean(process.env['ATE_KEY']) });
  console.log(JSON.stringify(r.body, null, 2));
  if (r.status >= 400) process.exit(1);
}

main().catch((e: unknown) => {
  console.error(url ? describeRequestError(e, url) : e instanceof Error ? e.message : String(e));
  process.exit(1);
});
