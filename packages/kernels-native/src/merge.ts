/**
 * `@m2rl/kernels-native/merge`: the native merge kernels (csrc/merge.c) for @m2rl/mergers. Independent of
 * TensorFlow.js: this entry loads only the `m2rl_merge` addon. Each kernel is bitwise equal to the TypeScript loop
 * it replaces in @m2rl/mergers (src/methods/kernels-js.ts), which the mergers' tests check; the gain is SIMD code.
 */
import { createRequire } from "node:module";

/** The addon's functions. Weights and thresholds are Float64Arrays with one value per model. */
export interface MergeAddon {
  /** out[j] = (sum_i w_i xs_i[j]) * scale, in double. */
  weightedSum(out: Float32Array, xs: Float32Array[], w: Float64Array, scale: number): void;
  /** out[j] = b + scale * sum_i w_i (xs_i[j] - b), b = base[j], in double. */
  taskArithmetic(
    out: Float32Array,
    base: Float32Array,
    xs: Float32Array[],
    w: Float64Array,
    scale: number,
  ): void;
  /** out = a - b. */
  subtract(out: Float32Array, a: Float32Array, b: Float32Array): void;
  /** out[j] = base[j] + (sum_i w_i d_i[j]) * scale, in double. */
  combine(
    out: Float32Array,
    base: Float32Array,
    deltas: Float32Array[],
    w: Float64Array,
    scale: number,
  ): void;
  /** TIES disjoint merge with a fused magnitude trim, float32 arithmetic (see csrc/merge.c). */
  consensus(
    out: Float32Array,
    base: Float32Array,
    deltas: Float32Array[],
    w: Float64Array,
    thresholds: Float64Array,
    count: boolean,
    normalize: boolean,
    lambda: number,
  ): void;
  /** Radix-select histogram of |x|'s bit patterns: high halves (hi < 0) or low halves under high half `hi`. */
  absHistogram(x: Float32Array, hist: Float64Array, hi: number): void;
  /** x[j] *= (|x[j]| >= threshold). */
  trim(x: Float32Array, threshold: number): void;
  /** out = [changed entries per model..., entries changed by >= 2 models, of those: one sign]. */
  updateStats(base: Float32Array, models: Float32Array[], out: Float64Array): void;
  /** BF16 -> float32 (core's FloatCodec). */
  decodeBf16(src: Uint16Array, dst: Float32Array): void;
  /** float32 -> BF16, round to nearest even (core's FloatCodec). */
  encodeBf16(src: Float32Array, dst: Uint16Array): void;
}

/** Where the addon is built, relative to src/ and dist/. */
export const MERGE_ADDON_PATH = "../build/Release/m2rl_merge.node";

/** Loads the merge addon, or says why it cannot (not built, M2RL_NATIVE=0). */
export function loadMergeAddon(): { addon: MergeAddon } | { error: string } {
  if (process.env["M2RL_NATIVE"] === "0") return { error: "disabled by M2RL_NATIVE=0" };
  try {
    return { addon: createRequire(import.meta.url)(MERGE_ADDON_PATH) as MergeAddon };
  } catch (err) {
    return {
      error: `addon not loaded (${(err as Error).message.split("\n")[0]}); build it with \`npm rebuild @m2rl/kernels-native\``,
    };
  }
}
