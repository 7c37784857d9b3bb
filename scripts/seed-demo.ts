// `npm run seed:demo`: on a running exchange (npm start), creates a demo allowance asset and market and two
// funded agents, and prints their keys and a first trade to try. Uses the admin key from ATE_KEY/ATE_SECRET,
// or the first admin key that `npm start` left in DATA_DIR/first-admin-key.json.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AteApiError, AteClient, ateUrl, describeRequestError } from '@ate/client';

const BASE = 'GPT-4O.1K';
const MARKET = `${BASE}-CREDIT`; // the market id (its symbol is BASE/CREDIT)
let baseUrl = '';

async function main(): Promise<void> {
  baseUrl = ateUrl();
  let keyId = process.env['ATE_KEY'];
  let secret = process.env['ATE_SECRET'];
  const file = resolve(process.env['DATA_DIR'] ?? '.data', 'first-admin-key.json');
  if ((!keyId || !secret) && existsSync(file)) ({ keyId, secret } = JSON.parse(readFileSync(file, 'utf8')));
  if (!keyId || !secret) throw new Error(`no admin key: set ATE_KEY and ATE_SECRET (printed by the first npm start) or keep ${file}`);
  const admin = new AteClient({ baseUrl, keyId, secret });
  await admin.syncTime();

  await admin.defineAsset({ code: BASE, scale: 0, model: 'gpt-4o', provider: 'openai', tokenClass: 'output-1k-tokens' });
  try {
    // one lot = one allowance of 1,000 output tokens; prices in credits per lot with a 0.001 tick
    await admin.createMarket({ base: BASE, tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 10_000, priceBandBps: 2000 });
  } catch (e) {
    if (!(e instanceof AteApiError && e.code === 'CONFLICT')) throw e;
  }
  const run = Date.now().toString(36);
  const buyer = await admin.createAgent({ name: `demo-buyer-${run}` });
  const seller = await admin.createAgent({ name: `demo-seller-${run}` });
  await admin.deposit({ id: `demo-${run}-credits`, agentId: buyer.id, asset: 'CREDIT', amount: '1000.000' });
  await admin.deposit({ id: `demo-${run}-tokens`, agentId: seller.id, asset: BASE, amount: '500' });
  const s = new AteClient({ baseUrl, ...seller.apiKey! });
  await s.placeOrder({ market: MARKET, side: 'sell', type: 'limit', price: '10.000', quantity: '50', clientOrderId: `demo-${run}-ask` });

  console.log(`demo market ${MARKET} is open on ${baseUrl}; the seller offers 50 lots at 10.000 credits each.\n`);
  console.log(`buyer  (1000 credits): ATE_KEY=${buyer.apiKey!.keyId} ATE_SECRET=${buyer.apiKey!.secret}`);
  console.log(`seller (500 lots):     ATE_KEY=${seller.apiKey!.keyId} ATE_SECRET=${seller.apiKey!.secret}\n`);
  console.log(
    JSON.stringify({ url: baseUrl, market: MARKET, buyer: { agentId: buyer.id, ...buyer.apiKey }, seller: { agentId: seller.id, ...seller.apiKey } }),
  );
}

main().catch((e: unknown) => {
  console.error(`seed:demo failed: ${baseUrl ? describeRequestError(e, baseUrl) : e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
