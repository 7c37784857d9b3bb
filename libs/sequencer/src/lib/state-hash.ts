import { type BalanceView, bookHashOf, heldHashOfSparse, type MatchingEngine } from '@ate/matching';
import type { EngineCore } from './core';
import type { HostState } from './engine-snapshot';

/**
 * The state hashes the host records (engine_checkpoint.state_hash, engine_snapshot.state_hashes) and recovery
 * verifies, in two versions told apart by the text itself (no column, no migration):
 *
 * - v1, 16 hex digits: MatchingEngine.stateHash(), the book and the whole balance view, every known agent x every
 *   asset, per market. Written before 2026-12-02; still verified (recovery.ts) so that a database of that time
 *   recovers. Cost O(orders + agents x assets) per market: at 1,000,000 agents a checkpoint would take minutes.
 * - v2, `v2:<book>:<held>`: the market's bookHash() (O(its orders), reused while its book is unchanged) and the
 *   balance view's heldHash() (O(balances held), computed once for all markets). Written now.
 *
 * A checkpoint of either version verifies with its own function; new checkpoints and snapshots are v2.
 */
export const STATE_HASH_V2 = 'v2:';

export function stateHashV2(book: string, held: string): string {
  return `${STATE_HASH_V2}${book}:${held}`;
}

/** The two parts of a v2 hash; null for a v1 hash (or anything else). */
export function parseV2(hash: string): { book: string; held: string } | null {
  if (!hash.startsWith(STATE_HASH_V2)) return null;
  const [book, held, ...rest] = hash.slice(STATE_HASH_V2.length).split(':');
  return book && held && rest.length === 0 ? { book, held } : null;
}

/** Every market's v2 hash now (the balance digest computed once). */
export function checkpointHashes(core: EngineCore): { marketId: string; hash: string }[] {
  const held = core.balances.heldHash();
  return [...core.markets.values()].map((m) => ({ marketId: m.id, hash: stateHashV2(m.engine.bookHash(), held) }));
}

/** Each market's v2 hash in a captured state (what the restored host will hash to). */
export function capturedHashes(s: HostState): Record<string, string> {
  const held = heldHashOfSparse(s.balances);
  const out: Record<string, string> = {};
  for (const m of s.markets) out[m.id] = stateHashV2(bookHashOf(m.engine), held);
  return out;
}

/**
 * Compares a market with a v2 hash: null when it matches, else what differs. `held` is the view's heldHash(),
 * computed once by the caller for all the markets it checks at one point.
 */
export function v2Mismatch(engine: MatchingEngine, held: string, want: { book: string; held: string }): string | null {
  const book = engine.bookHash();
  if (book === want.book && held === want.held) return null;
  const parts = [
    book !== want.book ? `book ${book}, recorded ${want.book}` : '',
    held !== want.held ? `balances ${held}, recorded ${want.held}` : '',
  ];
  return parts.filter(Boolean).join('; ');
}

/** The view's heldHash(), computed at most once per point of the log. */
export class HeldAt {
  private at = -1;
  private value = '';
  constructor(private readonly view: BalanceView) {}
  get(seq: number): string {
    if (seq !== this.at) {
      this.value = this.view.heldHash();
      this.at = seq;
    }
    return this.value;
  }
}
