import type { MergeMethod } from "@m2rl/core/merge";
import { bool, requireBase } from "./common.ts";

/**
 * Model Stock: offsets d_i = theta_i - base; cos = mean over pairs of cos(d_i, d_j) (norm product clamped at 1e-6,
 * cos clamped to [-1, 1]); t = N cos / (1 + (N - 1) cos); out = t * mean_i theta_i + (1 - t) * base.
 * filter_wise: one cos per row (last dimension) instead of one per tensor.
 */
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
  mergeTensor(input) {
    const base = requireBase(input, "model_stock");
    const ms = input.models;
    const N = ms.length;
    const n = base.length;
    const filterWise = bool(input.params.global, "filter_wise");
    const cols = filterWise && input.shape.length > 0 ? input.shape[input.shape.length - 1] : n;
    const rows = cols === 0 ? 0 : n / cols;
    const out = new Float32Array(n);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let cosSum = 0;
      let pairs = 0;
      for (let i = 0; i < N; i++) {
        for (let k = i + 1; k < N; k++) {
          let dot = 0;
          let ni = 0;
          let nk = 0;
          for (let j = o; j < o + cols; j++) {
            const a = ms[i][j] - base[j];
            const b = ms[k][j] - base[j];
            dot += a * b;
            ni += a * a;
            nk += b * b;
          }
          const c = dot / Math.max(Math.sqrt(ni) * Math.sqrt(nk), 1e-6);
          cosSum += Math.min(1, Math.max(-1, c));
          pairs++;
        }
      }
      const cos = cosSum / pairs;
      const t = (N * cos) / (1 + (N - 1) * cos);
      for (let j = o; j < o + cols; j++) {
        let avg = 0;
        for (let i = 0; i < N; i++) avg += ms[i][j];
        avg /= N;
        out[j] = t * avg + (1 - t) * base[j];
      }
    }
    return out;
  },
};
