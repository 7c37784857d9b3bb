import { Injectable } from '@nestjs/common';
import { AppError, CREDIT_SCALE, formatAmount, MarketState, marketIdOf, marketSymbolOfBase, parseAmount } from '@ate/contracts';
import { validateMarketConfig } from '@ate/matching';
import { marketSettingsOf } from '@ate/sequencer';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';
import type { MarketRules, NewMarketRow } from '@ate/sequencer';
import type { PoolClient } from 'pg';
import { Actor, auditOf, AuditService } from '../audit/audit.service';
import { MarketCatalog } from '../trading/market-catalog';

/** What an operator gives to open a market (validated by the controller's schema). */
export interface CreateMarketInput {
  base: string;
  tickSize: string;
  lotSizeUnits: number;
  minOrderLots: number;
  maxOrderLots: number;
  maxPriceTicks: number;
  priceBandBps: number;
  initialPriceTicks: number;
  defaultStp: string;
  ordersPerAgentMax: number;
  makerFeeBps: number;
  takerFeeBps: number;
  maxSpend: string;
}

/** Operators open markets and change their state; both reach the engine through its sequence or a reload. */
@Injectable()
export class MarketAdminService {
  constructor(
    private readonly catalog: MarketCatalog,
    private readonly engine: EngineLink,
    private readonly ledger: LedgerService,
    private readonly audit: AuditService,
  ) {}

  /** Opens a market of an allowance asset against CREDIT; the engine serves it before this answers. */
  async create(b: CreateMarketInput, actor?: Actor): Promise<{ id: string }> {
    const asset = await this.ledger.asset(b.base);
    if (asset.kind !== 'allowance') throw new AppError('VALIDATION_FAILED', 'The base of a market is an allowance asset.');
    const row: NewMarketRow = {
      id: marketSymbolOfBase(b.base),
      base_asset: b.base,
      tick_size: parseAmount(b.tickSize, CREDIT_SCALE).toString(),
      lot_size: String(b.lotSizeUnits),
      min_order_lots: b.minOrderLots,
      max_order_lots: b.maxOrderLots,
      max_price_ticks: b.maxPriceTicks,
      price_band_bps: b.priceBandBps,
      initial_price_ticks: b.initialPriceTicks,
      default_stp: b.defaultStp,
      orders_per_agent_max: b.ordersPerAgentMax,
      max_spend_credits: parseAmount(b.maxSpend, CREDIT_SCALE).toString(),
      maker_fee_bps: b.makerFeeBps,
      taker_fee_bps: b.takerFeeBps,
    };
    try {
      validateMarketConfig(marketSettingsOf({ ...row, fee_rounding: 'up' }).config);
    } catch (e) {
      throw new AppError('VALIDATION_FAILED', (e as Error).message);
    }
    const insert = async (db?: Pick<PoolClient, 'query'>) => {
      if (!(await this.catalog.insert(row, db))) throw new AppError('CONFLICT', 'A market for this asset exists.', { market: marketIdOf(row.id) });
    };
    if (actor) {
      const { id, ...rules } = row;
      await this.audit.run(auditOf(actor, 'market.create', { kind: 'market', id }), async (c) => ({ result: await insert(c), after: rules }));
    } else await insert();
    await this.engine.reload();
    return { id: marketIdOf(row.id) };
  }

  /** Halts, resumes, or puts a market in cancel-only, through the engine's sequence (logged and replayed). */
  async setState(ref: string, state: MarketState, actor?: Actor): Promise<{ id: string; state: MarketState }> {
    const { row } = await this.catalog.get(ref);
    const marketId = row.id;
    const audit = actor ? { audit: auditOf(actor, 'market.state', { kind: 'market', id: marketId }, { after: { state } }) } : {};
    const r = await this.engine.submit({ kind: 'set_state', marketId, state, ...audit });
    if (r.code) throw new AppError(r.code, undefined, { market: ref });
    return { id: marketIdOf(marketId), state };
  }

  /** Changes a market's rules in the engine's sequence; the audit row (before and after) commits in the same batch. */
  async setRules(ref: string, b: Partial<Omit<MarketRules, 'maxSpendCredits'>> & { maxSpend?: string; reason?: string }, actor: Actor) {
    const marketId = (await this.catalog.get(ref)).row.id;
    const { maxSpend, reason, ...rest } = b;
    const rules: Partial<MarketRules> = {
      ...rest,
      ...(maxSpend !== undefined ? { maxSpendCredits: Number(parseAmount(maxSpend, CREDIT_SCALE)) } : {}),
    };
    if (rules.maxSpendCredits !== undefined && (rules.maxSpendCredits < 1 || !Number.isSafeInteger(rules.maxSpendCredits))) {
      throw new AppError('AMOUNT_OUT_OF_RANGE', 'maxSpend must be positive and below 2^53 minor units.');
    }
    const r = await this.engine.submit({
      kind: 'set_rules',
      marketId,
      rules,
      audit: auditOf(actor, 'market.rules', { kind: 'market', id: marketId }, { reason: reason ?? null }),
    });
    if (r.code)
      throw new AppError(r.code, r.code === 'VALIDATION_FAILED' ? `The rules cannot apply: ${String(r.details?.['reason'])}` : undefined, {
        market: ref,
        ...r.details,
      });
    this.catalog.forget(marketId);
    const after = (r.change as { after: MarketRules }).after;
    const { maxSpendCredits, ...shown } = after;
    return { id: marketIdOf(marketId), rules: { ...shown, maxSpend: formatAmount(BigInt(maxSpendCredits), CREDIT_SCALE) }, seq: r.seq as string };
  }
}
