import { MemoryThrottlerStorage } from './memory-storage';

describe('MemoryThrottlerStorage (fixed windows, as the Redis storage)', () => {
  afterEach(() => jest.useRealTimers());

  it('counts hits in a window, blocks past the limit for blockDuration, then starts a fresh window', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const s = new MemoryThrottlerStorage();
    for (let i = 1; i <= 3; i++) {
      const r = await s.increment('k', 10_000, 3, 5_000, 'default');
      expect(r).toEqual({ totalHits: i, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 });
    }
    expect(await s.increment('k', 10_000, 3, 5_000, 'default')).toEqual({ totalHits: 4, timeToExpire: 10, isBlocked: true, timeToBlockExpire: 5 });
    jest.advanceTimersByTime(4_000);
    expect(await s.increment('k', 10_000, 3, 5_000, 'default')).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    jest.advanceTimersByTime(1_000); // block over: a fresh window
    expect(await s.increment('k', 10_000, 3, 5_000, 'default')).toEqual({ totalHits: 1, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('keeps throttlers and keys apart, and a window ends after its ttl', async () => {
    jest.useFakeTimers({ now: 2_000_000 });
    const s = new MemoryThrottlerStorage();
    await s.increment('a', 1_000, 10, 1_000, 'ip');
    await s.increment('a', 1_000, 10, 1_000, 'ip');
    expect((await s.increment('a', 1_000, 10, 1_000, 'orders')).totalHits).toBe(1);
    expect((await s.increment('b', 1_000, 10, 1_000, 'ip')).totalHits).toBe(1);
    jest.advanceTimersByTime(1_000);
    expect((await s.increment('a', 1_000, 10, 1_000, 'ip')).totalHits).toBe(1);
  });

  it('forgets ended windows on its sweep, and costs the same per hit however many hits a window holds', async () => {
    jest.useFakeTimers({ now: 3_000_000 });
    const s = new MemoryThrottlerStorage(1_000);
    for (let i = 0; i < 100; i++) await s.increment(`k${i}`, 500, 10, 500, 'ip');
    expect(s.size).toBe(100);
    jest.advanceTimersByTime(1_000);
    await s.increment('fresh', 500, 10, 500, 'ip');
    expect(s.size).toBe(1);
    // 200,000 hits on one key with a high limit: the library's storage is quadratic here
    jest.useRealTimers();
    // CPU time, not wall time: a loaded machine stretches the wall clock, not the work
    // (the first and the last quarter of the hits cost alike; quadratic storage makes the last cost ~7x the first,
    // and a bound on the total alone failed on a loaded machine where JIT and GC share a core)
    const quarter = async () => {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < 50_000; i++) await s.increment('hot', 60_000, 1e9, 60_000, 'ip');
      const cpu = process.cpuUsage(cpu0);
      return cpu.user + cpu.system;
    };
    await quarter(); // warm-up of the code paths (JIT), not counted
    const first = await quarter();
    await quarter();
    const last = await quarter();
    expect((await s.increment('hot', 60_000, 1e9, 60_000, 'ip')).totalHits).toBe(200_001);
    expect(last / first).toBeLessThan(3);
  });
});
