/** fast-check arbitraries for mixed command streams that exercise every rule on a small, crowded market. */
import type { MatchingCommand, StpMode } from '@ate/contracts';
import fc from 'fast-check';

const STP: StpMode[] = ['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel'];

/** One abstract step; `toCommands` turns a list of them into concrete commands (ids, times, targets). */
export type Step =
  | { k: 'limit'; agent: number; buy: boolean; price: number; lots: number; tif: number; post: boolean; stp: number; exp: number; coid: number }
  | { k: 'market'; agent: number; buy: boolean; lots: number; spend: number; bySpend: boolean; stp: number }
  | { k: 'cancel'; agent: number; pick: number; byClient: boolean }
  | { k: 'cancel_all'; agent: number }
  | { k: 'amend'; agent: number; pick: number; dPrice: number; lots: number }
  | { k: 'state'; s: number }
  | { k: 'funds'; agent: number; deposit: boolean; credit: boolean; amount: number }
  | { k: 'tick' }
  | { k: 'weird'; w: number };

const agent = fc.integer({ min: 0, max: 4 }); // agent 4 is never funded: unknown owner
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('limit' as const),
      agent,
      buy: fc.boolean(),
      price: fc.integer({ min: 86, max: 114 }),
      lots: fc.integer({ min: 1, max: 12 }),
      tif: fc.integer({ min: 0, max: 9 }),
      post: fc.boolean(),
      stp: fc.integer({ min: 0, max: 4 }),
      exp: fc.integer({ min: -2, max: 12 }),
      coid: fc.integer({ min: 0, max: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('market' as const),
      agent,
      buy: fc.boolean(),
      lots: fc.integer({ min: 1, max: 25 }),
      spend: fc.integer({ min: 1, max: 2500 }),
      bySpend: fc.boolean(),
      stp: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('cancel' as const), agent, pick: fc.nat(40), byClient: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cancel_all' as const), agent }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('amend' as const),
      agent,
      pick: fc.nat(40),
      dPrice: fc.integer({ min: -3, max: 3 }),
      lots: fc.integer({ min: 0, max: 14 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('state' as const), s: fc.integer({ min: 0, max: 9 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('funds' as const),
      agent,
      deposit: fc.boolean(),
      credit: fc.boolean(),
      amount: fc.integer({ min: 1, max: 3000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'tick' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('weird' as const), w: fc.integer({ min: 0, max: 7 }) }) },
);

export const streamArb = (maxLength: number) => fc.array(stepArb, { minLength: Math.min(20, maxLength), maxLength, size: 'max' });

/**
 * How abstract steps map onto a market: `px` maps the steps' prices (86..114 around 100) to ticks, `agentOf`
 * the abstract agents 0..4 to agent ids, `creditScale` multiplies credit amounts (deposits, withdrawals, spends).
 */
export interface StreamMapping {
  px?: (p: number) => number;
  agentOf?: (a: number) => number;
  creditScale?: number;
}

/** Turns steps into commands. Funds are tight enough that insufficient-funds rejections happen. */
export function toCommands(steps: Step[], mapping: StreamMapping = {}): MatchingCommand[] {
  const out = abstractCommands(steps);
  const px = mapping.px;
  const ag = mapping.agentOf;
  const k = mapping.creditScale ?? 1;
  if (px === undefined && ag === undefined && k === 1) return out;
  return out.map((c) => {
    const m = { ...c } as Record<string, unknown>;
    if (ag !== undefined && typeof m['agent'] === 'number') m['agent'] = ag(m['agent'] as number);
    if (px !== undefined && (c.type === 'limit' || c.type === 'amend') && typeof c.price === 'number') {
      m['price'] = px(Math.floor(c.price)) + (c.price - Math.floor(c.price));
    }
    if (c.type === 'market' && c.spend !== undefined) m['spend'] = c.spend * k;
    if ((c.type === 'deposit' || c.type === 'withdraw') && c.asset === 'credit') m['amount'] = c.amount * k;
    return m as unknown as MatchingCommand;
  });
}

function abstractCommands(steps: Step[]): MatchingCommand[] {
  const out: MatchingCommand[] = [];
  let ts = 1;
  for (const a of [0, 1, 2, 3]) {
    out.push({ type: 'deposit', ts, agent: a, asset: 'credit', amount: 2500 + 1000 * a });
    out.push({ type: 'deposit', ts, agent: a, asset: 'base', amount: 100 + 50 * a });
  }
  let nextId = 1;
  const ids: number[] = [];
  const coids: string[] = [];
  const priceOf = new Map<number, number>();
  for (const s of steps) {
    ts += s.k === 'tick' ? 3 : nextId % 3 === 0 ? 1 : 0;
    switch (s.k) {
      case 'limit': {
        const tif = s.tif < 5 ? 'GTC' : s.tif < 7 ? 'GTD' : s.tif < 9 ? 'IOC' : 'FOK';
        const id = nextId++;
        ids.push(id);
        priceOf.set(id, s.price);
        const coid = s.coid > 0 ? `c${s.coid}` : undefined;
        if (coid) coids.push(coid);
        out.push({
          type: 'limit',
          ts,
          orderId: id,
          agent: s.agent,
          side: s.buy ? 'buy' : 'sell',
          price: s.price,
          lots: s.lots,
          tif,
          ...(tif === 'GTD' ? { expiresAt: ts + s.exp } : {}),
          ...(s.post && s.tif % 2 === 0 ? { postOnly: true } : {}),
          ...(s.stp < 4 ? { stp: STP[s.stp] } : {}),
          ...(coid ? { clientOrderId: coid } : {}),
        });
        break;
      }
      case 'market': {
        const id = nextId++;
        out.push({
          type: 'market',
          ts,
          orderId: id,
          agent: s.agent,
          side: s.buy ? 'buy' : 'sell',
          ...(s.bySpend ? { spend: s.spend } : { lots: s.lots }),
          ...(s.stp < 4 ? { stp: STP[s.stp] } : {}),
        });
        break;
      }
      case 'cancel':
        if (s.byClient) out.push({ type: 'cancel_client', ts, agent: s.agent, clientOrderId: coids.length ? coids[s.pick % coids.length] : 'none' });
        else out.push({ type: 'cancel', ts, agent: s.agent, orderId: ids.length ? ids[ids.length - 1 - (s.pick % ids.length)] : 1 });
        break;
      case 'cancel_all':
        out.push({ type: 'cancel_all', ts, agent: s.agent });
        break;
      case 'amend': {
        const id = ids.length ? ids[ids.length - 1 - (s.pick % ids.length)] : 1;
        const old = priceOf.get(id) ?? 100;
        // half the amends keep the price (size changes), the others move it a few ticks
        const price = s.dPrice === 0 || s.pick % 2 === 0 ? old : old + s.dPrice * 2;
        priceOf.set(id, price);
        out.push({ type: 'amend', ts, agent: s.agent, orderId: id, price, lots: s.lots });
        break;
      }
      case 'state':
        out.push({ type: 'set_state', ts, state: s.s === 0 ? 'halted' : s.s === 1 ? 'cancel_only' : 'open' });
        break;
      case 'funds':
        out.push({ type: s.deposit ? 'deposit' : 'withdraw', ts, agent: s.agent, asset: s.credit ? 'credit' : 'base', amount: s.amount });
        break;
      case 'tick':
        out.push({ type: 'tick', ts });
        break;
      case 'weird': {
        // malformed or hostile commands: every one must be rejected without effect
        const w = s.w;
        if (w === 0) out.push({ type: 'tick', ts: ts - 5 });
        else if (w === 1) out.push({ type: 'limit', ts, orderId: Math.max(1, nextId - 2), agent: 1, side: 'buy', price: 100, lots: 1, tif: 'GTC' });
        else if (w === 2) out.push({ type: 'limit', ts, orderId: nextId, agent: 1, side: 'buy', price: 100.5, lots: 1, tif: 'GTC' });
        else if (w === 3) out.push({ type: 'market', ts, orderId: nextId, agent: 2, side: 'sell', lots: 1, spend: 5 });
        else if (w === 4) out.push({ type: 'limit', ts, orderId: nextId, agent: 2, side: 'sell', price: 100, lots: 1, tif: 'IOC', postOnly: true });
        else if (w === 5)
          out.push({ type: 'limit', ts, orderId: nextId, agent: 2, side: 'sell', price: 100, lots: 1, tif: 'GTC', stp: 'nope' as StpMode });
        else if (w === 6) out.push({ type: 'cancel_client', ts, agent: 1, clientOrderId: '' });
        else out.push({ type: 'nope', ts } as unknown as MatchingCommand);
        break;
      }
    }
  }
  return out;
}
