import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import loadHighs from 'highs';
import { clearCombinatorial, highsSolver, type CombinatorialAuction } from '@ate/mechanisms';

/**
 * The combinatorial clearing's thread: HiGHS (wasm) solves block their thread for up to seconds, so they run here,
 * never on the api's (which in the single-node default is also the sequencer's). highs.wasm is compiled once per
 * worker; highsSolver replaces runtimes as the library's README says. Messages: { id, payments, items (with reserves), bids } in
 * (amounts as decimal strings), { id, result } out (the clearing or a Rejection, amounts as strings).
 */
type Wire = {
  id: number;
  payments: 'vcg' | 'core';
  items: { id: string; reserve: string }[];
  bids: { bidder: string; bundles: { items: string[]; value: string }[] }[];
};

const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;
const solver = wasm
  .compile(readFileSync(require.resolve('highs/runtime')))
  .then((wasmModule) => highsSolver({ load: () => loadHighs({ wasmModule: wasmModule as never }), timeLimitSeconds: 20 }));

const text = (_: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

parentPort?.on('message', (m: Wire) => {
  void (async () => {
    const auction: CombinatorialAuction = {
      items: m.items.map((it) => ({ id: it.id, reserve: BigInt(it.reserve) })),
      bids: m.bids.map((b) => ({ bidder: b.bidder, bundles: b.bundles.map((x) => ({ items: x.items, value: BigInt(x.value) })) })),
    };
    try {
      const r = await clearCombinatorial(auction, { solver: await solver, payments: m.payments });
      parentPort?.postMessage({ id: m.id, result: JSON.parse(JSON.stringify(r, text)) });
    } catch (e) {
      parentPort?.postMessage({ id: m.id, result: { ok: false, code: 'MECHANISM_SOLVER_FAILED', details: { message: (e as Error).message } } });
    }
  })();
});
