import { ConfigError } from "@m2rl/core/errors";
import type { MergeGlobalStats, MergeMethod, TensorMergeInput } from "@m2rl/core/merge";
import { bool, num, P, perModel, RANDOM_BLOCK, resultArray } from "./common.ts";

/**
 * Multi-SLERP (mergekit `multislerp`, mergekit/merge_methods/multislerp.py): barycentric interpolation of N points
 * on a hypersphere. With x_i = theta_i - base (or theta_i without a base), w the weights (divided by their sum
 * when normalize_weights), n_i = |x_i| and u_i = x_i / (n_i + eps), mergekit computes
 *
 *   m = sum_i w_i u_i, mu = m / |m|                          (the weighted Euclidean mean, on the sphere)
 *   v_i = u_i - <u_i, mu> mu, r = sum_i w_i v_i             (tangent vectors at mu, their weighted mean)
 *   out = (mu cos(|r| + eps) + r sin(|r| + eps) / (|r| + eps)) * sum_i w_i n_i  (+ base)
 *
 * r is zero: sum_i w_i <u_i, mu> = <m, mu> = |m|, so r = m - |m| mu = 0 (the weighted tangent vectors at the
 * weighted mean cancel); in mergekit it is only rounding noise. So out = m * cos(eps) * sum_i w_i n_i / |m| (+ base),
 * which this computes directly, in float64. mergekit's edge cases: one model returns it unchanged; |m| < eps
 * (antipodal inputs whose weights cancel) falls back to sum_i w_i x_i (+ base) for two models and is an error for
 * more. M2RL differs in one: when every x_i is zero (a tensor no model changed, e.g. a frozen layer), the result is
 * the base (zeros without one) for any number of models, where mergekit raises for three or more.
 *
 * Statistics (n_i, then |m|) are float64 sums per block of RANDOM_BLOCK entries (aligned in the whole tensor)
 * added in block order, so the engine's chunked merge (`tensorStats`: one pass for the norms, one for |m|) gives
 * the bytes of a whole one.
 */

/** What every chunk needs: out = scale * sum_i coef_i x_i (+ base). */
interface MultislerpStats {
  coef: number[];
  scale: number;
}

interface Acc {
  /** Per block, in order: pass 0 the sums of x_i^2 per model, pass 1 the sum of m^2. */
  blocks: number[][];
  weights: number[];
  eps: number;
  name: string;
}

/** After pass 0: the norms |x_i|. */
interface Norms {
  norms: number[];
}

/** Weights of one tensor (normalized when asked; a zero sum cannot be). */
function weightsOf(input: TensorMergeInput): number[] {
  const w = perModel(input.params, "weight");
  if (!bool(input.params.global, "normalize_weights")) return w;
  const sum = w.reduce((a, b) => a + b, 0);
  if (sum === 0 || !Number.isFinite(sum)) {
    throw new ConfigError(`multislerp: the weights sum to ${sum}; they cannot be normalized`, {
      path: input.name,
    });
  }
  return w.map((x) => x / sum);
}

/**
 * mix[j - s] = sum_i c_i x_i[j] for j in [s, e), x_i = theta_i - base (theta_i without a base), summed over i in
 * order in float64: the same expression in the statistics and in the merge.
 */
function mixInto(
  mix: Float64Array,
  input: TensorMergeInput,
  c: readonly number[],
  s: number,
  e: number,
): void {
  const b = input.base;
  mix.fill(0, 0, e - s);
  for (let i = 0; i < c.length; i++) {
    const a = input.models[i];
    const ci = c[i];
    if (b) for (let j = s; j < e; j++) mix[j - s] += ci * (a[j] - b[j]);
    else for (let j = s; j < e; j++) mix[j - s] += ci * a[j];
  }
}

/** sum_j x[j]^2 over [s, e), in float64. */
function sumSquares(a: Float32Array, b: Float32Array | undefined, s: number, e: number): number {
  let q = 0;
  if (b) {
    for (let j = s; j < e; j++) {
      const x = a[j] - b[j];
      q += x * x;
    }
  } else for (let j = s; j < e; j++) q += a[j] * a[j];
  return q;
}

/** End (local) of the block holding local index s: blocks are RANDOM_BLOCK-aligned in the whole tensor. */
function blockEnd(offset: number, s: number, n: number): number {
  return Math.min(n, (Math.floor((offset + s) / RANDOM_BLOCK) + 1) * RANDOM_BLOCK - offset);
}

function coefficients(norms: readonly number[], weights: readonly number[], eps: number): number[] {
  // a zero vector has no direction: with eps = 0 it contributes nothing (mergekit: 0/0)
  return norms.map((n, i) => (n + eps > 0 ? weights[i] / (n + eps) : 0));
}

export const multislerpTensorStats: MergeGlobalStats<Acc, Norms | MultislerpStats> = {
  enabled: () => true,
  // one model is returned unchanged: nothing to measure
  passes: (params) => (params.perModel.length > 1 ? 2 : 0),
  create: () => ({ blocks: [], weights: [], eps: 0, name: "" }),
  accumulate(acc, input, pass, prev) {
    acc.weights = weightsOf(input);
    acc.eps = num(input.params.global, "eps");
    acc.name = input.name;
    const n = input.models[0].length;
    const c = pass === 1 ? coefficients((prev as Norms).norms, acc.weights, acc.eps) : [];
    const mix = pass === 1 ? new Float64Array(Math.min(n, RANDOM_BLOCK)) : undefined;
    const offset = input.offset ?? 0;
    for (let s = 0, e = 0; s < n; s = e) {
      e = blockEnd(offset, s, n);
      if (!mix) {
        acc.blocks.push(input.models.map((a) => sumSquares(a, input.base, s, e)));
      } else {
        mixInto(mix, input, c, s, e);
        let q = 0;
        for (let j = 0; j < e - s; j++) q += mix[j] * mix[j];
        acc.blocks.push([q]);
      }
    }
  },
  combine(a, b) {
    a.blocks.push(...b.blocks);
    if (b.name) {
      a.weights = b.weights;
      a.eps = b.eps;
      a.name = b.name;
    }
    return a;
  },
  finish(acc, pass, prev) {
    if (pass === 0) {
      const sums = new Array<number>(acc.weights.length).fill(0);
      for (const b of acc.blocks) for (let i = 0; i < sums.length; i++) sums[i] += b[i];
      return { norms: sums.map(Math.sqrt) };
    }
    const norms = (prev as Norms).norms;
    const { weights: w, eps } = acc;
    let sq = 0;
    for (const b of acc.blocks) sq += b[0];
    const mNorm = Math.sqrt(sq);
    if (!(mNorm > 0) || mNorm < eps) {
      if (norms.every((x) => x === 0) || w.length === 2) {
        // mergekit's fallback for two models (and M2RL's for inputs that are all zero): sum_i w_i x_i
        return { coef: w, scale: 1 };
      }
      throw new ConfigError(
        `multislerp: the weighted mean of the ${w.length} directions is zero (|m| = ${mNorm} < eps = ${eps}): ` +
          "antipodal inputs whose weights cancel; use different weights",
        { path: acc.name },
      );
    }
    let avgNorm = 0;
    for (let i = 0; i < w.length; i++) avgNorm += norms[i] * w[i];
    return { coef: coefficients(norms, w, eps), scale: (Math.cos(eps) * avgNorm) / mNorm };
  },
};

/** The statistics of a whole tensor: the same passes, over it as one chunk. */
function statsOf(input: TensorMergeInput): MultislerpStats {
  const g = multislerpTensorStats;
  let prev: Norms | MultislerpStats | undefined;
  for (let pass = 0; pass < 2; pass++) {
    const acc = g.create(pass, prev, input.models.length);
    g.accumulate(acc, input, pass, prev);
    prev = g.finish(acc, pass, prev);
  }
  return prev as MultislerpStats;
}

export const multislerp: MergeMethod = {
  name: "multislerp",
  description:
    "Multi-SLERP: barycentric interpolation of N models on the hypersphere (optionally around a base)",
  parameters: [
    P.weight(),
    {
      name: "normalize_weights",
      type: "boolean",
      default: true,
      scope: "global",
      perTensor: false,
      description: "Divide the weights by their sum.",
    },
    {
      name: "eps",
      type: "number",
      default: 1e-8,
      scope: "global",
      perTensor: false,
      minimum: 0,
      description:
        "Added to each norm before dividing; a weighted mean direction shorter than this is degenerate.",
    },
  ],
  base: "optional",
  minModels: 1,
  chunkable: true,
  tensorStats: multislerpTensorStats as MergeGlobalStats,
  mergeTensor(input) {
    const out = resultArray(input);
    if (input.models.length === 1) {
      // mergekit: a single model is returned as is (not base + its task vector)
      out.set(input.models[0]);
      return out;
    }
    const { coef, scale } = (input.stats as MultislerpStats | undefined) ?? statsOf(input);
    const base = input.base;
    const n = out.length;
    const mix = new Float64Array(Math.min(n, RANDOM_BLOCK));
    const offset = input.offset ?? 0;
    for (let s = 0, e = 0; s < n; s = e) {
      e = blockEnd(offset, s, n);
      mixInto(mix, input, coef, s, e);
      if (base) for (let j = s; j < e; j++) out[j] = mix[j - s] * scale + base[j];
      else for (let j = s; j < e; j++) out[j] = mix[j - s] * scale;
    }
    return out;
  },
};
