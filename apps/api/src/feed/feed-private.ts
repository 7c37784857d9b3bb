import { randomUUID } from 'node:crypto';
import type { FeedPrivateMessage } from '@ate/contracts';

/** Why a private replay cannot be given (FeedPrivateResyncRequired.reason). */
export type PrivateReplayMiss = 'other_stream' | 'replay_unavailable';

interface Stream {
  epoch: string;
  /** the last messages sent, oldest first (at most 2 x max before it is trimmed to max) */
  ring: FeedPrivateMessage[];
}

/**
 * Each followed agent's private stream on this api node: an epoch (a random id, new whenever the node starts
 * counting the agent's updates again: the first follower, or after its stream was dropped) and a bounded buffer of
 * its last messages, so a client that reconnects with the seq and epoch it last saw gets exactly what it missed.
 * The agent's seq alone would not do: it is this node's count, and a node counts only while it follows the agent.
 */
export class PrivateStreams {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly max: number) {}

  /** The agent's stream, opened with a new epoch if there is none. */
  open(agent: string): { epoch: string } {
    let s = this.streams.get(agent);
    if (!s) this.streams.set(agent, (s = { epoch: randomUUID(), ring: [] }));
    return { epoch: s.epoch };
  }

  /** A message just sent: kept in its agent's stream (opened if need be). */
  push(m: FeedPrivateMessage): void {
    this.open(m.agent);
    const ring = (this.streams.get(m.agent) as Stream).ring;
    ring.push(m);
    if (ring.length > 2 * this.max) ring.splice(0, ring.length - this.max);
  }

  /**
   * Every message after `since` in the agent's stream `epoch` when the buffer still holds them all (`current` is
   * the agent's seq now), else why not.
   */
  since(agent: string, epoch: string | undefined, since: number, current: number): FeedPrivateMessage[] | PrivateReplayMiss {
    const s = this.streams.get(agent);
    if (!s || epoch === undefined || s.epoch !== epoch) return 'other_stream';
    if (since > current) return 'replay_unavailable';
    if (since === current) return [];
    const ring = s.ring;
    const from = ring.length - Math.min(ring.length, this.max);
    const first = ring[from];
    if (!first || first.seq > since + 1) return 'replay_unavailable';
    const out: FeedPrivateMessage[] = [];
    for (let k = from; k < ring.length; k++) if ((ring[k] as FeedPrivateMessage).seq > since) out.push(ring[k] as FeedPrivateMessage);
    return out;
  }

  /** Forgets the agent's stream (nobody follows it here any more): the next follower starts a new epoch. */
  drop(agent: string): void {
    this.streams.delete(agent);
  }

  clear(): void {
    this.streams.clear();
  }
}
