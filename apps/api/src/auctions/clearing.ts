import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface CombinatorialInput {
  payments: 'vcg' | 'core';
  /** the items, each with its reserve (minor units of credits, as a string) */
  items: { id: string; reserve: string }[];
  bids: { bidder: string; bundles: { items: string[]; value: string }[] }[];
}

export type CombinatorialResult =
  | {
      ok: true;
      awards: { bidder: string; bundle: number | null; items: string[]; value: string; vcgPayment: string; payment: string }[];
      welfare: string;
      revenue: string;
      vcgRevenue: string;
      solves: number;
    }
  | { ok: false; code: string; details?: Record<string, unknown> };

/**
 * Runs combinatorial clearings in one worker thread (clearing.worker.ts), one after another, off the api's thread.
 * Started on first use; a worker that dies is replaced on the next clearing (what it was doing answers
 * MECHANISM_SOLVER_FAILED, which the scheduler retries).
 */
@Injectable()
export class CombinatorialClearing implements OnApplicationShutdown {
  private worker: Worker | undefined;
  private next = 1;
  private readonly waiting = new Map<number, (r: CombinatorialResult) => void>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const ts = join(__dirname, 'clearing.worker.ts');
    // from sources (tests, tools) the worker registers the TypeScript loader first, with the repository's tsconfig
    // (its paths resolve @ate/*; the loader would read the one of the current directory, e.g. apps/api under Nx);
    // built, it is plain JavaScript
    const project = join(__dirname, '..', '..', '..', '..', 'tsconfig.json');
    const w = existsSync(ts)
      ? new Worker(`process.env.SWC_NODE_PROJECT = ${JSON.stringify(project)}; require('@swc-node/register'); require(${JSON.stringify(ts)});`, {
          eval: true,
        })
      : new Worker(join(__dirname, 'clearing.worker.js'));
    w.on('message', (m: { id: number; result: CombinatorialResult }) => {
      this.waiting.get(m.id)?.(m.result);
      this.waiting.delete(m.id);
    });
    const fail = (message: string) => {
      for (const r of this.waiting.values()) r({ ok: false, code: 'MECHANISM_SOLVER_FAILED', details: { message } });
      this.waiting.clear();
      this.worker = undefined;
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`the clearing worker exited (${code})`));
    w.unref();
    return (this.worker = w);
  }

  clear(input: CombinatorialInput): Promise<CombinatorialResult> {
    const w = this.start();
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      w.postMessage({ id, ...input });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.terminate();
  }
}
