import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EngineLink } from '../engine/engine-link';

/** Shortest and longest dead-man's switch timeouts, ms: under 1 s a network hiccup cancels everything; 10 min bounds state. */
export const CANCEL_AFTER_MIN_MS = 1_000;
export const CANCEL_AFTER_MAX_MS = 600_000;
/** How often lapsed switches are looked for, ms: the cancel fires at most this late. */
const DEADMAN_CHECK_MS = 100;

/**
 * The dead-man's switch (cancel-after, as Kraken and Bybit offer): an agent sends heartbeats with a timeout;
 * if one lapses, all its open orders are cancelled through the sequencer. Held per api process (the single-node
 * default); a restart disarms every switch, which the response of each heartbeat makes visible (triggerTime).
 */
@Injectable()
export class DeadmanService implements OnModuleInit, OnApplicationShutdown {
  private readonly deadlines = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly logger = new Logger('Deadman');

  constructor(private readonly engine: EngineLink) {}

  onModuleInit(): void {
    this.timer = setInterval(() => this.fire(), DEADMAN_CHECK_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Arms (or re-arms) the switch; 0 disarms it. */
  heartbeat(agentId: string, timeoutMs: number): { currentTime: number; triggerTime: number | null } {
    const now = Date.now();
    if (timeoutMs === 0) {
      this.deadlines.delete(agentId);
      return { currentTime: now, triggerTime: null };
    }
    this.deadlines.set(agentId, now + timeoutMs);
    return { currentTime: now, triggerTime: now + timeoutMs };
  }

  private fire(): void {
    const now = Date.now();
    for (const [agentId, at] of this.deadlines) {
      if (at > now) continue;
      this.deadlines.delete(agentId);
      this.engine
        .submit({ kind: 'cancel_all', agentId })
        .then((r) =>
          this.logger.log(`dead-man's switch of ${agentId} lapsed: ${r.events.filter((e) => e.kind === 'cancelled').length} order(s) cancelled`),
        )
        .catch((e: Error) => this.logger.error(`dead-man's switch of ${agentId}: cancel-all failed: ${e.message}`));
    }
  }
}
