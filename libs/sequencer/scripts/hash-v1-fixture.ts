/**
 * Writes libs/sequencer/src/lib/__fixtures__/hash-v1.json: a database as the code before state hash v2 left it
 * (commit 8fe1764): two markets, ~700 mixed commands in engine_command, two format-1 snapshots with v1 state hashes
 * and v1 checkpoints in engine_checkpoint. state-hash-migration.spec.ts loads it into a fresh database and recovers.
 * Run once, at that commit:  node -r @swc-node/register libs/sequencer/scripts/hash-v1-fixture.ts
 * (kept for the record: run with the current code it would write v2 hashes).
 */
import { mulberry32 } from '@ate/contracts';
import { createTestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { EngineHost } from '../src/lib/engine-host';
import type { HostCommand } from '../src/lib/host-types';

const M1 = 'HA.1K/CREDIT';
const M2 = 'HB.1K/CREDIT';
const AGENTS = ['agt_hashv101', 'agt_hashv102', 'agt_hashv103', 'agt_hashv104'];

async function main(): Promise<void> {
  const db = await createTestDatabase('hashv1fixture');
  const pool = new Pool({ connectionString: db.url, max: 4 });
  try {
    for (const code of ['HA.1K', 'HB.1K']) {
      const r = await defineAsset(pool, { code, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
      if (!r.ok) throw new Error(r.code);
    }
    for (const [id, base, maker, taker] of [
      [M1, 'HA.1K', 10, 20],
      [M2, 'HB.1K', 0, 0],
    ] as const)
      await pool.query(
        `INSERT INTO market (id, base_asset, tick_size, lot_size, min_order_lots, max_order_lots, max_price_ticks, price_band_bps,
                             initial_price_ticks, default_stp, orders_per_agent_max, max_spend_credits, maker_fee_bps, taker_fee_bps)
         VALUES ($1, $2, 1, 1, 1, 1000000, 1048576, 5000, 1000, 'cancel_taker', 100000, 1000000000, $3, $4)`,
        [id, base, maker, taker],
      );
    await pool.query(`INSERT INTO agent (id, name) SELECT unnest($1::text[]), 'hashv1'`, [AGENTS]);
    const errors: Error[] = [];
    const host = new EngineHost(pool, (e) => errors.push(e), undefined, { snapshotEvery: 250 });
    await host.load();
    const rand = mulberry32(15);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    let n = 0;
    const funds = (agentId: string, asset: string, amount: bigint, op: 'deposit' | 'withdraw' = 'deposit'): HostCommand => ({
      kind: 'funds',
      op,
      agentId,
      asset,
      amount,
      transferId: `hv1-${op}-${n++}`,
    });
    const resting: { marketId: string; agentId: string; orderId: number }[] = [];
    const submit = async (cmds: HostCommand[]) => {
      const rs = await Promise.all(cmds.map((c) => host.submit(c)));
      rs.forEach((r, i) => {
        const c = cmds[i] as HostCommand;
        if (c.kind === 'place' && r.order?.['status'] === 'open')
          resting.push({ marketId: c.marketId, agentId: c.agentId, orderId: r.orderId as number });
      });
    };
    await submit(AGENTS.flatMap((a) => [funds(a, 'CREDIT', 10_000_000n), funds(a, 'HA.1K', 100_000n), funds(a, 'HB.1K', 100_000n)]));
    for (let round = 0; round < 35; round++) {
      const cmds: HostCommand[] = [];
      for (let i = 0; i < 20; i++) {
        const x = rand();
        const marketId = pick([M1, M2]);
        const agentId = pick(AGENTS);
        const side = rand() < 0.5 ? ('buy' as const) : ('sell' as const);
        const away = 1 + Math.floor(rand() * 20);
        if (x < 0.5) {
          const price = side === 'buy' ? 1000 - away : 1000 + away;
          cmds.push({
            kind: 'place',
            marketId,
            agentId,
            order: { type: 'limit', side, price, lots: 1 + Math.floor(rand() * 9), ...(rand() < 0.3 ? { clientOrderId: `h${n++}` } : {}) },
          });
        } else if (x < 0.7) {
          cmds.push({
            kind: 'place',
            marketId,
            agentId,
            order: { type: 'limit', side, price: side === 'buy' ? 1000 + away : 1000 - away, lots: 1 + Math.floor(rand() * 12) },
          });
        } else if (x < 0.85 && resting.length > 0) {
          const o = resting.splice(Math.floor(rand() * resting.length), 1)[0]!;
          cmds.push({ kind: 'cancel', marketId: o.marketId, agentId: o.agentId, orderId: o.orderId });
        } else if (x < 0.9) {
          cmds.push({
            kind: 'place',
            marketId,
            agentId,
            order: { type: 'limit', side, price: side === 'buy' ? 950 : 1050, lots: 2, tif: 'GTD', expiresAt: Date.now() + 3_600_000 },
          });
        } else
          cmds.push(funds(agentId, pick(['CREDIT', 'HA.1K', 'HB.1K']), BigInt(1 + Math.floor(rand() * 500)), rand() < 0.5 ? 'deposit' : 'withdraw'));
      }
      await submit(cmds);
    }
    await host.stop(); // the checkpoint at the last command, and a snapshot of the final state
    if (errors.length > 0) throw errors[0];
    const q = async (sql: string) => (await pool.query(sql)).rows;
    const fixture = {
      writtenBy: 'libs/sequencer/scripts/hash-v1-fixture.ts at commit 8fe1764 (state hash v1, snapshot format 1)',
      assets: ['HA.1K', 'HB.1K'],
      markets: await q('SELECT * FROM market ORDER BY id'),
      agents: await q('SELECT id, name, num FROM agent ORDER BY num'),
      commands: await q('SELECT seq::text, market_id, ts::text, command FROM engine_command ORDER BY engine_command.seq'),
      checkpoints: await q('SELECT market_id, command_seq::text, state_hash, updated_at FROM engine_checkpoint ORDER BY market_id'),
      snapshots: (await q('SELECT command_seq::text, format, state, state_hashes FROM engine_snapshot ORDER BY engine_snapshot.command_seq')).map(
        (r) => ({
          ...r,
          state: (r.state as Buffer).toString('base64'),
        }),
      ),
    };
    writeFileSync(join(__dirname, '../src/lib/__fixtures__/hash-v1.json'), JSON.stringify(fixture, null, 1) + '\n');
    console.log(`${fixture.commands.length} commands, ${fixture.snapshots.length} snapshots, checkpoints ${JSON.stringify(fixture.checkpoints)}`);
  } finally {
    await pool.end();
    await db.drop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
