import { ConfigError } from "@m2rl/core/errors";
import type { MergeMethod } from "@m2rl/core/merge";
import { num, requireBase } from "./common.ts";

/**
 * Spherical interpolation between the base (t = 0) and one model (t = 1), over the whole flattened tensor:
 * theta = acos(<v0/|v0|, v1/|v1|>), out = sin((1-t) theta)/sin theta v0 + sin(t theta)/sin theta v1; lerp when
 * |cos theta| > 0.9995 (mergekit's threshold). `t` may vary by tensor name filter and by layer (gradient list).
 */
export function slerpVectors(t: number, v0: Float32Array, v1: Float32Array): Float32Array {
  const n = v0.length;
  let n0 = 0;
  let n1 = 0;
  for (let j = 0; j < n; j++) {
    n0 += v0[j] * v0[j];
    n1 += v1[j] * v1[j];
  }
  n0 = Math.sqrt(n0);
  n1 = Math.sqrt(n1);
  const s0n = n0 > 1e-8 ? 1 / n0 : 1;
  const s1n = n1 > 1e-8 ? 1 / n1 : 1;
  let dot = 0;
  for (let j = 0; j < n; j++) dot += v0[j] * s0n * (v1[j] * s1n);
  const out = new Float32Array(n);
  let a: number;
  let b: number;
  if (Math.abs(dot) > 0.9995) {
    a = 1 - t;
    b = t;
  } else {
    const theta0 = Math.acos(dot);
    const sin0 = Math.sin(theta0);
    a = Math.sin(theta0 - theta0 * t) / sin0;
    b = Math.sin(theta0 * t) / sin0;
  }
  for (let j = 0; j < n; j++) out[j] = a * v0[j] + b * v1[j];
  return out;
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
  mergeTensor(input) {
    const base = requireBase(input, "slerp");
    if (input.models.length !== 1)
      throw new ConfigError("slerp merges exactly two models (base_model and one other)");
    return slerpVectors(num(input.params.global, "t"), base, input.models[0]);
  },
};
