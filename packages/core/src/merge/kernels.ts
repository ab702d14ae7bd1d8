/**
 * The element-wise loops of weight merging, as a contract between their implementations: @m2rl/mergers defines
 * them in TypeScript (src/methods/kernels-js.ts) and @m2rl/kernels-native provides bitwise-equal SIMD versions
 * (csrc/merge.c). Types only: core has no implementation.
 */
/** Weights and thresholds are Float64Arrays with one value per model; all tensors have one length. */
export interface MergeKernels {
  /** out[j] = (sum_i w_i xs_i[j]) * scale. */
  weightedSum(out: Float32Array, xs: readonly Float32Array[], w: Float64Array, scale: number): void;
  /** out[j] = b + scale * sum_i w_i (xs_i[j] - b), b = base[j]. */
  taskArithmetic(
    out: Float32Array,
    base: Float32Array,
    xs: readonly Float32Array[],
    w: Float64Array,
    scale: number,
  ): void;
  /** out = a - b. */
  subtract(out: Float32Array, a: Float32Array, b: Float32Array): void;
  /** out[j] = base[j] + (sum_i w_i d_i[j]) * scale. */
  combine(
    out: Float32Array,
    base: Float32Array,
    deltas: readonly Float32Array[],
    w: Float64Array,
    scale: number,
  ): void;
  /**
   * TIES disjoint merge with the magnitude trim fused in, float32 arithmetic, left to right in model order:
   * x_i = fround(w_i d_i) * (|d_i| >= t_i); e = sum_i x_i ("sum") or sum_i sign(x_i) ("count");
   * m_i = 1 where x_i has e's nonzero sign; s = sum_i x_i m_i; div = sum_i w_i m_i;
   * out = b + lambda * s / (normalize ? (div == 0 ? 1 : div) : 1). e == 0 agrees with nothing: out = b.
   */
  consensus(
    out: Float32Array,
    base: Float32Array,
    deltas: readonly Float32Array[],
    w: Float64Array,
    thresholds: Float64Array,
    count: boolean,
    normalize: boolean,
    lambda: number,
  ): void;
  /**
   * Radix-select histogram over the bit patterns of |x| (monotone in |x|): hi < 0 adds the high 16 bits of each
   * entry (32768 bins); hi >= 0 adds the low 16 bits of the entries whose high 16 bits equal hi (65536 bins).
   */
  absHistogram(x: Float32Array, hist: Float64Array, hi: number): void;
  /** x[j] *= (|x[j]| >= fround(threshold)) (a dropped negative entry becomes -0). */
  trim(x: Float32Array, threshold: number): void;
  /**
   * out[i] = entries with models[i][j] != base[j]; out[m] = entries changed by at least two models;
   * out[m + 1] = of those, entries where the changed models all moved one way.
   */
  updateStats(base: Float32Array, models: readonly Float32Array[], out: Float64Array): void;
  /**
   * SCE's erase step: s = sum_i d_i (double); entries with s == 0 keep the base; else, with m_i = 1 where d_i has
   * s's sign, out = b + (sum_i w_i d_i m_i) / max(sum_i w_i m_i, 1e-6), in double, rounded once.
   */
  erase(out: Float32Array, base: Float32Array, deltas: readonly Float32Array[], w: Float64Array): void;
}
