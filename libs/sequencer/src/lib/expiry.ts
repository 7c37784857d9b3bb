/**
 * GTD orders expire on time: a timer at the earliest known expiry asks the host to send a `tick` through the
 * sequence (so the expiry is logged and replays exactly). Expiries of orders that ended earlier just cause a
 * harmless tick. The schedule itself is EngineCore's (`expiries`), rebuilt by recovery.
 */
export class ExpiryTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly tick: (marketId: string) => void) {}

  /** (Re)arms the timer for the earliest expiry of `expiries` (sorted here; due entries are taken off when it fires). */
  schedule(expiries: { at: number; marketId: string }[] | undefined): void {
    if (this.stopped || !expiries || expiries.length === 0) return;
    expiries.sort((a, b) => a.at - b.at);
    const next = expiries[0] as { at: number };
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        const now = Date.now();
        const due = new Set<string>();
        while (expiries.length > 0 && (expiries[0] as { at: number }).at <= now) due.add((expiries.shift() as { marketId: string }).marketId);
        for (const marketId of due) this.tick(marketId);
        this.schedule(expiries);
      },
      Math.max(0, Math.min(next.at - Date.now() + 1, 2 ** 31 - 1)),
    );
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
