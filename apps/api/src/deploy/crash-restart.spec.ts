import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AteClient } from '@ate/client';
import { TEST_ADMIN } from '../testing/admin-key';
import { freePort, REPO_ROOT } from '../testing/api-process';

/** Rounds of kill-and-restart (CRASH_ROUNDS=10 for a longer run by hand); each is a few seconds on 2 cores. */
const ROUNDS = Number(process.env['CRASH_ROUNDS'] ?? 3);

/**
 * The single-node default (api, engine and embedded Postgres in one process group) SIGKILLed as a whole under
 * load, as an OOM kill or a power cut would, and started again at once, several times in a row: each start
 * comes up (waiting out what the killed server leaves for a moment), keeps every acknowledged order, and
 * reconciles.
 */
describe('restart after a SIGKILL of the whole single node, under load', () => {
  jest.setTimeout(60_000 + ROUNDS * 60_000);
  const base = mkdtempSync(join(tmpdir(), 'ate-crash-'));
  chmodSync(base, 0o755); // the embedded server runs as its own user where we are root
  let env: Record<string, string>;
  let server: { child: ChildProcess; out: string } | undefined;

  const start = (): { child: ChildProcess; out: string } => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/api/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      detached: true, // a group of its own: api, engine and Postgres, killed together
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const s = { child, out: '' };
    child.stdout?.on('data', (d: Buffer) => (s.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (s.out += d.toString()));
    return s;
  };
  const killGroup = (s: { child: ChildProcess } | undefined) => {
    try {
      if (s?.child.pid) process.kill(-s.child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  const ready = async (s: { child: ChildProcess; out: string }, timeoutMs = 60_000) => {
    const t0 = Date.now();
    for (;;) {
      if (
        await fetch(`http://127.0.0.1:${env['PORT']}/ready`).then(
          (r) => r.status === 200,
          () => false,
        )
      )
        return Date.now() - t0;
      if (s.child.exitCode !== null) throw new Error(`exited with ${s.child.exitCode}: ${s.out.slice(-1500)}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`not ready in ${timeoutMs} ms: ${s.out.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    env = {
      DATABASE_URL: '',
      DATA_DIR: join(base, 'data'),
      EMBEDDED_PG_PORT: String(await freePort()),
      PORT: String(await freePort()),
      MASTER_KEY: randomBytes(32).toString('base64'),
      ADMIN_KEY_ID: TEST_ADMIN.keyId,
      ADMIN_SECRET: TEST_ADMIN.secret,
      LOG_LEVEL: 'warn',
      RECONCILE_EVERY_MS: '0',
    };
  });
  afterAll(() => {
    killGroup(server);
    rmSync(base, { recursive: true, force: true });
  });

  it(`comes back ${ROUNDS} times in a row with every acknowledged order and a clean reconciliation`, async () => {
    server = start();
    await ready(server);
    const url = `http://127.0.0.1:${env['PORT']}`;
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.syncTime();
    await admin.defineAsset({ code: 'CRASH.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'output-1k-tokens' });
    const market = await admin.createMarket({ base: 'CRASH.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 10_000, priceBandBps: 5000 });
    const traders: AteClient[] = [];
    for (const side of ['buy', 'sell']) {
      const a = await admin.createAgent({ name: `crash-${side}` });
      await admin.deposit({
        id: `crash-${side}`,
        agentId: a.id,
        asset: side === 'buy' ? 'CREDIT' : 'CRASH.1K',
        amount: side === 'buy' ? '1000000.000' : '100000',
      });
      if (!a.apiKey) throw new Error('no key');
      traders.push(new AteClient({ baseUrl: url, ...a.apiKey }));
    }
    const acked: { client: AteClient; id: string }[] = [];
    const restarts: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // load: both agents place crossing orders as fast as they are answered, until the kill
      let loading = true;
      let n = 0;
      const load = traders.map(async (c, i) => {
        while (loading) {
          const price = (9.9 + ((n++ * 7) % 20) / 100).toFixed(3);
          const o = await c
            .placeOrder({
              market: market.id,
              side: i === 0 ? 'buy' : 'sell',
              type: 'limit',
              price,
              quantity: '1',
              clientOrderId: `r${round}-${i}-${n}`,
            })
            .catch(() => undefined);
          if (o && loading) acked.push({ client: c, id: o.id });
        }
      });
      await new Promise((r) => setTimeout(r, 1000));
      const before = acked.length;
      killGroup(server);
      loading = false;
      await Promise.all(load);
      acked.length = before; // answers that raced the kill are not counted as acknowledged
      server = start(); // at once
      restarts.push(await ready(server));
    }
    expect(server.out).not.toContain('start-up failed');
    expect(acked.length).toBeGreaterThan(ROUNDS * 5);
    for (const c of traders) await c.syncTime();
    const missing: string[] = [];
    for (const { client, id } of acked) {
      const found = await client.getOrder(id).then(
        () => true,
        () => false,
      );
      if (!found) missing.push(id);
    }
    expect(missing).toEqual([]);
    const rec = await admin.reconciliation();
    expect({ ok: rec.ok, violations: rec.violations }).toEqual({ ok: true, violations: [] });
    process.stdout.write(`crash-restart: ${ROUNDS} rounds, ${acked.length} acknowledged orders kept, ready again in ${restarts.join(', ')} ms\n`);
  });
});
