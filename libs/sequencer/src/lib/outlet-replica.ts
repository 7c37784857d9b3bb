import type { HostCommand, HostMarket } from './host-types';
import type { CommittedBatch, CommittedEvent } from './outlet';

/** Test helpers of the event outlet: a subscriber that rebuilds state from events, and random host commands. */

/**
 * What a subscriber knows from the committed events alone: each book (price -> lots per side, with the market's
 * last event seq; a gap throws) and each agent's balances, the command seqs it saw, and the trades.
 */
export class OutletReplica {
  readonly books = new Map<string, { buy: Map<number, number>; sell: Map<number, number>; seq: number }>();
  readonly balances = new Map<string, { total: bigint; reserved: bigint }>();
  readonly seqs: number[] = [];
  readonly trades: CommittedEvent[] = [];

  apply(batch: Pick<CommittedBatch, 'commands' | 'seq'>): void {
    const last = batch.commands[batch.commands.length - 1];
    if (last && last.seq !== batch.seq) throw new Error(`a batch says seq ${batch.seq}, its last command is ${last.seq}`);
    for (const c of batch.commands) {
      this.seqs.push(c.seq);
      for (const e of c.events) this.event(c.marketId, e);
    }
  }

  private event(marketId: string | null, e: CommittedEvent): void {
    if (e.kind === 'balance') {
      this.balances.set(`${e.agentId} ${e.asset}`, { total: e.total, reserved: e.reserved });
      return;
    }
    if (e.kind === 'auction' || e.kind === 'auction_bid') return; // no market's
    const id = marketId as string;
    let b = this.books.get(id);
    if (!b) this.books.set(id, (b = { buy: new Map(), sell: new Map(), seq: 0 }));
    // every engine event of a market, in order, with consecutive sequence numbers: a gap would be visible
    if (e.seq !== b.seq + 1) throw new Error(`market ${id}: event seq ${e.seq} after ${b.seq}`);
    b.seq = e.seq;
    if (e.kind === 'book') {
      const side = b[e.side];
      if (e.lots === 0) side.delete(e.price);
      else side.set(e.price, e.lots);
    } else if (e.kind === 'trade') this.trades.push(e);
  }

  levels(marketId: string): { bids: [number, number][]; asks: [number, number][] } {
    const b = this.books.get(marketId);
    const sorted = (m: Map<number, number> | undefined, dir: number) => [...(m ?? new Map<number, number>())].sort((x, y) => dir * (x[0] - y[0]));
    return { bids: sorted(b?.buy, -1), asks: sorted(b?.sell, 1) };
  }

  /**
   * Where this replica and a host's state disagree (each book's levels and event seq; each agent's balance of each
   * asset): one line per difference, none when the events rebuilt the host exactly.
   */
  differences(host: ReplicaSource, world: { markets: readonly string[]; agents: readonly string[]; assets: readonly string[] }): string[] {
    const out: string[] = [];
    const show = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x));
    for (const id of world.markets) {
      const e = host.market(id)?.engine;
      if (!e) {
        out.push(`market ${id}: not on the host`);
        continue;
      }
      const [mine, theirs] = [this.levels(id), e.depth(100_000)];
      if (show(mine) !== show(theirs)) out.push(`market ${id}: levels ${show(mine)} != ${show(theirs)}`);
      const seq = this.books.get(id)?.seq ?? 0;
      if (seq !== e.sequence) out.push(`market ${id}: event seq ${seq} != ${e.sequence}`);
    }
    for (const agentId of world.agents)
      for (const asset of world.assets) {
        const [mine, theirs] = [this.balances.get(`${agentId} ${asset}`), host.holdings(agentId, asset)];
        // an agent the events never named holds nothing on the host either
        if (show(mine ?? { total: 0n, reserved: 0n }) !== show(theirs)) out.push(`${agentId} ${asset}: ${show(mine)} != ${show(theirs)}`);
      }
    return out;
  }
}

/** What `differences` reads of a host (an EngineHost, or one recovered from the database). */
export interface ReplicaSource {
  market(id: string): Pick<HostMarket, 'engine'> | undefined;
  holdings(agentId: string, asset: string): { total: bigint; reserved: bigint };
}

/** One random command of a random agent (orders near the reference price 1000 so they trade). */
export function randomHostCommand(
  rnd: () => number,
  i: number,
  placed: Map<string, number[]>,
  world: { agents: readonly string[]; markets: readonly string[]; assets: readonly string[] },
): HostCommand {
  const { agents: AGENTS, markets: MARKETS, assets: ASSETS } = world;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T;
  const agentId = pick(AGENTS);
  const marketId = pick(MARKETS);
  const r = rnd();
  if (r < 0.06)
    return {
      kind: 'funds',
      op: rnd() < 0.7 ? 'deposit' : 'withdraw',
      agentId,
      asset: pick(ASSETS),
      amount: BigInt(1 + Math.floor(rnd() * 50_000)),
      transferId: `f-${i}`,
    };
  const mine = placed.get(agentId) ?? [];
  if (r < 0.16 && mine.length > 0) return { kind: 'cancel', marketId, agentId, orderId: pick(mine) };
  if (r < 0.2 && mine.length > 0)
    return { kind: 'amend', marketId, agentId, orderId: pick(mine), price: 990 + Math.floor(rnd() * 20), lots: 1 + Math.floor(rnd() * 9) };
  if (r < 0.22) return { kind: 'cancel_all', agentId, ...(rnd() < 0.5 ? { marketId } : {}) };
  if (r < 0.3)
    return {
      kind: 'place',
      marketId,
      agentId,
      order: {
        type: 'market',
        side: rnd() < 0.5 ? 'buy' : 'sell',
        ...(rnd() < 0.5 ? { lots: 1 + Math.floor(rnd() * 6) } : { spend: 1 + Math.floor(rnd() * 20_000) }),
      },
    };
  const tif = pick(['GTC', 'GTC', 'GTC', 'IOC', 'FOK'] as const);
  return {
    kind: 'place',
    marketId,
    agentId,
    order: {
      type: 'limit',
      side: rnd() < 0.5 ? 'buy' : 'sell',
      price: 990 + Math.floor(rnd() * 20),
      lots: 1 + Math.floor(rnd() * 9),
      tif,
      ...(tif === 'GTC' && rnd() < 0.1 ? { postOnly: true } : {}),
      clientOrderId: `c-${i}`,
    },
  };
}
