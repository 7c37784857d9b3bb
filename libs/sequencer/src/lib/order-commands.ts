import type { MatchingCommand } from '@ate/contracts';
import type { PlaceOrder } from './host-types';

/** The matching command of a place command's order (a new order, or one approved after it was held). */
export function limitOrMarket(o: PlaceOrder, ts: number, orderId: number, agent: number): MatchingCommand {
  const common = {
    ts,
    orderId,
    agent,
    side: o.side,
    ...(o.stp ? { stp: o.stp } : {}),
    ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
  };
  if (o.type === 'limit') {
    return {
      type: 'limit',
      ...common,
      price: o.price as number,
      lots: o.lots as number,
      tif: o.tif ?? 'GTC',
      ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}),
      ...(o.postOnly ? { postOnly: true } : {}),
    };
  }
  return { type: 'market', ...common, ...(o.lots !== undefined ? { lots: o.lots } : {}), ...(o.spend !== undefined ? { spend: o.spend } : {}) };
}
