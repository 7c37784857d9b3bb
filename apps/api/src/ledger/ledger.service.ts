import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { AppError, formatAmount, parseAmount, Rejection } from '@ate/contracts';
import {
  Asset,
  AllowanceAssetDef,
  Balance,
  defineAsset,
  getAsset,
  getBalances,
  getStatement,
  GroupCommitWriter,
  LedgerResult,
  mintOrBurnRequest,
  openAccount,
  reconcile,
  ReconcileReport,
  systemAccount,
} from '@ate/ledger';
import { DatabaseService } from '../database/database.service';

/** A ledger rejection becomes the API error with the same stable code. */
export function unwrap<T extends { ok: true }>(r: T | Rejection): T {
  if (!r.ok) throw new AppError(r.code, r.message, r.details);
  return r;
}

export interface BalanceView {
  asset: string;
  free: string;
  used: string;
  total: string;
}

/**
 * The api's door to the settlement ledger (libs/ledger): one group-commit writer for every write, so
 * concurrent requests share transactions; reads go straight to the pool.
 */
@Injectable()
export class LedgerService implements BeforeApplicationShutdown {
  readonly writer: GroupCommitWriter;
  private readonly scales = new Map<string, number>();

  constructor(private readonly db: DatabaseService) {
    this.writer = new GroupCommitWriter(db.pool);
  }

  async asset(code: string): Promise<Asset> {
    return unwrap(await getAsset(this.db.pool, code)).asset;
  }

  async scaleOf(code: string): Promise<number> {
    let s = this.scales.get(code);
    if (s === undefined) {
      s = (await this.asset(code)).scale; // an asset's scale never changes (the row is immutable)
      this.scales.set(code, s);
    }
    return s;
  }

  async defineAllowance(def: AllowanceAssetDef): Promise<Asset> {
    return unwrap(await defineAsset(this.db.pool, def)).asset;
  }

  async parse(asset: string, amount: string): Promise<bigint> {
    const v = parseAmount(amount, await this.scaleOf(asset));
    if (v === 0n) throw new AppError('VALIDATION_FAILED', 'The amount must be positive.', { amount });
    return v;
  }

  /**
   * The ledger request of a mint (issuance -> agent) or burn (agent -> issuance). Deposits and withdrawals go
   * through the engine host (its balances must see them); this is used for an id already in the journal, where
   * the ledger answers `replayed` for the same body or LEDGER_IDEMPOTENCY_CONFLICT for another, writing nothing.
   */
  async mintOrBurn(kind: 'mint' | 'burn', id: string, agentId: string, asset: string, amount: bigint, ref: string): Promise<LedgerResult> {
    const agent = unwrap(await openAccount(this.db.pool, { kind: 'agent', id: agentId }, asset)).account;
    const issuance = unwrap(await systemAccount(this.db.pool, 'issuance', asset)).account;
    return this.writer.submit(mintOrBurnRequest(kind, id, { agent: agent.id, issuance: issuance.id }, amount, ref));
  }

  /**
   * Balances as CCXT reads them: `used` is what the ledger holds plus what open orders reserve in the engine
   * (`reservedBy`), `free` the rest of the total.
   */
  async balances(owner: { kind: 'agent' | 'principal'; id: string }, reservedBy: (asset: string) => bigint = () => 0n): Promise<BalanceView[]> {
    const rows: Balance[] = await getBalances(this.db.pool, owner);
    return Promise.all(
      rows.map(async (b) => {
        const scale = await this.scaleOf(b.asset);
        const used = b.held + reservedBy(b.asset);
        return { asset: b.asset, free: formatAmount(b.total - used, scale), used: formatAmount(used, scale), total: formatAmount(b.total, scale) };
      }),
    );
  }

  async statement(agentId: string, asset: string, cursor: string | undefined, limit: number | undefined) {
    const scale = await this.scaleOf(asset);
    // Read only: an agent with no account in this asset has an empty statement (no account is opened by a GET).
    const account = (await getBalances(this.db.pool, { kind: 'agent', id: agentId })).find((b) => b.asset === asset);
    if (!account) return { asset, entries: [], nextCursor: null };
    const s = unwrap(await getStatement(this.db.pool, account.accountId, { cursor: cursor ?? null, limit }));
    return {
      asset,
      entries: s.entries.map((e) => ({
        seq: e.seq,
        amount: formatAmount(e.amount, scale),
        transferId: e.transferId,
        type: e.type,
        ref: e.ref,
        createdAt: { iso: e.createdAt.toISOString(), ms: e.createdAt.getTime() },
      })),
      nextCursor: s.nextCursor,
    };
  }

  reconcile(): Promise<ReconcileReport> {
    return reconcile(this.db.pool);
  }

  /** Before any pool closes: every submitted write commits (or fails) first, so nothing acknowledged is lost. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.writer.flush();
  }
}
