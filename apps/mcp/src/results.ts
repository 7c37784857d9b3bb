import { createHash, randomBytes } from 'node:crypto';
import { AteApiError } from '@ate/client';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A tool's answer: the JSON both as structured content (for the runtime) and as text (for models that read text). */
export function ok(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

/**
 * A refusal as a tool error: the exchange's status, stable code, message and details verbatim (e.g. which limit,
 * which order), so a model can correct its call. Anything else (the exchange unreachable, a time-out) is a tool
 * error with code NETWORK_ERROR and says whether the outcome is known.
 */
export function refusal(e: unknown): CallToolResult {
  const error =
    e instanceof AteApiError
      ? { status: e.status, code: e.code, message: e.message.replace(/^\d+ [A-Z_]+: /, ''), details: e.details ?? {} }
      : {
          status: null,
          code: 'NETWORK_ERROR',
          message: `the exchange did not answer: ${e instanceof Error ? e.message : String(e)}`,
          details: { outcome: 'unknown' },
        };
  // as text only: a runtime validates any structured content against the tool's output schema, errors included
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error }) }] };
}

export async function call(f: () => Promise<object>): Promise<CallToolResult> {
  try {
    return ok((await f()) as Record<string, unknown>);
  } catch (e) {
    return refusal(e);
  }
}

/** Whether a failed call's outcome is unknown (no answer, a time-out, 503 with an outcome): the same id may be sent again. */
export function answerLost(e: unknown): boolean {
  return !(e instanceof AteApiError) || (e.status === 503 && e.details?.['outcome'] !== undefined);
}

/**
 * Sends `f` (a call carrying a client id the exchange deduplicates on); when the answer is lost, sends it again
 * with the same id: the exchange answers a repeated id with the original, so this never acts twice.
 */
export async function retryingLost<T>(f: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (!answerLost(e) || attempt >= attempts - 1) throw e;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
}

/**
 * Client ids this server generates for calls that came without one: an identical call (same tool, same
 * arguments) within the window gets the same id, so a runtime that repeats a call after a time-out acts once.
 * Calls still waiting for the exchange are kept by id: a repeat waits for the first before it is sent.
 */
export class GeneratedIds {
  private readonly ids = new Map<string, { id: string; at: number }>();
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly windowMs: number,
    private readonly prefix = 'mcp',
  ) {}

  /** The id for these arguments of this tool: the one generated within the window, or a new one. */
  idFor(tool: string, args: Record<string, unknown>): string {
    const key = createHash('sha256')
      .update(JSON.stringify([tool, Object.entries(args).sort()]))
      .digest('hex');
    const now = Date.now();
    for (const [k, v] of this.ids) if (now - v.at > this.windowMs) this.ids.delete(k);
    let g = this.ids.get(key);
    if (!g) this.ids.set(key, (g = { id: `${this.prefix}-${randomBytes(12).toString('hex')}`, at: now }));
    return g.id;
  }

  /** Runs `f` for the id once any earlier call with the same id has ended. */
  async once<T>(id: string, f: () => Promise<T>): Promise<T> {
    const earlier = this.inflight.get(id);
    if (earlier) await earlier.catch(() => undefined);
    const p = f();
    this.inflight.set(id, p);
    try {
      return await p;
    } finally {
      if (this.inflight.get(id) === p) this.inflight.delete(id);
    }
  }
}
