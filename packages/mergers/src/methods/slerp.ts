import { ConfigError } from "@m2rl/core/errors";
import type { MergeGlobalStats, MergeMethod } from "@m2rl/core/merge";
import { blockSumStats, blockTotals, num, pairIndex, requireBase, resultArray } from "./common.ts";

/**
 * Spherical interpolation between the base (t = 0) and one model (t = 1), over the whole flattened tensor:
 * theta = acos(<v0/|v0|, v1/|v1|>), out = sin((1-t) theta)/sin theta v0 + sin(t theta)/sin theta v1; lerp when
 * |cos theta| > 0.9995 (mergekit's threshold). `t` may vary by tensor name filter and by layer (gradient list).
 *
 * The norms and the dot product are float64 sums per block of RANDOM_BLOCK entries added in block order
 * (blockTotals), so a tensor the engine splits into chunks (`tensorStats`: one pass) merges to the same bytes.
 */
export function slerpCoefficients(t: number, sums: readonly number[]): [number, number] {
  const n0 = Math.sqrt(sums[pairIndex(0, 0, 2)]);
  const n1 = Math.sqrt(sums[pairIndex(1, 1, 2)]);
  const s0n = n0 > 1e-8 ? 1 / n0 : 1;
  const s1n = n1 > 1e-8 ? 1 / n1 : 1;
  const dot = sums[pairIndex(0, 1, 2)] * s0n * s1n;
  if (Math.abs(dot) > 0.9995) return [1 - t, t];
  const theta0 = Math.acos(dot);
  const sin0 = Math.sin(theta0);
  return [Math.sin(theta0 - theta0 * t) / sin0, Math.sin(theta0 * t) / sin0];
}

/** out[j] = a v0[j] + b v1[j] (float64, rounded once). */
function mix(a: number, b: number, v0: Float32Array, v1: Float32Array, out: Float32Array): Float32Array {
  for (let j = 0; j < out.length; j++) out[j] = a * v0[j] + b * v1[j];
  return out;
}

/** slerp of two whole vectors (see `slerp`). */
export function slerpVectors(t: number, v0: Float32Array, v1: Float32Array): Float32Array {
  const [a, b] = slerpCoefficients(t, blockTotals([v0, v1], undefined));
  return mix(a, b, v0, v1, new Float32Array(v0.length));
}

export const slerp: MergeMethod = {
  name: "slerp",
  description: "Spherical linear interpolation between base_model (t=0) and one other model (t=1)",
  parameters: [
    {
      name: "t",
      type: "number",
      scope: "global",
      perTensor: true,
      description: "Interpolation factor; filter/value lists and layer gradients allowed.",
    },
  ],
  base: "required",
  minModels: 1,
  maxModels: 1,
  chunkable: true,
  // |base|^2, <base, model>, |model|^2 over the tensor's chunks
  tensorStats: blockSumStats(
    (input) => [requireBase(input, "slerp"), input.models[0]],
    () => undefined,
  ) as MergeGlobalStats,
  mergeTensor(input) {
    const base = requireBase(input, "slerp");
    if (input.models.length !== 1)
      throw new ConfigError("slerp merges exactly two models (base_model and one other)");
    const v1 = input.models[0];
    const sums = (input.stats as number[] | undefined) ?? blockTotals([base, v1], undefined);
    const [a, b] = slerpCoefficients(num(input.params.global, "t"), sums);
    return mix(a, b, base, v1, resultArray(input));
  },
};
