import type { MergeMethod } from "@m2rl/core/merge";
import { num, requireBase, taskVectors } from "./common.ts";

/**
 * SCE (select, calculate, erase): tau_i = theta_i - base; when select_topk < 1, keep only the entries whose
 * variance across models is in the top select_topk fraction of the non-zero variances; weights
 * w_i = mean(tau_i^2) / sum_k mean(tau_k^2) (uniform when all are zero); erase entries whose sign disagrees with
 * the sign of sum_i tau_i (a zero sum erases everything); merged = sum_i w_i m_i tau_i / max(sum_i w_i m_i, 1e-6).
 * Unlike mergekit, which falls back to uniform weights when sum_k mean(tau_k^2) < 1e-6 (always the case for small
 * RL updates), the weights here are scale-free, as the paper describes them.
 */
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
  mergeTensor(input) {
    const base = requireBase(input, "sce");
    const tv = taskVectors(base, input.models);
    const N = tv.length;
    const n = base.length;
    const topk = num(input.params.global, "select_topk");
    if (topk < 1) {
      const variance = new Float32Array(n);
      let nonzero = 0;
      for (let j = 0; j < n; j++) {
        let mean = 0;
        for (let i = 0; i < N; i++) mean += tv[i][j];
        mean /= N;
        let v = 0;
        for (let i = 0; i < N; i++) v += (tv[i][j] - mean) ** 2;
        variance[j] = v / N;
        if (variance[j] !== 0) nonzero++;
      }
      const k = Math.floor(nonzero * topk);
      // keep the k largest variances (ties at the threshold all kept)
      const order = Float64Array.from(variance).sort();
      const thr = k <= 0 ? Number.POSITIVE_INFINITY : order[n - k];
      for (let j = 0; j < n; j++) {
        if (!(variance[j] >= thr) || k <= 0) for (let i = 0; i < N; i++) tv[i][j] = 0;
      }
    }
    const w = tv.map((t) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += t[j] * t[j];
      return n > 0 ? s / n : 0;
    });
    const wsum = w.reduce((a, b) => a + b, 0);
    const weights = wsum > 0 && Number.isFinite(wsum) ? w.map((x) => x / wsum) : w.map(() => 1 / N);
    const out = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += tv[i][j];
      if (s === 0) {
        out[j] = base[j]; // no majority sign: everything erased
        continue;
      }
      const pos = s > 0;
      let num_ = 0;
      let den = 0;
      for (let i = 0; i < N; i++) {
        const d = tv[i][j];
        if (pos ? d > 0 : d < 0) {
          num_ += weights[i] * d;
          den += weights[i];
        }
      }
      out[j] = base[j] + num_ / Math.max(den, 1e-6);
    }
    return out;
  },
};
