import { ConfigError } from "@m2rl/core/errors";
import type { MergeMethod } from "@m2rl/core/merge";
import { bool, perModel } from "./common.ts";

/**
 * NuSLERP (mergekit): t = w_1 / (w_0 + w_1) (0.5 when the sum is ~0); with a base, base + slerp(t, tau_0, tau_1),
 * else slerp(t, theta_0, theta_1). slerp(t, v0, v1) = (sin((1-t) theta) v0 + sin(t theta) v1) / sin theta with
 * theta the angle between v0 and v1 (lerp when sin theta < 1e-8). nuslerp_flatten: one angle per tensor; else one
 * per row (last dimension), or per column with nuslerp_row_wise.
 */
function nuslerpInto(
  t: number,
  v0: (j: number) => number,
  v1: (j: number) => number,
  idx: (r: number, c: number) => number,
  rows: number,
  cols: number,
  out: Float32Array,
  add: Float32Array | undefined,
): void {
  for (let r = 0; r < rows; r++) {
    let n0 = 0;
    let n1 = 0;
    let dot = 0;
    for (let c = 0; c < cols; c++) {
      const j = idx(r, c);
      const a = v0(j);
      const b = v1(j);
      n0 += a * a;
      n1 += b * b;
      dot += a * b;
    }
    const cos = dot / (Math.max(Math.sqrt(n0), 1e-7) * Math.max(Math.sqrt(n1), 1e-7));
    const theta = Math.acos(Math.min(1, Math.max(-1, cos)));
    const sin = Math.sin(theta);
    const colinear = Math.abs(sin) < 1e-8;
    const a = colinear ? 1 - t : Math.sin((1 - t) * theta) / sin;
    const b = colinear ? t : Math.sin(t * theta) / sin;
    for (let c = 0; c < cols; c++) {
      const j = idx(r, c);
      out[j] = (add ? add[j] : 0) + a * v0(j) + b * v1(j);
    }
  }
}

export const nuslerp: MergeMethod = {
  name: "nuslerp",
  description: "NuSLERP: slerp of two models (or of their task vectors around a base) with weights",
  parameters: [
    {
      name: "weight",
      type: "number",
      default: 1,
      scope: "model",
      perTensor: true,
      description: "Relative weight; t = w_1 / (w_0 + w_1).",
    },
    {
      name: "nuslerp_flatten",
      type: "boolean",
      default: true,
      scope: "global",
      perTensor: false,
      description: "One angle for the whole tensor.",
    },
    {
      name: "nuslerp_row_wise",
      type: "boolean",
      default: false,
      scope: "global",
      perTensor: false,
      description: "Without flatten: interpolate columns (dimension 0) instead of rows.",
    },
  ],
  base: "optional",
  minModels: 2,
  maxModels: 2,
  mergeTensor(input) {
    if (input.models.length !== 2)
      throw new ConfigError("nuslerp merges exactly two models (plus optional base)");
    const [w0, w1] = perModel(input.params, "weight");
    const t = Math.abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
    const [m0, m1] = input.models;
    const base = input.base;
    const n = m0.length;
    const v0 = base ? (j: number) => m0[j] - base[j] : (j: number) => m0[j];
    const v1 = base ? (j: number) => m1[j] - base[j] : (j: number) => m1[j];
    const out = new Float32Array(n);
    const g = input.params.global;
    const shape = input.shape;
    if (bool(g, "nuslerp_flatten") || shape.length < 2) {
      nuslerpInto(t, v0, v1, (_r, c) => c, 1, n, out, base);
    } else {
      const cols = shape[shape.length - 1];
      const rows = n / cols;
      if (bool(g, "nuslerp_row_wise")) nuslerpInto(t, v0, v1, (r, c) => c * cols + r, cols, rows, out, base);
      else nuslerpInto(t, v0, v1, (r, c) => r * cols + c, rows, cols, out, base);
    }
    return out;
  },
};
