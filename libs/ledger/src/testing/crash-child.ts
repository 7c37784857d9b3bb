/**
 * The child of crash.spec.ts: writes batches to the ledger until it is killed. Every request of every batch is
 * one the ledger accepts (funds suffice, holds are fresh), so "the batch is present in full" means all of its
 * ids. Protocol on stdout, one line each:
 *   ready
 *   begin <batch number> <requests> <the batch as JSON, amounts as strings>   (before the batch is sent)
 *   committed <batch number> <requests>   (only after COMMIT returned)
 * (Writes to a pipe are synchronous on Linux: a line printed is a line the parent reads, kill or not.)
 * argv: <database url> <tag> <seed> <account ids, comma-separated; the first is funded>
 */
import { mulberry32 } from '@ate/contracts';
import { Pool } from 'pg';
import { commitBatch } from '../lib/writer';
import type { LedgerRequest } from '../lib/types';

/** Requests per batch, count. */
const PER_BATCH = 40;

async function main(): Promise<void> {
  const [url, tag, seedText, accountsText] = process.argv.slice(2) as [string, string, string, string];
  const accounts = accountsText.split(',');
  const funded = accounts[0] as string;
  const rand = mulberry32(Number(seedText));
  const pool = new Pool({ connectionString: url, max: 2, application_name: 'ledger-crash-child' });
  await pool.query('SELECT 1');
  process.stdout.write('ready\n');
  for (let b = 0; ; b++) {
    const batch: LedgerRequest[] = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const id = `${tag}-${b}-${i}`;
      const to = accounts[1 + Math.floor(rand() * (accounts.length - 1))] as string;
      const amount = BigInt(1 + Math.floor(rand() * 10));
      const r = rand();
      if (r < 0.7) {
        batch.push({
          kind: 'transfer',
          id,
          type: 'settlement',
          legs: [
            { accountId: funded, side: 'debit', amount },
            { accountId: to, side: 'credit', amount },
          ],
        });
      } else {
        // a hold and its resolution in the same batch
        batch.push({ kind: 'hold', id, accountId: funded, amount });
        batch.push(
          r < 0.85 ? { kind: 'void', id: `${id}-v`, holdId: id } : { kind: 'post', id: `${id}-p`, holdId: id, credits: [{ accountId: to, amount }] },
        );
      }
    }
    const json = JSON.stringify(batch, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    process.stdout.write(`begin ${b} ${batch.length} ${json}\n`);
    const results = await commitBatch(pool, batch);
    const bad = results.find((x) => !x.ok);
    if (bad) throw new Error(`crash child: unexpected rejection ${JSON.stringify(bad)}`);
    process.stdout.write(`committed ${b} ${batch.length}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exit(1);
});
