import type { MergeMethod } from "@m2rl/core/merge";
import { bool, P, perModel } from "./common.ts";

/** Linear (model soup / "Average"): sum_i w_i theta_i, divided by sum_i w_i when normalize. No base needed. */
export const linear: MergeMethod = {
  name: "linear",
  description: "Weighted average of the models: sum_i w_i theta_i / sum_i w_i",
  parameters: [P.weight(), P.normalize(true)],
  base: "none",
  minModels: 1,
  mergeTensor(input) {
    const w = perModel(input.params, "weight");
    const ms = input.models;
    const n = ms[0].length;
    let wsum = 0;
    for (const x of w) wsum += x;
    const scale = bool(input.params.global, "normalize") ? 1 / wsum : 1;
    const out = new Float32Array(n);
    if (ms.length === 3) {
      const [a, b, c] = ms;
      const [wa, wb, wc] = w;
      for (let j = 0; j < n; j++) out[j] = (wa * a[j] + wb * b[j] + wc * c[j]) * scale;
    } else if (ms.length === 2) {
      const [a, b] = ms;
      const [wa, wb] = w;
      for (let j = 0; j < n; j++) out[j] = (wa * a[j] + wb * b[j]) * scale;
    } else {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < ms.length; i++) s += w[i] * ms[i][j];
        out[j] = s * scale;
      }
    }
    return out;
  },
};
