import { CREDIT, MatchingCommand } from '@ate/contracts';
import type { LedgerRequest } from '@ate/ledger';
import type { BalanceView } from '@ate/matching';
import type { BatchStatement } from './auctions';
import type { Applied, EngineCore } from './core';
import type { Directory } from './directory';
import type { HostMarket, HostResult, PlaceOrder } from './host-types';
import type { BatchIds } from './idempotency';
import { BatchExtras } from './redemption';
import type { CommittedCommand, CommittedEvent } from './outlet';
import { BatchProjections } from './projections';
import { settlementTransfer } from './settlement';
import type { LogRow } from './sql';

/**
 * One batch being executed: the commands it logs, the projection rows and ledger transfers it will commit with
 * them, and (when someone listens) what each command did for the event outlet. Handlers run commands through it.
 */
export class Batch {
  readonly log: LogRow[] = [];
  readonly projections = new BatchProjections();
  readonly ledger: LedgerRequest[] = [];
  readonly committed: CommittedCommand[] = [];
  readonly markets = new Set<string>();
  /** projection statements of commands beyond matching (auctions), written in the batch's transaction */
  readonly sql: BatchStatement[] = [];
  /** redemption rows, rule changes and audit rows, written after the ledger in the batch's transaction */
  readonly extra = new BatchExtras();

  constructor(
    readonly core: EngineCore,
    readonly directory: Directory,
    readonly ids: BatchIds,
    /** whether the outlet has subscribers (events are built only then) */
    private readonly collect: boolean,
    /** whether one needs agents' events (orders and balances) of matching commands (OutletInterest) */
    private readonly agents = collect,
  ) {}

  /** The next seq, logged with the command. */
  private logged(market: string | null, ts: number, json: string): number {
    const seq = ++this.core.seq;
    this.log.push({ seq, market, ts, json });
    if (market) this.markets.add(market);
    return seq;
  }

  /**
   * Runs one matching command (pre-trade, matching, post-trade), logs it, and collects its projection rows, its
   * settlement transfers and its outlet events. `place` is the order of a place command (its row is new).
   */
  matching(m: HostMarket, mc: MatchingCommand, agentId: string, place?: PlaceOrder): HostResult {
    const a = this.core.matching(m, mc, agentId);
    const seq = this.logged(m.id, mc.ts, JSON.stringify({ t: 'm', c: mc }));
    const own = mc.type === 'limit' || mc.type === 'market' ? mc.orderId : -1;
    const p = this.projections;
    const order = place && own > 0 ? p.placed(m, own, agentId, place, seq, mc.ts, a.code, a.events) : undefined;
    let t = 0;
    for (const e of a.events) {
      if (e.kind === 'trade') {
        const maker = this.directory.idOf(e.makerAgent);
        const taker = this.directory.idOf(e.takerAgent);
        const fees = a.fees[t++] as Applied['fees'][number];
        p.trade({
          marketId: m.id,
          eventSeq: e.seq,
          commandSeq: seq,
          makerOrderId: e.makerOrderId,
          takerOrderId: e.takerOrderId,
          makerAgentId: maker,
          takerAgentId: taker,
          takerSide: e.takerSide,
          priceTicks: e.price,
          lots: e.lots,
          notional: e.notional,
          ...fees,
        });
        const [buyer, seller] = e.takerSide === 'buy' ? [taker, maker] : [maker, taker];
        this.ledger.push(settlementTransfer(m, e, fees, buyer, seller, this.directory));
        if (e.makerOrderId !== own) p.touched(m, e.makerOrderId, seq, this.core.fills.get(e.makerOrderId));
      } else if ((e.kind === 'cancelled' || e.kind === 'expired' || e.kind === 'reduced' || e.kind === 'amended') && e.orderId !== own) {
        p.touched(
          m,
          e.orderId,
          seq,
          this.core.fills.get(e.orderId),
          e.kind === 'cancelled' ? e.reason : e.kind === 'expired' ? 'expired' : null,
          e.kind === 'expired',
        );
      }
    }
    if (this.collect) this.committed.push({ seq, marketId: m.id, ts: mc.ts, events: committedEvents(this.core, this.directory, m, a, this.agents) });
    return {
      seq: String(seq),
      code: a.code,
      events: a.events,
      ...(a.rejection?.details ? { details: a.rejection.details } : {}),
      ...(order ? { orderId: own, order } : {}),
    };
  }

  /** A command of another kind (budgets.ts): logged, with its ledger transfer and outlet events if any. */
  record(ts: number, json: string, transfer: LedgerRequest | null, events: () => CommittedEvent[]): HostResult {
    const seq = this.logged(null, ts, json);
    if (transfer) this.ledger.push(transfer);
    if (this.collect) this.committed.push({ seq, marketId: null, ts, events: events() });
    return { seq: String(seq), code: null, events: [] };
  }

  /** A command of another kind (a redemption, a rule change): logged, with its ledger transfers and outlet events. */
  logOther(market: string | null, ts: number, logged: object, transfers: LedgerRequest[], events: () => CommittedEvent[]): number {
    const seq = this.logged(market, ts, JSON.stringify(logged));
    this.ledger.push(...transfers);
    if (this.collect) this.committed.push({ seq, marketId: market, ts, events: events() });
    return seq;
  }

  /** A funds movement the balance view accepted: logged, with its mint or burn. */
  funds(op: 'deposit' | 'withdraw', agentId: string, agent: number, asset: string, amount: bigint, ts: number, transfer: LedgerRequest): HostResult {
    const seq = this.logged(null, ts, JSON.stringify({ t: 'f', op, agent, asset, amount: amount.toString() }));
    this.ledger.push(transfer);
    if (this.collect) this.committed.push({ seq, marketId: null, ts, events: [balanceEvent(this.core.balances, agentId, agent, asset)] });
    return { seq: String(seq), code: null, events: [] };
  }

  /**
   * A command of another kind (auctions and pools) that its state accepted: logged, with what `build(seq)` gives
   * (its ledger transfers, projection statements, the balances it touched for the outlet, details for the caller).
   */
  other(
    ts: number,
    json: string,
    build: (seq: number) => {
      ledger: LedgerRequest[];
      sql: BatchStatement[];
      touched: { agentId: string; agent: number; asset: string }[];
      details: Record<string, unknown>;
    },
    /** outlet events of its own (auction-events.ts), before the balances; built only when someone listens */
    events?: () => CommittedEvent[],
  ): HostResult {
    const seq = this.logged(null, ts, json);
    const r = build(seq);
    this.ledger.push(...r.ledger);
    this.sql.push(...r.sql);
    if (this.collect)
      this.committed.push({
        seq,
        marketId: null,
        ts,
        events: [...(events?.() ?? []), ...r.touched.map((t) => balanceEvent(this.core.balances, t.agentId, t.agent, t.asset))],
      });
    return { seq: String(seq), code: null, events: [], details: r.details };
  }
}

/** An agent's holding of an asset as the balance view has it now, as an outlet event. */
export function balanceEvent(b: BalanceView, agentId: string, agent: number, asset: string): CommittedEvent {
  const i = b.assetIndex(asset);
  return { kind: 'balance', agentId, asset, total: BigInt(b.getTotal(agent, i)), reserved: BigInt(b.getReserved(agent, i)) };
}

/**
 * What a matching command did, as outlet events: the engine's (agents by id, trades with their fees), then the
 * balance of every agent and asset it touched, as they are after it. Also used to re-emit replayed commands.
 * Without `agents` (no subscriber needs them: OutletInterest), only trades, books and states.
 */
export function committedEvents(core: EngineCore, directory: Directory, m: HostMarket, a: Applied, agents = true): CommittedEvent[] {
  const out: CommittedEvent[] = [];
  // every agent an event names: its credits and its base asset may have moved (reserved, traded, released)
  const touched = new Set<number>();
  let t = 0;
  for (const e of a.events) {
    switch (e.kind) {
      case 'trade': {
        const f = a.fees[t++] ?? { buyerFee: 0, sellerFee: 0 };
        out.push({ ...e, makerAgentId: directory.idOf(e.makerAgent), takerAgentId: directory.idOf(e.takerAgent), ...f });
        if (agents) touched.add(e.makerAgent).add(e.takerAgent);
        break;
      }
      case 'book':
      case 'state':
        out.push(e);
        break;
      case 'funds':
        break; // funds move through the host's own commands, not a market's
      default:
        if (!agents) break;
        out.push({ ...e, agentId: directory.idOf(e.agent) });
        touched.add(e.agent);
    }
  }
  if (!agents) return out;
  for (const agent of touched) {
    for (const asset of [CREDIT, m.config.baseAsset]) out.push(balanceEvent(core.balances, directory.idOf(agent), agent, asset));
  }
  return out;
}
