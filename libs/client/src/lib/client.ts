import { deriveSigningKey, ErrorBody, PlaceOrderRequest, SIGNING_HEADERS, signRequest } from '@ate/contracts';

export type { PlaceOrderRequest };

export interface AteClientOptions {
  /** e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  keyId?: string;
  secret?: string;
  /** Milliseconds to add to the local clock (see syncTime), for machines whose clocks drift. */
  clockOffsetMs?: number;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
}

/** A non-2xx answer, with the exchange's stable error code. */
export class AteApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'AteApiError';
  }
}

export interface RawResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A small typed client for the exchange's REST API that signs every private request (HMAC-SHA256 over
 * timestamp, method, path with query, body). Amounts are decimal strings in and out.
 */
export class AteClient {
  private readonly signingKey: Buffer | undefined;
  private clockOffsetMs: number;
  private lastTimestampMs = 0;

  constructor(private readonly opts: AteClientOptions) {
    this.signingKey = opts.secret ? deriveSigningKey(opts.secret) : undefined;
    this.clockOffsetMs = opts.clockOffsetMs ?? 0;
  }

  /** Measures the offset to the server clock (GET /v1/time) and uses it to timestamp requests. */
  async syncTime(): Promise<number> {
    const t0 = Date.now();
    const { serverTime } = await this.get<{ serverTime: number }>('/v1/time', { signed: false });
    const t1 = Date.now();
    this.clockOffsetMs = serverTime - Math.round((t0 + t1) / 2);
    return this.clockOffsetMs;
  }

  get<T>(path: string, o: { signed?: boolean } = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, o);
  }
  post<T>(path: string, body?: unknown, o: { signed?: boolean } = {}): Promise<T> {
    return this.request<T>('POST', path, body ?? {}, o);
  }
  put<T>(path: string, body?: unknown, o: { signed?: boolean } = {}): Promise<T> {
    return this.request<T>('PUT', path, body ?? {}, o);
  }
  delete<T>(path: string, o: { signed?: boolean } = {}): Promise<T> {
    return this.request<T>('DELETE', path, undefined, o);
  }

  async request<T>(method: string, path: string, body?: unknown, o: { signed?: boolean } = {}): Promise<T> {
    const r = await this.raw<T | ErrorBody>(method, path, body, o);
    if (r.status >= 400) {
      const e = (r.body as ErrorBody | undefined)?.error;
      throw new AteApiError(r.status, e?.code ?? 'UNKNOWN', e?.message ?? 'request failed', e?.details);
    }
    return r.body as T;
  }

  /** The response whatever its status: for tests and callers that branch on status. */
  async raw<T>(method: string, path: string, body?: unknown, o: { signed?: boolean } = {}): Promise<RawResponse<T>> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (o.signed ?? true) Object.assign(headers, this.sign(method, path, text));
    const res = await fetch(new URL(path, this.opts.baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : text,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    const raw = await res.text();
    return { status: res.status, headers: res.headers, body: (raw ? JSON.parse(raw) : undefined) as T };
  }

  /** The three signature headers for a request (exported for callers with their own HTTP stack). */
  sign(method: string, pathWithQuery: string, body: string, timestampMs?: number): Record<string, string> {
    if (!this.opts.keyId || !this.signingKey) throw new Error('this client has no API key: pass keyId and secret');
    // Timestamps strictly increase per client: the same request twice in one millisecond would otherwise carry
    // the same signature, which the server refuses as a replay (AUTH_REPLAYED). (A client sending more than 1,000
    // requests a second would run ahead of the clock and out of the 5 s window: far beyond any key's rate limit.)
    const at = timestampMs ?? (this.lastTimestampMs = Math.max(Date.now() + this.clockOffsetMs, this.lastTimestampMs + 1));
    const ts = String(at);
    return {
      [SIGNING_HEADERS.key]: this.opts.keyId,
      [SIGNING_HEADERS.timestamp]: ts,
      [SIGNING_HEADERS.signature]: signRequest(this.signingKey, ts, method, pathWithQuery, body),
    };
  }

  // --- typed endpoints ---
  time(): Promise<{ serverTime: number; iso: string }> {
    return this.get('/v1/time', { signed: false });
  }
  me(): Promise<{ keyId: string; role: string; agentId: string | null; principalId: string | null }> {
    return this.get('/v1/me');
  }
  createAgent(body: { name: string; principalId?: string; withKey?: boolean }): Promise<AgentCreated> {
    return this.post('/v1/admin/agents', body);
  }
  createPrincipal(body: { name: string }): Promise<{ id: string; name: string }> {
    return this.post('/v1/admin/principals', body);
  }
  issueAgentKey(agentId: string, label?: string): Promise<{ keyId: string; secret: string; agentId: string }> {
    return this.post(`/v1/admin/agents/${encodeURIComponent(agentId)}/keys`, label ? { label } : {});
  }
  revokeKey(keyId: string): Promise<void> {
    return this.delete(`/v1/admin/keys/${encodeURIComponent(keyId)}`);
  }
  defineAsset(body: {
    code: string;
    scale: number;
    model: string;
    provider: string;
    tokenClass: string;
    expiresOn?: string | null;
  }): Promise<unknown> {
    return this.post('/v1/admin/assets', body);
  }
  /** Operator: mint `amount` (decimal string) of an asset to an agent. Idempotent by `id`. */
  deposit(body: { id: string; agentId: string; asset: string; amount: string; reason?: string }): Promise<MoveResult> {
    return this.post('/v1/admin/deposits', body);
  }
  withdraw(body: { id: string; agentId: string; asset: string; amount: string; reason?: string }): Promise<MoveResult> {
    return this.post('/v1/admin/withdrawals', body);
  }
  /** The ledger's promises, and whether the engine agrees with the database (balances, open orders). */
  reconciliation(): Promise<{
    ok: boolean;
    violations: unknown[];
    transfersChecked: number;
    engine: {
      ok: boolean;
      violations: { check: string; details: Record<string, unknown> }[];
      accountsChecked: number;
      principalAccountsChecked: number;
      ordersChecked: number;
    };
    audit: { ok: boolean; rowsChecked: number; violations: { check: string; details: Record<string, unknown> }[] };
  }> {
    return this.get('/v1/admin/reconciliation');
  }
  createMarket(body: Record<string, unknown>): Promise<{ id: string }> {
    return this.post('/v1/admin/markets', body);
  }
  markets(): Promise<{ markets: MarketView[] }> {
    return this.get('/v1/markets', { signed: false });
  }
  book(market: string, depth = 50): Promise<{ market: string; seq: number; checksum: number; bids: [string, string][]; asks: [string, string][] }> {
    return this.get(`/v1/markets/${encodeURIComponent(market)}/book?depth=${depth}`, { signed: false });
  }
  trades(
    market: string,
    limit = 100,
  ): Promise<{ market: string; trades: { id: string; price: string; amount: string; cost: string; takerSide: string }[] }> {
    return this.get(`/v1/markets/${encodeURIComponent(market)}/trades?limit=${limit}`, { signed: false });
  }
  placeOrder(body: PlaceOrderRequest): Promise<OrderView> {
    return this.post('/v1/orders', body);
  }
  testOrder(body: PlaceOrderRequest): Promise<unknown> {
    return this.post('/v1/orders/test', body);
  }
  getOrder(id: string): Promise<OrderView> {
    return this.get(`/v1/orders/${encodeURIComponent(id)}`);
  }
  getOrderByClientId(clientOrderId: string): Promise<OrderView> {
    return this.get(`/v1/orders/by-client-id/${encodeURIComponent(clientOrderId)}`);
  }
  listOrders(
    q: { status?: 'open' | 'closed' | 'canceled' | 'all'; market?: string; cursor?: string; limit?: number; since?: number; until?: number } = {},
  ): Promise<{ orders: OrderView[]; nextCursor: string | null }> {
    const p = new URLSearchParams(Object.entries(q).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
    return this.get(`/v1/orders${p.size ? `?${p.toString()}` : ''}`);
  }
  amendOrder(id: string, change: { price?: string; quantity?: string }): Promise<OrderView & { keptPriority: boolean }> {
    return this.request('PATCH', `/v1/orders/${encodeURIComponent(id)}`, change);
  }
  stats(market: string): Promise<{
    market: string;
    open: string | null;
    high: string | null;
    low: string | null;
    last: string | null;
    baseVolume: string;
    quoteVolume: string;
    trades: number;
    bid: string | null;
    ask: string | null;
  }> {
    return this.get(`/v1/markets/${encodeURIComponent(market)}/stats`, { signed: false });
  }
  cancelOrder(id: string): Promise<OrderView> {
    return this.delete(`/v1/orders/${encodeURIComponent(id)}`);
  }
  cancelAll(market?: string): Promise<{ cancelled: string[] }> {
    return this.post('/v1/orders/cancel-all', market ? { market } : {});
  }
  /** Dead-man's switch: all open orders are cancelled unless this is called again within timeoutMs (0 disarms). */
  cancelAfter(timeoutMs: number): Promise<{ currentTime: number; triggerTime: number | null }> {
    return this.post('/v1/orders/cancel-after', { timeoutMs });
  }
  fills(limit = 100): Promise<{
    fills: {
      id: string;
      orderId: string;
      side: string;
      takerOrMaker: string;
      price: string;
      amount: string;
      cost: string;
      fee: { currency: string; cost: string };
    }[];
  }> {
    return this.get(`/v1/account/fills?limit=${limit}`);
  }
  /** CCXT-shaped: `{ balances: { CREDIT: { free, used, total } } }`, amounts as decimal strings. */
  /**
   * Agent: redeems (consumes) `amount` of an allowance; answers the signed receipt (a compact JWS, verify it with
   * GET /.well-known/jwks.json). Idempotent by `id`: the same id again returns the same receipt.
   */
  redeem(body: {
    id: string;
    asset: string;
    amount: string;
  }): Promise<{ id: string; amount: string; receipt: string; kid: string; replayed: boolean }> {
    return this.post('/v1/redemptions', body);
  }
  balances(): Promise<{ agentId: string; balances: Record<string, { free: string; used: string; total: string }> }> {
    return this.get('/v1/account/balances');
  }
  statement(asset: string, page: { cursor?: string; limit?: number } = {}): Promise<StatementPage> {
    const q = new URLSearchParams({ asset, ...(page.cursor ? { cursor: page.cursor } : {}), ...(page.limit ? { limit: String(page.limit) } : {}) });
    return this.get(`/v1/account/statement?${q.toString()}`);
  }
}

export interface MoveResult {
  id: string;
  kind: 'mint' | 'burn';
  agentId: string;
  asset: string;
  amount: string;
  seq: string;
  replayed: boolean;
}

export interface StatementPage {
  asset: string;
  entries: {
    seq: string;
    amount: string;
    transferId: string;
    type: string;
    ref: { kind: string; id: string } | null;
    createdAt: { iso: string; ms: number };
  }[];
  nextCursor: string | null;
}

export interface AgentCreated {
  id: string;
  name: string;
  principalId: string | null;
  status: string;
  apiKey?: { keyId: string; secret: string };
}

export interface OrderView {
  id: string;
  clientOrderId: string | null;
  market: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  timeInForce: string | null;
  postOnly: boolean;
  price: string | null;
  quantity: string | null;
  spend: string | null;
  filled: string;
  remaining: string;
  cost: string;
  averagePrice: string | null;
  status: 'open' | 'closed' | 'canceled' | 'rejected' | 'expired' | 'pending_approval';
  reason: string | null;
  createdAt: { iso: string; ms: number };
  updatedAt: { iso: string; ms: number };
}

export interface MarketView {
  /** BASE-CREDIT: what paths and orders take (the symbol is also taken) */
  id: string;
  /** BASE/CREDIT: the display name */
  symbol: string;
  base: string;
  quote: string;
  state: string;
  tickSize: string;
  lotSize: string;
  minQuantity: string;
  maxQuantity: string;
  maxPrice: string;
  priceBandBps: number;
  referencePrice: string;
}
