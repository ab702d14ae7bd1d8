import type { MergeGlobalStats, MergeMethod, ResolvedMergeParams } from "@m2rl/core/merge";
import { blockSumStats, blockTotals, bool, pairIndex, requireBase, resultArray } from "./common.ts";

/**
 * Model Stock: offsets d_i = theta_i - base; cos = mean over pairs of cos(d_i, d_j) (norm product clamped at 1e-6,
 * cos clamped to [-1, 1]); t = N cos / (1 + (N - 1) cos); out = t * mean_i theta_i + (1 - t) * base.
 * filter_wise: one cos per row (last dimension) instead of one per tensor.
 *
 * Chunked merges (the engine splits large tensors): per tensor, the offsets' dot products are float64 sums per
 * block of RANDOM_BLOCK entries added in block order (`tensorStats`, one pass; a whole merge sums the same way),
 * so the bytes are those of a whole merge; filter_wise, the engine cuts chunks between rows (`rowAligned`).
 */
const filterWise = (p: ResolvedMergeParams) => bool(p.global, "filter_wise");

/** t from the offsets' Gram sums (pairIndex order over N offsets). */
function ratio(g: (a: number, b: number) => number, N: number): number {
  let cosSum = 0;
  let pairs = 0;
  for (let i = 0; i < N; i++) {
    for (let k = i + 1; k < N; k++) {
      const c = g(i, k) / Math.max(Math.sqrt(g(i, i)) * Math.sqrt(g(k, k)), 1e-6);
      cosSum += Math.min(1, Math.max(-1, c));
      pairs++;
    }
  }
  const cos = cosSum / pairs;
  return (N * cos) / (1 + (N - 1) * cos);
}

export const modelStock: MergeMethod = {
  name: "model_stock",
  description:
    "Model Stock: interpolate between base and the mean model by the offsets' mean pairwise cosine",
  parameters: [
    {
      name: "filter_wise",
      type: "boolean",
      default: false,
      scope: "global",
      perTensor: false,
      description: "One interpolation ratio per row instead of per tensor.",
    },
  ],
  base: "required",
  minModels: 2,
  chunkable: true,
  rowAligned: (p) => filterWise(p),
  // per tensor: the offsets' pairwise dot products and norms over its chunks
  tensorStats: blockSumStats(
    (input) => input.models,
    (input) => requireBase(input, "model_stock"),
    (p) => !filterWise(p),
  ) as MergeGlobalStats,
  mergeTensor(input) {
    const base = requireBase(input, "model_stock");
    const ms = input.models;
    const N = ms.length;
    const n = base.length;
    const out = resultArray(input);
    const blend = (t: number, from: number, to: number) => {
      for (let j = from; j < to; j++) {
        let avg = 0;
        for (let i = 0; i < N; i++) avg += ms[i][j];
        avg /= N;
        out[j] = t * avg + (1 - t) * base[j];
      }
    };
    if (!filterWise(input.params)) {
      const sums = (input.stats as number[] | undefined) ?? blockTotals(ms, base);
      blend(
        ratio((a, b) => sums[pairIndex(a, b, N)], N),
        0,
        n,
      );
      return out;
    }
    // one ratio per row (rows are whole in a chunk); sums along the row, left to right
    const cols = input.shape.length > 0 ? input.shape[input.shape.length - 1] : n;
    const g = new Float64Array(N * N);
    for (let o = 0; cols > 0 && o < n; o += cols) {
      g.fill(0);
      for (let i = 0; i < N; i++) {
        for (let k = i; k < N; k++) {
          let s = 0;
          for (let j = o; j < o + cols; j++) s += (ms[i][j] - base[j]) * (ms[k][j] - base[j]);
          g[i * N + k] = s;
          g[k * N + i] = s;
        }
      }
      blend(
        ratio((a, b) => g[a * N + b], N),
        o,
        o + cols,
      );
    }
    return out;
  },
};
