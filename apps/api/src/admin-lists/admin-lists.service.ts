import { Injectable } from '@nestjs/common';
import { AppError, CREDIT_SCALE, formatAmount } from '@ate/contracts';
import { DatabaseService } from '../database/database.service';

/** One page of a list: its items and the cursor of the next page (null: the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListQuery {
  /** case-insensitive substring of the id or the name */
  q?: string;
  cursor?: string;
  limit: number;
}

/** A LIKE pattern that matches `s` literally anywhere. */
const contains = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const iso = (d: Date) => ({ iso: d.toISOString(), ms: d.getTime() });

/**
 * The operator's lists and searches: principals, agents, keys, markets. Keyset pages in id order (the cursor is
 * the last id of the previous page, so a page never skips or repeats a row while others are created).
 */
@Injectable()
export class AdminListsService {
  constructor(private readonly db: DatabaseService) {}

  private async page<R extends { id: string }, T>(
    table: string,
    filters: [string, unknown][],
    q: ListQuery,
    cursorPattern: RegExp,
    view: (r: R) => T,
    columns = '*',
  ): Promise<Page<T>> {
    if (q.cursor !== undefined && !cursorPattern.test(q.cursor)) throw new AppError('ADMIN_INVALID_CURSOR', undefined, { cursor: q.cursor });
    const where: string[] = [];
    const p: unknown[] = [];
    for (const [sql, v] of filters) {
      if (!sql.includes('?')) {
        where.push(sql);
        continue;
      }
      p.push(v);
      where.push(sql.replaceAll('?', `$${p.length}`));
    }
    if (q.cursor !== undefined) {
      p.push(q.cursor);
      where.push(`id > $${p.length}`);
    }
    p.push(q.limit + 1);
    const rows = (
      await this.db.pool.query<R>(
        `SELECT ${columns} FROM ${table} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT $${p.length}`,
        p,
      )
    ).rows;
    const items = rows.slice(0, q.limit);
    return { items: items.map(view), nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null };
  }

  principals(q: ListQuery) {
    return this.page<{ id: string; name: string; created_at: Date; agents: string }, unknown>(
      'principal p',
      q.q ? [['(p.id ILIKE ? OR p.name ILIKE ?)', contains(q.q)]] : [],
      q,
      /^prn_[a-z0-9]{8,32}$/,
      (r) => ({ id: r.id, name: r.name, agents: Number(r.agents), createdAt: iso(r.created_at) }),
      'p.id, p.name, p.created_at, (SELECT count(*) FROM agent a WHERE a.principal_id = p.id) AS agents',
    );
  }

  agents(q: ListQuery & { principalId?: string; status?: string }) {
    const f: [string, unknown][] = [];
    if (q.q) f.push(['(id ILIKE ? OR name ILIKE ?)', contains(q.q)]);
    if (q.principalId) f.push(['principal_id = ?', q.principalId]);
    if (q.status) f.push(['status = ?', q.status]);
    return this.page<{ id: string; name: string; principal_id: string | null; status: string; created_at: Date }, unknown>(
      'agent',
      f,
      q,
      /^agt_[a-z0-9]{8,32}$/,
      (r) => ({ id: r.id, name: r.name, principalId: r.principal_id, status: r.status, createdAt: iso(r.created_at) }),
    );
  }

  /** API keys without any key material: owner, role, label, when issued and revoked. */
  keys(q: ListQuery & { agentId?: string; principalId?: string; role?: string; revoked?: boolean }) {
    const f: [string, unknown][] = [];
    if (q.q) f.push(['(id ILIKE ? OR label ILIKE ?)', contains(q.q)]);
    if (q.agentId) f.push(['agent_id = ?', q.agentId]);
    if (q.principalId) f.push(['principal_id = ?', q.principalId]);
    if (q.role) f.push(['role = ?', q.role]);
    if (q.revoked !== undefined) f.push([q.revoked ? 'revoked_at IS NOT NULL' : 'revoked_at IS NULL', undefined]);
    return this.page<
      {
        id: string;
        role: string;
        agent_id: string | null;
        principal_id: string | null;
        label: string | null;
        created_at: Date;
        revoked_at: Date | null;
      },
      unknown
    >(
      'api_key',
      f,
      q,
      /^ak_[a-z0-9]{16,32}$/,
      (r) => ({
        keyId: r.id,
        role: r.role,
        agentId: r.agent_id,
        principalId: r.principal_id,
        label: r.label,
        createdAt: iso(r.created_at),
        revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
      }),
      'id, role, agent_id, principal_id, label, created_at, revoked_at',
    );
  }

  markets(q: ListQuery) {
    return this.page<Record<string, unknown> & { id: string }, unknown>(
      'market',
      q.q ? [['(id ILIKE ? OR base_asset ILIKE ?)', contains(q.q)]] : [],
      q,
      /^[A-Z0-9][A-Z0-9_.:-]{0,63}\/CREDIT$/,
      (r) => ({
        id: r.id,
        baseAsset: r['base_asset'] as string,
        tickSize: formatAmount(BigInt(r['tick_size'] as string), CREDIT_SCALE),
        lotSizeUnits: Number(r['lot_size']),
        rules: {
          makerFeeBps: r['maker_fee_bps'] as number,
          takerFeeBps: r['taker_fee_bps'] as number,
          minOrderLots: r['min_order_lots'] as number,
          maxOrderLots: r['max_order_lots'] as number,
          maxPriceTicks: r['max_price_ticks'] as number,
          priceBandBps: r['price_band_bps'] as number,
          maxSpend: formatAmount(BigInt(r['max_spend_credits'] as string), CREDIT_SCALE),
        },
        createdAt: iso(r['created_at'] as Date),
      }),
    );
  }
}
