import type { Highs, Model } from 'highs';

/**
 * The solver seam. Combinatorial clearing states integer programs (and, for core payments, LPs and a convex QP)
 * in this small shape and asks a `MipSolver` for an answer; it never trusts the answer blindly (integrality,
 * feasibility and welfare are rechecked in bigint by the caller).
 *
 * The library does not load a solver itself: loading HiGHS reads `highs.wasm` from disk, which is I/O, so the
 * caller (the service, ideally in a worker thread because a solve blocks its thread) passes a loader to
 * `highsSolver`. This file imports only HiGHS's types.
 */

export interface LinearRow {
  /** Column indices (distinct) and their coefficients. */
  indices: number[];
  values: number[];
  lower: number;
  upper: number;
}

export interface SolverProblem {
  sense: 'max' | 'min';
  colCost: number[];
  colLower: number[];
  colUpper: number[];
  /** Integer columns (a MIP) when true; all continuous otherwise. */
  integer: boolean;
  rows: LinearRow[];
  /** A convex quadratic term 0.5 * sum(d_j * x_j^2) (minimisation only, continuous only). */
  quadraticDiagonal?: number[];
}

export type SolverStatus = 'optimal' | 'infeasible' | 'limit' | 'error';

export interface SolverAnswer {
  status: SolverStatus;
  /** Column values; meaningful only when status is 'optimal'. */
  x: number[];
  objective: number;
  /** The solver's own words when it did not reach 'optimal'. */
  detail?: string;
}

export interface MipSolver {
  solve(problem: SolverProblem): Promise<SolverAnswer>;
}

export interface HighsSolverOptions {
  /** Loads a fresh HiGHS runtime, e.g. `() => loadHighs({ wasmModule })` with a precompiled module. */
  load: () => Promise<Highs>;
  /** Per-solve time limit in seconds (default 10). */
  timeLimitSeconds?: number;
  /**
   * Solves on one runtime before it is replaced (default 500). The wasm build has failed after some thousands
   * of solves on one instance, and its linear memory never shrinks; a fresh runtime starts clean.
   */
  solvesPerRuntime?: number;
  /** Replace the runtime once its linear memory exceeds this many bytes (default 512 MiB). */
  memoryBytesLimit?: number;
}

/** The number of runtimes a HiGHS solver has loaded (for tests and metrics). */
export interface HighsMipSolver extends MipSolver {
  readonly runtimesLoaded: number;
}

function buildModel(highs: Highs, p: SolverProblem) {
  const starts = [0];
  const indices: number[] = [];
  const values: number[] = [];
  for (const r of p.rows) {
    indices.push(...r.indices);
    values.push(...r.values);
    starts.push(indices.length);
  }
  const n = p.colCost.length;
  const d = p.quadraticDiagonal;
  return {
    numCols: n,
    numRows: p.rows.length,
    sense: p.sense === 'max' ? highs.constants.objectiveSense.maximize : highs.constants.objectiveSense.minimize,
    colCost: p.colCost,
    colLower: p.colLower,
    colUpper: p.colUpper,
    rowLower: p.rows.map((r) => r.lower),
    rowUpper: p.rows.map((r) => r.upper),
    matrix: { format: 'csr' as const, numRows: p.rows.length, numCols: n, starts, indices, values },
    ...(p.integer ? { integrality: p.colCost.map(() => highs.constants.variableType.integer) } : {}),
    ...(d ? { hessian: { format: 'triangular' as const, dimension: n, starts: [...d.keys(), n], indices: [...d.keys()], values: d } } : {}),
  };
}

function runModel(highs: Highs, p: SolverProblem, timeLimit: number): SolverAnswer {
  let model: Model | undefined;
  try {
    model = highs.createModel(buildModel(highs, p));
    // exact MIP optimality: no relative gap; the objective is integral so an absolute gap below 1 is optimal
    model.options.set({ output_flag: false, time_limit: timeLimit, mip_rel_gap: 0, mip_abs_gap: 1e-6, random_seed: 1 });
    model.run();
    const status = model.getModelStatus();
    const s = highs.constants.modelStatus;
    if (status === s.optimal) return { status: 'optimal', x: Array.from(model.getSolution().colValue), objective: model.getObjectiveValue() };
    const word: SolverStatus = status === s.infeasible ? 'infeasible' : status === s.timeLimit ? 'limit' : 'error';
    return { status: word, x: [], objective: NaN, detail: `HiGHS model status ${status}` };
  } finally {
    model?.dispose();
  }
}

/**
 * A MipSolver on HiGHS (the `highs` WebAssembly package). Each solve gets its own model, disposed afterwards;
 * the runtime is replaced after `solvesPerRuntime` solves, when its memory passes `memoryBytesLimit`, and after
 * any thrown error (a wasm trap such as out-of-memory leaves the runtime unusable); such a solve answers 'error'.
 */
export function highsSolver(opts: HighsSolverOptions): HighsMipSolver {
  const timeLimit = opts.timeLimitSeconds ?? 10;
  const perRuntime = opts.solvesPerRuntime ?? 500;
  const memoryLimit = opts.memoryBytesLimit ?? 512 * 1024 * 1024;
  let runtime: Promise<Highs> | undefined;
  let solves = 0;
  let loaded = 0;
  return {
    get runtimesLoaded() {
      return loaded;
    },
    async solve(p) {
      if (!runtime || solves >= perRuntime) {
        runtime = opts.load();
        solves = 0;
        loaded++;
      }
      let highs: Highs;
      try {
        highs = await runtime;
      } catch (e) {
        runtime = undefined;
        return { status: 'error', x: [], objective: NaN, detail: `loading HiGHS failed: ${e instanceof Error ? e.message : String(e)}` };
      }
      solves++;
      try {
        const answer = runModel(highs, p, timeLimit);
        if (highs.memoryBytes > memoryLimit) runtime = undefined;
        return answer;
      } catch (e) {
        runtime = undefined;
        return { status: 'error', x: [], objective: NaN, detail: e instanceof Error ? e.message : String(e) };
      }
    },
  };
}
