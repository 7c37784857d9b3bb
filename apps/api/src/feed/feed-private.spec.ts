import type { FeedPrivateMessage } from '@ate/contracts';
import { TokenBucket } from './feed-limits';
import { PrivateStreams } from './feed-private';

const msg = (agent: string, seq: number): FeedPrivateMessage => ({
  agent,
  seq,
  commandSeq: 100 + seq,
  ts: 0,
  type: 'balance',
  asset: 'CREDIT',
  total: String(seq),
  used: '0',
  free: String(seq),
});

describe('PrivateStreams: an agent private stream on a node, its epoch and bounded replay', () => {
  it('replays exactly what came after since, or says why not, in precedence order', () => {
    const p = new PrivateStreams(5);
    const { epoch } = p.open('a');
    for (let s = 1; s <= 9; s++) p.push(msg('a', s));
    p.push(msg('b', 1)); // another agent's stream: never mixed in
    const seqs = (r: ReturnType<PrivateStreams['since']>) => (Array.isArray(r) ? r.map((m) => m.seq) : r);
    const cases: [what: string, epoch: string | undefined, since: number, want: number[] | string][] = [
      ['no epoch', undefined, 8, 'other_stream'],
      ['another epoch', 'x', 8, 'other_stream'],
      ['a seq never reached', epoch, 10, 'replay_unavailable'],
      ['older than the 5 kept', epoch, 3, 'replay_unavailable'],
      ['the oldest kept follows', epoch, 4, [5, 6, 7, 8, 9]],
      ['a short gap', epoch, 7, [8, 9]],
      ['up to date', epoch, 9, []],
    ];
    for (const [what, e, since, want] of cases) expect([what, seqs(p.since('a', e, since, 9))]).toEqual([what, want]);
  });

  it('stays bounded however long it runs, and a dropped stream comes back with a new epoch', () => {
    const p = new PrivateStreams(3);
    const first = p.open('a').epoch;
    for (let s = 1; s <= 10_000; s++) p.push(msg('a', s));
    expect(p.since('a', first, 9_997, 10_000)).toEqual([msg('a', 9_998), msg('a', 9_999), msg('a', 10_000)]);
    expect(p.open('a').epoch).toBe(first); // open again: the same stream
    p.drop('a');
    const second = p.open('a').epoch;
    expect(second).not.toBe(first);
    expect(p.since('a', first, 10_000, 10_000)).toBe('other_stream');
    expect(p.since('a', second, 10_000, 10_000)).toEqual([]);
  });
});

describe('TokenBucket: the subscribe rate limit', () => {
  it('passes a burst, then one per 1/rate seconds, answering how long to wait', () => {
    const t0 = 1_000_000;
    const b = new TokenBucket(4, 3, t0);
    expect([b.take(t0), b.take(t0), b.take(t0)]).toEqual([0, 0, 0]);
    expect(b.take(t0)).toBe(250); // empty: a token in 250 ms (4 a second)
    expect(b.take(t0 + 100)).toBe(150); // a refusal spends nothing
    expect(b.take(t0 + 250)).toBe(0);
    expect(b.take(t0 + 250)).toBe(250);
    // idle for long: the bucket refills up to the burst, no more
    expect([0, 0, 0, 1].map(() => b.take(t0 + 60_000))).toEqual([0, 0, 0, 250]);
  });
});
