import { AUTH_RECV_WINDOW_MS as W, mulberry32 } from '@ate/contracts';
import { MemoryReplayCache, REPLAY_MARGIN_MS as M, replayTtlMs } from './replay-cache';

describe('replay window: how long a signature is remembered', () => {
  it.each([
    ['the oldest timestamp accepted', -W, M],
    ['a timestamp of now', 0, W + M],
    ['the newest timestamp accepted', W, 2 * W + M],
  ])('%s (ts = now %s ms) is kept for %i ms: to the end of its window plus the margin', (_n, offset, ttl) => {
    expect(replayTtlMs(1_000_000 + offset, 1_000_000)).toBe(ttl);
  });

  it('covers every node that would still accept the timestamp, for node clocks apart by up to the margin (seeded)', () => {
    // Node A (clock = real + a) accepts at real time rA; node B (clock = real + b) accepts the same timestamp until
    // its clock passes ts + W. The signature must be remembered (from rA, for the TTL A computed) until then.
    // The earlier rule (2 W from acceptance) fails this at ts = now + W with B 1 ms behind.
    const rnd = mulberry32(16);
    for (let i = 0; i < 10_000; i++) {
      const rA = 1_800_000_000_000 + Math.floor(rnd() * 1e6);
      const a = Math.round((rnd() - 0.5) * M);
      const b = Math.round((rnd() - 0.5) * M); // |a - b| <= M
      const ts = rA + a + Math.round((rnd() * 2 - 1) * W); // inside A's window
      const rememberedUntil = rA + replayTtlMs(ts, rA + a);
      const lastAcceptedOnB = ts + W - b;
      expect(rememberedUntil).toBeGreaterThanOrEqual(lastAcceptedOnB);
    }
  });
});

describe('MemoryReplayCache bounds', () => {
  afterEach(() => jest.useRealTimers());

  it('refuses a replay until the TTL ends, then forgets the signature', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const c = new MemoryReplayCache(10, 100);
    expect(await c.firstUse('s1', 'ak_a', 500, Date.now())).toBe(true);
    jest.setSystemTime(1_000_499);
    expect(await c.firstUse('s1', 'ak_a', 500, Date.now())).toBe(false);
    jest.setSystemTime(1_000_500);
    c.forgetEnded(Date.now());
    expect(await c.firstUse('s1', 'ak_a', 500, Date.now())).toBe(true);
    c.close();
  });

  it('one key cannot fill the cache for everyone: past its own bound it is refused 429, other keys go on', async () => {
    const c = new MemoryReplayCache(3, 5);
    const now = Date.now();
    for (let i = 0; i < 3; i++) expect(await c.firstUse(`a${i}`, 'ak_a', 60_000, now)).toBe(true);
    await expect(c.firstUse('a3', 'ak_a', 60_000, now)).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: 'signatures_per_key', max: 3 },
    });
    expect(await c.firstUse('b0', 'ak_b', 60_000, now)).toBe(true);
    expect(await c.firstUse('b1', 'ak_b', 60_000, now)).toBe(true);
    // the overall bound still holds memory when many keys are busy at once
    await expect(c.firstUse('c0', 'ak_c', 60_000, now)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    c.forgetEnded(now + 60_000);
    expect(await c.firstUse('a3', 'ak_a', 60_000, now + 60_000)).toBe(true);
    c.close();
  });
});
