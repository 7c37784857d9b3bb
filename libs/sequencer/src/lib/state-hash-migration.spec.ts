import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Pool } from 'pg';
import { EngineHost } from './engine-host';
import type { EngineHostOptions } from './host-types';
import { parseV2, STATE_HASH_V2 } from './state-hash';

/** A database written by the state-hash-v1 code (scripts/hash-v1-fixture.ts at commit b22bc1f). */
interface Fixture {
  assets: string[];
  markets: Record<string, unknown>[];
  agents: { id: string; name: string; num: number }[];
  commands: { seq: string; market_id: string | null; ts: string; command: unknown }[];
  checkpoints: { market_id: string; command_seq: string; state_hash: string; updated_at: string }[];
  snapshots: { command_seq: string; format: number; state: string; state_hashes: Record<string, string> }[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, '__fixtures__/hash-v1.json'), 'utf8')) as Fixture;
const LAST = Math.max(...fixture.commands.map((c) => Number(c.seq)));
const [OLD_SNAP, NEWEST_SNAP] = fixture.snapshots.map((s) => Number(s.command_seq)) as [number, number];

async function load(pool: Pool): Promise<void> {
  for (const code of fixture.assets) {
    const r = await defineAsset(pool, { code, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    if (!r.ok) throw new Error(r.code);
  }
  for (const m of fixture.markets) {
    const cols = Object.keys(m);
    await pool.query(
      `INSERT INTO market (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
      cols.map((c) => m[c]),
    );
  }
  for (const a of fixture.agents)
    await pool.query('INSERT INTO agent (id, name, num) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3)', [a.id, a.name, a.num]);
  const c = fixture.commands;
  await pool.query(
    `INSERT INTO engine_command (seq, market_id, ts, command)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::jsonb[])`,
    [c.map((r) => r.seq), c.map((r) => r.market_id), c.map((r) => r.ts), c.map((r) => JSON.stringify(r.command))],
  );
  for (const r of fixture.checkpoints)
    await pool.query('INSERT INTO engine_checkpoint (market_id, command_seq, state_hash, updated_at) VALUES ($1, $2, $3, $4)', [
      r.market_id,
      r.command_seq,
      r.state_hash,
      r.updated_at,
    ]);
  for (const s of fixture.snapshots)
    await pool.query('INSERT INTO engine_snapshot (command_seq, format, state, state_hashes) VALUES ($1, $2, $3, $4)', [
      s.command_seq,
      s.format,
      Buffer.from(s.state, 'base64'),
      JSON.stringify(s.state_hashes),
    ]);
}

/** Each market's book and the balances, as comparable values (v1 hashes: they cover both). */
const stateOf = (h: EngineHost) => h.marketIds().map((id) => ({ id, v1: h.market(id)!.engine.stateHash(), open: h.market(id)!.engine.openOrders }));

/**
 * State hash v2 (state-hash.ts) and a database written before it: its v1 checkpoints and its format-1 snapshots
 * with v1 hashes still verify (each with the v1 function), and are still refused when they do not match; what
 * the host writes from then on is v2 (snapshots in format 2), and verifies at the next start. The fixture's hashes are the v1 code's.
 */
describe('state hash v1 -> v2 (a log and snapshots written by the v1 code, real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  const pools: Pool[] = [];
  const errors: Error[] = [];
  const hosts: EngineHost[] = [];
  const host = (opts: EngineHostOptions = {}) => {
    const p = new Pool({ connectionString: db.url, max: 4 });
    // dropping the test database at the end terminates idle connections: expected then, not a failure
    p.on('error', () => undefined);
    pools.push(p);
    const h = new EngineHost(p, (e) => errors.push(e), undefined, { snapshotEvery: 0, ...opts });
    hosts.push(h);
    return h;
  };

  beforeAll(async () => {
    db = await createTestDatabase('hashv2');
    await load(db.pool);
  });
  afterAll(async () => {
    for (const h of hosts) await h.stop().catch(() => undefined);
    for (const p of pools) await p.end().catch(() => undefined);
    await db?.drop();
  });

  it('the fixture is of the v1 code: 16-hex-digit hashes, format 1', () => {
    expect(fixture.checkpoints.map((c) => [c.command_seq, /^[0-9a-f]{16}$/.test(c.state_hash)])).toEqual([
      [String(LAST), true],
      [String(LAST), true],
    ]);
    expect(fixture.snapshots.map((s) => s.format)).toEqual([1, 1]);
    expect(NEWEST_SNAP).toBe(LAST);
    // its GTD orders are far off: a host that loads it must not find them due (its timer would log commands)
    const gtd = fixture.commands.map((r) => (r.command as { c?: { tif?: string; expiresAt?: number } }).c).filter((c) => c?.tif === 'GTD');
    expect(gtd.length).toBeGreaterThan(5);
    expect(gtd.every((c) => c!.expiresAt! >= Date.UTC(2100, 0, 1))).toBe(true);
    expect(OLD_SNAP).toBeLessThan(LAST);
  });

  it('recovers a v1 database three ways (the v1 snapshot, the older v1 snapshot plus the tail, the whole log) to the same state', async () => {
    const fromNewest = host();
    expect(await fromNewest.load()).toMatchObject({ fromSnapshot: LAST, commands: 0, snapshotsRejected: 0, checkpointsVerified: 2 });
    const full = host({ restoreSnapshots: false });
    expect(await full.load()).toMatchObject({ fromSnapshot: null, commands: LAST, checkpointsVerified: 2 });
    // the newest snapshot made unusable: the older one, then the tail through the v1 checkpoints
    await db.pool.query(`UPDATE engine_snapshot SET state = '\\x0102'::bytea WHERE command_seq = $1`, [NEWEST_SNAP]);
    const fromOlder = host();
    expect(await fromOlder.load()).toMatchObject({ fromSnapshot: OLD_SNAP, commands: LAST - OLD_SNAP, snapshotsRejected: 1, checkpointsVerified: 2 });
    const v1Hashes = fixture.checkpoints.map((c) => c.state_hash);
    for (const h of [fromNewest, full, fromOlder]) expect(stateOf(h).map((m) => m.v1)).toEqual(v1Hashes);
    expect(stateOf(fromNewest).reduce((n, m) => n + m.open, 0)).toBeGreaterThan(20);
    await db.pool.query('UPDATE engine_snapshot SET state = $2 WHERE command_seq = $1', [
      NEWEST_SNAP,
      Buffer.from(fixture.snapshots[1]!.state, 'base64'),
    ]);
  });

  it('still refuses a v1 checkpoint or a v1 snapshot hash that does not match', async () => {
    const [cp] = fixture.checkpoints;
    await db.pool.query(`UPDATE engine_checkpoint SET state_hash = '0123456789abcdef' WHERE market_id = $1`, [cp!.market_id]);
    await expect(host({ restoreSnapshots: false }).load()).rejects.toThrow(
      /recovery diverged: market HA\.1K\/CREDIT hashes to [0-9a-f]{16} after command/,
    );
    await db.pool.query('UPDATE engine_checkpoint SET state_hash = $2 WHERE market_id = $1', [cp!.market_id, cp!.state_hash]);

    const restoreErrors: string[] = [];
    await db.pool.query(
      `UPDATE engine_snapshot SET state_hashes = jsonb_set(state_hashes, '{HB.1K/CREDIT}', '"fedcba9876543210"') WHERE command_seq = $1`,
      [NEWEST_SNAP],
    );
    const h = host({ onSnapshotError: (e) => restoreErrors.push(e.message) });
    expect(await h.load()).toMatchObject({ fromSnapshot: OLD_SNAP, snapshotsRejected: 1 });
    expect(restoreErrors).toEqual([
      expect.stringMatching(/market HB\.1K\/CREDIT restores to state hash [0-9a-f]{16}, the snapshot says fedcba9876543210/),
    ]);
    await db.pool.query('UPDATE engine_snapshot SET state_hashes = $2 WHERE command_seq = $1', [
      NEWEST_SNAP,
      JSON.stringify(fixture.snapshots[1]!.state_hashes),
    ]);
  });

  it('writes v2 from then on (checkpoints and snapshots), which verify at the next start; a v2 mismatch says which part differs', async () => {
    const a = host({ snapshotEvery: 1_000 });
    await a.load();
    // away from the book, so that nothing trades: the fixture has the engine's log, not the ledger's balances
    const agents = fixture.agents.map((x) => x.id);
    for (let i = 0; i < 40; i++) {
      const r = await a.submit({
        kind: 'place',
        marketId: i % 2 ? 'HA.1K/CREDIT' : 'HB.1K/CREDIT',
        agentId: agents[i % agents.length]!,
        order:
          i % 3
            ? { type: 'limit', side: 'buy', price: 900 + (i % 20), lots: 1 + (i % 5) }
            : { type: 'limit', side: 'sell', price: 1100 + (i % 20), lots: 1 },
      });
      expect(r.code).toBeNull();
    }
    await a.stop(); // a checkpoint and a snapshot of the final state
    expect(errors).toEqual([]);
    const end = LAST + 40;
    const cps = (
      await db.pool.query<{ command_seq: string; state_hash: string }>('SELECT command_seq, state_hash FROM engine_checkpoint ORDER BY market_id')
    ).rows;
    expect(cps.map((c) => [Number(c.command_seq), c.state_hash.startsWith(STATE_HASH_V2)])).toEqual([
      [end, true],
      [end, true],
    ]);
    // one balance digest for all markets, a book digest each
    const parts = cps.map((c) => parseV2(c.state_hash)!);
    expect(parts[0]!.held).toBe(parts[1]!.held);
    expect(parts[0]!.book).not.toBe(parts[1]!.book);
    const snaps = (
      await db.pool.query<{ command_seq: string; state_hashes: Record<string, string> }>(
        'SELECT command_seq, state_hashes FROM engine_snapshot ORDER BY command_seq DESC',
      )
    ).rows;
    expect(snaps.map((s) => Number(s.command_seq))).toEqual([end, LAST]); // the v1 one before it is kept as the fallback
    // format 2: the balances sparse (known agents, non-zero balances), not a column per asset over every agent
    const row = (await db.pool.query<{ format: number; state: Buffer }>('SELECT format, state FROM engine_snapshot WHERE command_seq = $1', [end]))
      .rows[0]!;
    const doc = JSON.parse(gunzipSync(row.state).toString('utf8'));
    expect({ format: row.format, known: doc.known, total: doc.total, cells: Object.keys(doc.cells) }).toEqual({
      format: 2,
      known: fixture.agents.map((a) => a.num),
      total: undefined,
      cells: ['agent', 'asset', 'total', 'reserved'],
    });
    expect(doc.cells.total.every((t: number) => t > 0)).toBe(true);
    expect(snaps[0]!.state_hashes).toEqual(Object.fromEntries(cps.map((c, i) => [['HA.1K/CREDIT', 'HB.1K/CREDIT'][i], c.state_hash])));

    const fromV2 = host();
    expect(await fromV2.load()).toMatchObject({ fromSnapshot: end, commands: 0, snapshotsRejected: 0, checkpointsVerified: 2 });
    const fromV1 = host();
    await db.pool.query(`UPDATE engine_snapshot SET state = '\\x0102'::bytea WHERE command_seq = $1`, [end]);
    expect(await fromV1.load()).toMatchObject({ fromSnapshot: LAST, commands: 40, snapshotsRejected: 1, checkpointsVerified: 2 }); // v1 snapshot, v2 checkpoint
    const full = host({ restoreSnapshots: false });
    expect(await full.load()).toMatchObject({ fromSnapshot: null, commands: end, checkpointsVerified: 2 });
    expect(stateOf(fromV1)).toEqual(stateOf(a));
    expect(stateOf(full)).toEqual(stateOf(a));
    expect(stateOf(fromV2)).toEqual(stateOf(a));

    // a v2 checkpoint that does not match: the error names the part (book or balances) that differs
    const [p0] = parts;
    for (const [hash, part] of [
      [`${STATE_HASH_V2}0000000000000000:${p0!.held}`, /: book [0-9a-f]{16}, recorded 0000000000000000$/],
      [`${STATE_HASH_V2}${p0!.book}:0000000000000000`, /: balances [0-9a-f]{16}, recorded 0000000000000000$/],
    ] as const) {
      await db.pool.query(`UPDATE engine_checkpoint SET state_hash = $1 WHERE market_id = 'HA.1K/CREDIT'`, [hash]);
      await expect(host({ restoreSnapshots: false }).load()).rejects.toThrow(part);
    }
  });
});
