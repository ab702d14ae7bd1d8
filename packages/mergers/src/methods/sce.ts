import type { MergeGlobalStats, MergeMethod, TensorMergeInput } from "@m2rl/core/merge";
import {
  kthLargestAbs,
  num,
  RANDOM_BLOCK,
  radixCut,
  radixThreshold,
  requireBase,
  resultArray,
  taskVectors,
} from "./common.ts";
import { kernels } from "./kernels.ts";

/**
 * SCE (select, calculate, erase): tau_i = theta_i - base; when select_topk < 1, keep only the entries whose
 * variance across models is in the top select_topk fraction of the non-zero variances; weights
 * w_i = mean(tau_i^2) / sum_k mean(tau_k^2) (uniform when all are zero); erase entries whose sign disagrees with
 * the sign of sum_i tau_i (a zero sum erases everything); merged = sum_i w_i m_i tau_i / max(sum_i w_i m_i, 1e-6).
 * Unlike mergekit, which falls back to uniform weights when sum_k mean(tau_k^2) < 1e-6 (always the case for small
 * RL updates), the weights here are scale-free, as the paper describes them.
 *
 * The select threshold is exact (radix select over the float32 variances) and mean(tau_i^2) is summed block by
 * block (RANDOM_BLOCK entries, then the block sums in order), so a tensor the engine splits into chunks
 * (`tensorStats`: variance histograms, then the selected squares) merges to the same bytes as a whole one.
 */
/** What every chunk of a tensor needs: the merge weights and the variance threshold of the select step. */
interface SceStats {
  weights: number[];
  /** Keep entries whose variance is >= this (0 when select_topk >= 1, +Infinity to keep none). */
  threshold: number;
}

/** Variance across models of the task vectors at each entry, float32 (as stored). */
function variances(tv: readonly Float32Array[]): Float32Array {
  const N = tv.length;
  const n = tv[0].length;
  const variance = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let mean = 0;
    for (let i = 0; i < N; i++) mean += tv[i][j];
    mean /= N;
    let v = 0;
    for (let i = 0; i < N; i++) v += (tv[i][j] - mean) ** 2;
    variance[j] = v / N;
  }
  return variance;
}

function countNonzero(x: Float32Array): number {
  let c = 0;
  for (let j = 0; j < x.length; j++) c += +(x[j] !== 0);
  return c;
}

/** Zeroes the entries whose variance is below the threshold (the select step). In place. */
function select(tv: Float32Array[], variance: Float32Array, threshold: number): void {
  for (let j = 0; j < variance.length; j++) {
    if (!(variance[j] >= threshold)) for (const t of tv) t[j] = 0;
  }
}

/** Per block of RANDOM_BLOCK entries, the sum of tau_i^2 for each model: [block][model]. */
function blockSquares(tv: readonly Float32Array[]): number[][] {
  const n = tv[0].length;
  const out: number[][] = [];
  for (let s = 0; s < n; s += RANDOM_BLOCK) {
    const e = Math.min(n, s + RANDOM_BLOCK);
    out.push(
      tv.map((t) => {
        let q = 0;
        for (let j = s; j < e; j++) q += t[j] * t[j];
        return q;
      }),
    );
  }
  return out;
}

/** Weights w_i = mean(tau_i^2) / sum_k mean(tau_k^2) from block sums (in block order), uniform when all are 0. */
function weightsOf(blocks: readonly number[][], n: number, N: number): number[] {
  const sums = new Array(N).fill(0);
  for (const b of blocks) for (let i = 0; i < N; i++) sums[i] += b[i];
  const w = sums.map((x) => (n > 0 ? x / n : 0));
  const wsum = w.reduce((a, b) => a + b, 0);
  return wsum > 0 && Number.isFinite(wsum) ? w.map((x) => x / wsum) : w.map(() => 1 / N);
}

/** k = floor(nonzero variances * topk): the threshold keeping the k largest variances. */
function selectK(nonzero: number, topk: number): number {
  return Math.floor(nonzero * topk);
}

interface SceAcc {
  /** What this pass gathered: variance histograms (the select passes) or block sums of squares (the last). */
  mode?: "hist" | "squares";
  /** select_topk of the tensor. */
  topk: number;
  /** pass 0: high halves of the variances' bit patterns; pass 1: low halves under the cut. */
  hist?: Float64Array;
  nonzero: number;
  blocks: number[][];
  n: number;
  N: number;
}
/** After the first select pass: where the k-th largest variance lies, or that none / all entries are kept. */
type SceCut = { cut: { hi: number; need: number } | "none" | "all" };
type ScePass = SceCut | SceStats;

const topkOf = (input: { params: TensorMergeInput["params"] }) => num(input.params.global, "select_topk");

/** Statistics over the chunks of one tensor: [variance histograms (2 passes) when selecting], squares. */
export const sceTensorStats: MergeGlobalStats<SceAcc, ScePass> = {
  enabled: () => true,
  passes: (params) => (num(params.global, "select_topk") < 1 ? 3 : 1),
  create(pass, _prev, N) {
    return { topk: 1, hist: pass < 2 ? new Float64Array(65536) : undefined, nonzero: 0, blocks: [], n: 0, N };
  },
  accumulate(acc, input, pass, prev) {
    const tv = taskVectors(requireBase(input, "sce"), input.models);
    acc.topk = topkOf(input);
    const selecting = acc.topk < 1;
    acc.n += tv[0].length;
    if (selecting && pass < 2) {
      acc.mode = "hist";
      const variance = variances(tv);
      if (pass === 0) {
        acc.nonzero += countNonzero(variance);
        kernels.absHistogram(variance, acc.hist!, -1);
      } else {
        const cut = (prev as SceCut).cut;
        if (typeof cut === "object") kernels.absHistogram(variance, acc.hist!, cut.hi);
      }
      return;
    }
    acc.mode = "squares";
    if (selecting) select(tv, variances(tv), (prev as SceStats).threshold);
    acc.blocks.push(...blockSquares(tv));
  },
  combine(a, b) {
    if (b.mode) {
      a.mode = b.mode;
      a.topk = b.topk;
    }
    if (a.hist && b.hist) for (let j = 0; j < a.hist.length; j++) a.hist[j] += b.hist[j];
    a.nonzero += b.nonzero;
    a.blocks.push(...b.blocks);
    a.n += b.n;
    return a;
  },
  finish(acc, pass, prev) {
    if (acc.mode !== "hist") {
      const threshold = prev && "threshold" in prev ? prev.threshold : 0;
      return { weights: weightsOf(acc.blocks, acc.n, acc.N), threshold };
    }
    if (pass === 0) {
      const k = selectK(acc.nonzero, acc.topk);
      return { cut: k <= 0 ? "none" : k >= acc.n ? "all" : radixCut(acc.hist!, k) };
    }
    const cut = (prev as SceCut).cut;
    const threshold =
      cut === "none" ? Number.POSITIVE_INFINITY : cut === "all" ? 0 : radixThreshold(acc.hist!, cut);
    return { weights: [], threshold };
  },
};

export const sce: MergeMethod = {
  name: "sce",
  description: "SCE: variance top-k select, mean-square weights, sign-consensus erase",
  parameters: [
    {
      name: "select_topk",
      type: "number",
      default: 1,
      scope: "global",
      perTensor: true,
      minimum: 0,
      maximum: 1,
      description: "Fraction of entries (by variance across models) kept; the paper used 1.0.",
    },
  ],
  base: "required",
  minModels: 1,
  chunkable: true,
  tensorStats: sceTensorStats as MergeGlobalStats,
  mergeTensor(input) {
    const base = requireBase(input, "sce");
    const tv = taskVectors(base, input.models);
    const N = tv.length;
    const n = base.length;
    const topk = topkOf(input);
    let stats = input.stats as SceStats | undefined;
    if (stats) {
      if (topk < 1) select(tv, variances(tv), stats.threshold);
    } else {
      // the whole tensor is here: the same statistics, computed directly
      let threshold = 0;
      if (topk < 1) {
        const variance = variances(tv);
        const k = selectK(countNonzero(variance), topk);
        threshold = k <= 0 ? Number.POSITIVE_INFINITY : kthLargestAbs(variance, k);
        select(tv, variance, threshold);
      }
      stats = { weights: weightsOf(blockSquares(tv), n, N), threshold };
    }
    const out = resultArray(input);
    kernels.erase(out, base, tv, Float64Array.from(stats.weights));
    return out;
  },
};
