/**
 * The scenario behind `snapshot-format2.json`: two markets sharing a balance view, with resting orders of every
 * kind the order pool packs (first and last tick of 2^20, both sides, every STP mode, post-only, GTD, client
 * order ids, the largest size, partial fills, an amend that lost priority), then commands run after the snapshot.
 * The fixture was recorded by the code before the 44-byte order layout (main at ff0a514): its format-2 snapshot
 * document (gzip, base64), each market's book hash and the view's held hash, and the events and hashes of the
 * continuation, so that the spec proves a snapshot written then restores to the same state and goes on alike.
 */
import type { MatchingCommand } from '@ate/contracts';
import { DEFAULT_MARKET_CONFIG, type MarketConfig } from '@ate/matching';

export const FORMAT2_ASSETS = ['CREDIT', 'EDGE', 'MID'];
export const FORMAT2_AGENTS_MAX = 64;
const TOP = 2 ** 20;

export const FORMAT2_CONFIGS: MarketConfig[] = [
  {
    ...DEFAULT_MARKET_CONFIG,
    marketId: 'EDGE-CREDIT',
    baseAsset: 'EDGE',
    maxPriceTicks: TOP,
    initialPriceTicks: TOP / 2,
    priceBandBps: 10_000,
    maxOrderLots: 2 ** 31 - 1,
    ordersPerAgentMax: 100,
  },
  {
    ...DEFAULT_MARKET_CONFIG,
    marketId: 'MID-CREDIT',
    baseAsset: 'MID',
    tickSize: 3,
    lotSize: 5,
    maxPriceTicks: 1_000,
    initialPriceTicks: 500,
    priceBandBps: 2_000,
    maxOrderLots: 1_000,
    defaultStp: 'decrement_cancel',
  },
];

type Step = [marketId: string, command: MatchingCommand];
const E = 'EDGE-CREDIT';
const M = 'MID-CREDIT';

/** the commands before the snapshot */
export function format2Before(): Step[] {
  const s: Step[] = [];
  for (const agent of [1, 2, 3, 4]) {
    s.push([E, { type: 'deposit', ts: 1, agent, asset: 'credit', amount: 2 ** 50 }]);
    s.push([E, { type: 'deposit', ts: 1, agent, asset: 'base', amount: 2 ** 40 }]);
    s.push([M, { type: 'deposit', ts: 1, agent, asset: 'base', amount: 1e9 }]);
  }
  let id = 0;
  const lim = (m: string, ts: number, o: Omit<Extract<MatchingCommand, { type: 'limit' }>, 'type' | 'ts' | 'orderId'>) =>
    s.push([m, { type: 'limit', ts, orderId: ++id, ...o }]);
  lim(E, 2, { agent: 1, side: 'buy', price: 1, lots: 2 ** 31 - 1, tif: 'GTC', postOnly: true, stp: 'decrement_cancel', clientOrderId: 'first-tick' });
  lim(E, 2, { agent: 2, side: 'sell', price: TOP, lots: 2 ** 31 - 1, tif: 'GTD', expiresAt: 1e12, stp: 'cancel_maker', clientOrderId: 'last-tick' });
  lim(E, 2, { agent: 2, side: 'sell', price: TOP - 1, lots: 40, tif: 'GTC', stp: 'cancel_both', postOnly: true });
  lim(E, 2, { agent: 3, side: 'buy', price: 2, lots: 9, tif: 'GTD', expiresAt: 50, stp: 'cancel_taker' });
  lim(E, 3, { agent: 4, side: 'buy', price: TOP - 1, lots: 15, tif: 'IOC' }); // fills 15 of the 40
  lim(M, 3, { agent: 1, side: 'buy', price: 480, lots: 20, tif: 'GTC', clientOrderId: 'm-1' });
  lim(M, 3, { agent: 2, side: 'buy', price: 480, lots: 7, tif: 'GTC' });
  lim(M, 3, { agent: 3, side: 'sell', price: 520, lots: 11, tif: 'GTD', expiresAt: 40, stp: 'cancel_both' });
  lim(M, 4, { agent: 4, side: 'sell', price: 481, lots: 3, tif: 'GTC' });
  lim(M, 4, { agent: 2, side: 'sell', price: 480, lots: 5, tif: 'IOC' }); // trades with agent 1 at 480
  s.push([M, { type: 'amend', ts: 5, orderId: 6, agent: 1, price: 479, lots: 10 }]); // loses priority
  s.push([M, { type: 'amend', ts: 5, orderId: 7, agent: 2, price: 480, lots: 6 }]); // keeps it
  lim(M, 6, { agent: 1, side: 'sell', price: 570, lots: 2, tif: 'GTC', postOnly: true, clientOrderId: 'm-2' });
  return s;
}

/** the commands after it (ids after the last one above) */
export function format2After(): Step[] {
  return [
    [E, { type: 'limit', ts: 10, orderId: 20, agent: 3, side: 'buy', price: TOP, lots: 30, tif: 'GTC', stp: 'cancel_maker' }],
    [E, { type: 'cancel_client', ts: 11, agent: 1, clientOrderId: 'first-tick' }],
    [M, { type: 'market', ts: 12, orderId: 21, agent: 3, side: 'sell', lots: 12 }],
    [M, { type: 'tick', ts: 45 }],
    [E, { type: 'tick', ts: 60 }],
    [M, { type: 'cancel_all', ts: 61, agent: 1 }],
    [E, { type: 'amend', ts: 62, orderId: 2, agent: 2, price: TOP - 5, lots: 100 }],
  ];
}
