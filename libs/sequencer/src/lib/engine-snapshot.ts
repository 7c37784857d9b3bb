import type { AuctionSnapshot } from './auctions';
import type { OrderSide } from '@ate/contracts';
import {
  type BalancesSnapshot,
  type BalanceView,
  type EngineSnapshot,
  hashSnapshot,
  type MarketConfig,
  type MatchingEngine,
  type SnapshotOrder,
  type SparseBalancesSnapshot,
  STP_MODES,
} from '@ate/matching';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import type { BudgetsSnapshot } from './budgets';
import type { PendingOrder, PendingRedemption } from './approvals';

/**
 * Engine snapshots (table engine_snapshot): the whole state of an EngineHost after a command of the log, so that
 * recovery restores it and replays only the commands after it.
 *
 * Stored as gzip'd JSON in a bytea (format 1), not as jsonb: nothing ever queries inside a snapshot, so jsonb
 * would only cost Postgres a parse and a binary encoding on every write (and a bigger value); gzip runs on the
 * libuv thread pool, off the event loop, and shrinks the columnar document below to ~10 bytes per resting order.
 * The column is STORAGE EXTERNAL (no second, pointless compression by TOAST).
 *
 * Format 2 (written now) holds the balances sparse: the known agents, then one entry per non-zero balance
 * (agent, asset index, total, reserved), so its size and the time to take it grow with what is held. Format 1
 * (before 2026-12-02) held them dense, a column per asset over every known agent; it is still read.
 */

/** The format written now. */
export const SNAPSHOT_FORMAT = 2;
/** The formats restore reads. */
export const SNAPSHOT_FORMATS_READ = [1, 2];

/** What a snapshot holds, captured synchronously between two batches (plain copies: later batches never touch them). */
export interface HostState {
  /** engine_command seq the state is the result of */
  seq: number;
  lastTs: number;
  lastOrderId: number;
  /** the shared balance view, sparse */
  balances: SparseBalancesSnapshot;
  /** each market's engine (its `balances` field is the shared copy above) */
  markets: { id: string; engine: EngineSnapshot }[];
  /** fills so far of open orders (the host's `orders` map) */
  fills: Map<number, { filled: number; notional: number }>;
  /** auctions and pools (absent in snapshots written before them: empty) */
  auctions?: AuctionSnapshot;
  /** budgets.ts (absent: none) */
  budgets?: BudgetsSnapshot;
  /** orders held for approval (approvals.ts; absent: none) */
  approvals?: PendingOrder[];
  /** redemptions held for approval (approvals.ts; absent: none, and in snapshots written before them) */
  redemptionApprovals?: PendingRedemption[];
}

/** One market in the document. Resting orders are columns in time-priority order, ids and priorities delta-coded. */
interface DocMarket extends Pick<EngineSnapshot, 'state' | 'seq' | 'lastTs' | 'lastOrderId' | 'refPrice' | 'nextPrio'> {
  id: string;
  orderId: number[];
  prio: number[];
  agent: number[];
  /** 1 buy, 0 sell */
  buy: number[];
  price: number[];
  lots: number[];
  reserved: number[];
  /** 0 for no expiry */
  expiresAt: number[];
  /** index in STP_MODES */
  stp: number[];
  postOnly: number[];
  clientOrderId: (string | null)[];
  /** the host's fills of the order; -1 when the host kept none */
  filled: number[];
  notional: number[];
}

interface Doc {
  format: number;
  seq: number;
  lastTs: number;
  lastOrderId: number;
  assets: string[];
  supply: number[];
  /** format 1: known agents, and per asset (in `assets` order) their totals and reservations */
  agents?: number[];
  total?: number[][];
  reserved?: number[][];
  /** format 2: known agents ascending, and the non-zero balances (asset: index in `assets`) */
  known?: number[];
  cells?: SparseBalancesSnapshot['cells'];
  markets: DocMarket[];
  auctions?: AuctionSnapshot;
  /** budgets.ts; absent in snapshots written before it (restored as empty) */
  budgets?: BudgetsSnapshot;
  /** approvals.ts; absent when none was pending (and in snapshots written before it) */
  approvals?: PendingOrder[];
  /** redemptions held for approval (approvals.ts; absent: none, and in snapshots written before them) */
  redemptionApprovals?: PendingRedemption[];
}

/** A decoded snapshot, ready to restore into a host (engine configs are the host's, from the market table). */
export interface DecodedSnapshot {
  seq: number;
  lastTs: number;
  lastOrderId: number;
  balances: SparseBalancesSnapshot;
  /** each market's engine state, and the host's fills of its open orders */
  markets: {
    id: string;
    engine: Omit<EngineSnapshot, 'config' | 'balances'>;
    fills: { orderId: number; agent: number; filled: number; notional: number }[];
  }[];
  auctions?: AuctionSnapshot;
  budgets?: BudgetsSnapshot;
  approvals?: PendingOrder[];
  /** redemptions held for approval (approvals.ts; absent: none, and in snapshots written before them) */
  redemptionApprovals?: PendingRedemption[];
}

const gzipAsync = promisify(gzip);

/** The document of a captured state, gzip'd (the compression runs on the thread pool). */
export async function encodeSnapshot(s: HostState): Promise<Buffer> {
  const b = s.balances;
  const doc: Doc = {
    format: SNAPSHOT_FORMAT,
    seq: s.seq,
    lastTs: s.lastTs,
    lastOrderId: s.lastOrderId,
    assets: b.assets,
    supply: b.supply,
    known: b.known,
    cells: b.cells,
    ...(s.auctions && (s.auctions.auctions.length > 0 || s.auctions.pools.length > 0) ? { auctions: s.auctions } : {}),
    markets: s.markets.map(({ id, engine: e }) => {
      const orders = [...e.orders].sort((x, y) => x.prio - y.prio);
      const m: DocMarket = {
        id,
        state: e.state,
        seq: e.seq,
        lastTs: e.lastTs,
        lastOrderId: e.lastOrderId,
        refPrice: e.refPrice,
        nextPrio: e.nextPrio,
        orderId: [],
        prio: [],
        agent: [],
        buy: [],
        price: [],
        lots: [],
        reserved: [],
        expiresAt: [],
        stp: [],
        postOnly: [],
        clientOrderId: [],
        filled: [],
        notional: [],
      };
      let lastId = 0;
      let lastPrio = 0;
      for (const o of orders) {
        m.orderId.push(o.orderId - lastId);
        m.prio.push(o.prio - lastPrio);
        lastId = o.orderId;
        lastPrio = o.prio;
        m.agent.push(o.agent);
        m.buy.push(o.side === 'buy' ? 1 : 0);
        m.price.push(o.price);
        m.lots.push(o.lots);
        m.reserved.push(o.reserved);
        m.expiresAt.push(o.expiresAt);
        m.stp.push(STP_MODES.indexOf(o.stp));
        m.postOnly.push(o.postOnly ? 1 : 0);
        m.clientOrderId.push(o.clientOrderId);
        const f = s.fills.get(o.orderId);
        m.filled.push(f ? f.filled : -1);
        m.notional.push(f ? f.notional : 0);
      }
      return m;
    }),
    ...(s.budgets ? { budgets: s.budgets } : {}),
    ...(s.approvals && s.approvals.length > 0 ? { approvals: s.approvals } : {}),
    ...(s.redemptionApprovals && s.redemptionApprovals.length > 0 ? { redemptionApprovals: s.redemptionApprovals } : {}),
  };
  return gzipAsync(Buffer.from(JSON.stringify(doc)), { level: 6 });
}

const int = (x: unknown): x is number => Number.isSafeInteger(x);
const ints = (a: unknown, n: number): a is number[] => Array.isArray(a) && a.length === n && a.every(int);

/** Decodes and checks the shape of a stored snapshot (throws on anything malformed). */
export function decodeSnapshot(data: Buffer, format: number): DecodedSnapshot {
  if (!SNAPSHOT_FORMATS_READ.includes(format))
    throw new Error(`snapshot format ${format} is not supported (this build reads ${SNAPSHOT_FORMATS_READ.join(', ')})`);
  const doc = JSON.parse(gunzipSync(data).toString('utf8')) as Doc;
  const bad = (what: string): never => {
    throw new Error(`malformed snapshot: ${what}`);
  };
  if (doc.format !== format) bad('format');
  if (!int(doc.seq) || !int(doc.lastTs) || !int(doc.lastOrderId)) bad('header');
  const na = Array.isArray(doc.assets) ? doc.assets.length : bad('assets');
  if (!doc.assets.every((a) => typeof a === 'string') || !ints(doc.supply, na)) bad('assets');
  const balances = format === 1 ? denseBalancesOf(doc, na, bad) : sparseBalancesOf(doc, na, bad);
  if (!Array.isArray(doc.markets)) bad('markets');
  const markets = doc.markets.map((m) => {
    if (typeof m.id !== 'string' || !['open', 'cancel_only', 'halted'].includes(m.state)) bad('market');
    if (![m.seq, m.lastTs, m.lastOrderId, m.refPrice, m.nextPrio].every(int)) bad(`market ${m.id}`);
    const n = Array.isArray(m.orderId) ? m.orderId.length : bad(`orders of ${m.id}`);
    for (const col of [m.prio, m.agent, m.buy, m.price, m.lots, m.reserved, m.expiresAt, m.stp, m.postOnly, m.filled, m.notional, m.orderId])
      if (!ints(col, n)) bad(`orders of ${m.id}`);
    if (!Array.isArray(m.clientOrderId) || m.clientOrderId.length !== n || !m.clientOrderId.every((c) => c === null || typeof c === 'string'))
      bad(`orders of ${m.id}`);
    const orders: SnapshotOrder[] = [];
    const fills: DecodedSnapshot['markets'][number]['fills'] = [];
    let id = 0;
    let prio = 0;
    for (let i = 0; i < n; i++) {
      id += m.orderId[i] as number;
      prio += m.prio[i] as number;
      const stp = STP_MODES[m.stp[i] as number];
      if (stp === undefined) bad(`stp of order ${id}`);
      orders.push({
        orderId: id,
        agent: m.agent[i] as number,
        side: (m.buy[i] === 1 ? 'buy' : 'sell') as OrderSide,
        price: m.price[i] as number,
        lots: m.lots[i] as number,
        expiresAt: m.expiresAt[i] as number,
        stp: stp as (typeof STP_MODES)[number],
        postOnly: m.postOnly[i] === 1,
        clientOrderId: m.clientOrderId[i] as string | null,
        prio,
        reserved: m.reserved[i] as number,
      });
      if ((m.filled[i] as number) >= 0)
        fills.push({ orderId: id, agent: m.agent[i] as number, filled: m.filled[i] as number, notional: m.notional[i] as number });
    }
    return {
      id: m.id,
      engine: {
        version: 1 as const,
        state: m.state,
        seq: m.seq,
        lastTs: m.lastTs,
        lastOrderId: m.lastOrderId,
        refPrice: m.refPrice,
        nextPrio: m.nextPrio,
        orders,
      },
      fills,
    };
  });
  if (doc.auctions !== undefined && (typeof doc.auctions !== 'object' || !Array.isArray(doc.auctions.auctions) || !Array.isArray(doc.auctions.pools)))
    bad('auctions');
  if (doc.budgets !== undefined && (typeof doc.budgets !== 'object' || !Array.isArray(doc.budgets.agents) || !Array.isArray(doc.budgets.orders)))
    bad('budgets');
  if (
    doc.approvals !== undefined &&
    (!Array.isArray(doc.approvals) || !doc.approvals.every((p) => int(p?.orderId) && int(p?.agent) && int(p?.expiresAt)))
  )
    bad('approvals');
  if (
    doc.redemptionApprovals !== undefined &&
    (!Array.isArray(doc.redemptionApprovals) ||
      !doc.redemptionApprovals.every((r) => typeof r?.id === 'string' && int(r?.agent) && int(r?.amount) && int(r?.expiresAt)))
  )
    bad('redemptionApprovals');
  return {
    seq: doc.seq,
    lastTs: doc.lastTs,
    lastOrderId: doc.lastOrderId,
    balances,
    markets,
    ...(doc.auctions ? { auctions: doc.auctions } : {}),
    ...(doc.budgets ? { budgets: doc.budgets } : {}),
    ...(doc.approvals ? { approvals: doc.approvals } : {}),
    ...(doc.redemptionApprovals ? { redemptionApprovals: doc.redemptionApprovals } : {}),
  };
}

/** Format 1's dense balance columns, checked, as the sparse form (zero balances dropped). */
function denseBalancesOf(doc: Doc, na: number, bad: (what: string) => never): SparseBalancesSnapshot {
  const { agents, total, reserved } = doc;
  const nAgents = Array.isArray(agents) ? agents.length : bad('agents');
  if (!ints(agents, nAgents) || !Array.isArray(total) || !Array.isArray(reserved) || total.length !== na || reserved.length !== na) bad('agents');
  for (let i = 0; i < na; i++) if (!ints(total[i], nAgents) || !ints(reserved[i], nAgents)) bad('balances');
  const known = [...(agents as number[])].sort((x, y) => x - y);
  const cells: SparseBalancesSnapshot['cells'] = { agent: [], asset: [], total: [], reserved: [] };
  (agents as number[]).forEach((agent, k) => {
    for (let i = 0; i < na; i++) {
      const t = (total as number[][])[i]![k] as number;
      const r = (reserved as number[][])[i]![k] as number;
      if (t === 0 && r === 0) continue;
      cells.agent.push(agent);
      cells.asset.push(i);
      cells.total.push(t);
      cells.reserved.push(r);
    }
  });
  return { assets: doc.assets, agentsMax: 0, supply: doc.supply, known, cells };
}

/** Format 2's sparse balances, checked. */
function sparseBalancesOf(doc: Doc, na: number, bad: (what: string) => never): SparseBalancesSnapshot {
  const { known } = doc;
  if (!Array.isArray(known) || !ints(known, known.length)) bad('known agents');
  const cells = doc.cells ?? bad('balances');
  const n = Array.isArray(cells.agent) ? cells.agent.length : bad('balances');
  if (!ints(cells.agent, n) || !ints(cells.asset, n) || !ints(cells.total, n) || !ints(cells.reserved, n)) bad('balances');
  if (!cells.asset.every((i) => i >= 0 && i < na)) bad('balance asset');
  return { assets: doc.assets, agentsMax: 0, supply: doc.supply, known: known as number[], cells };
}

/**
 * Writes a snapshot's balances into a fresh view whose assets may be more than the snapshot's (an asset defined
 * since): the snapshot's assets are matched by name, the others stay zero.
 */
export function restoreBalancesInto(view: BalanceView, b: SparseBalancesSnapshot): void {
  const idx = b.assets.map((a) => {
    if (!view.assets.includes(a)) throw new Error(`snapshot holds asset ${a}, which is not defined`);
    return view.assetIndex(a);
  });
  idx.forEach((to, i) => (view.supply[to] = b.supply[i] as number));
  const inRange = (agent: number) => Number.isInteger(agent) && agent >= 0 && agent < view.agentsMax;
  for (const agent of b.known) {
    if (!inRange(agent)) throw new Error(`snapshot agent ${agent} is beyond this node's agents`);
    view.registerAgent(agent);
  }
  const c = b.cells;
  view.reserveCells(view.cells + c.agent.length, b.known.length);
  for (let k = 0; k < c.agent.length; k++) {
    const agent = c.agent[k] as number;
    if (!view.isKnown(agent)) throw new Error(`snapshot holds a balance of agent ${agent}, which it does not know`);
    view.setBalance(agent, idx[c.asset[k] as number] as number, c.total[k] as number, c.reserved[k] as number);
  }
}

/** The view's balances restricted to some of its assets (in the given order). */
export function projectBalances(view: BalanceView, assets: readonly string[]): BalancesSnapshot {
  const full = view.snapshot();
  const idx = assets.map((a) => view.assetIndex(a));
  return {
    assets: [...assets],
    agentsMax: full.agentsMax,
    supply: idx.map((i) => full.supply[i] as number),
    agents: full.agents.map((r) => ({
      agent: r.agent,
      total: idx.map((i) => r.total[i] as number),
      reserved: idx.map((i) => r.reserved[i] as number),
    })),
  };
}

/**
 * The engine's v1 state hash (state-hash.ts) as a balance view over `assets` would give it. The hash covers every asset of the view
 * (an asset with nothing in it still counts), so a hash recorded before an asset was defined is only comparable
 * in the layout of that time.
 */
export function stateHashIn(engine: MatchingEngine, view: BalanceView, assets: readonly string[]): string {
  if (assets.length === view.assets.length && assets.every((a, i) => view.assets[i] === a)) return engine.stateHash();
  return hashSnapshot({ ...engine.snapshot(), balances: projectBalances(view, assets) });
}

/** An engine snapshot for MatchingEngine.restore with a shared view (whose balances it then ignores). */
export function engineSnapshot(m: Omit<EngineSnapshot, 'config' | 'balances'>, config: MarketConfig): EngineSnapshot {
  return { ...m, config, balances: { assets: [], agentsMax: 0, supply: [], agents: [] } };
}
