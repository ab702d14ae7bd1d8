/**
 * TIES: trim each tau_i to its top-`density` entries by magnitude, elect a sign per entry (sign of the weighted sum
 * of trimmed deltas), average the agreeing entries (normalize), base + lambda * result.
 * trim_scope "tensor" ranks magnitudes within each tensor (mergekit); "model" ranks them over the whole model (the
 * paper), with thresholds found exactly by a two-pass radix select over the bit patterns of |tau| (pre-pass).
 */
import type { MergeGlobalStats } from "@m2rl/core/merge";
import { num, radixCut, radixThreshold, taskVectors } from "./common.ts";
import { gtaMethod } from "./gta.ts";
import { kernels } from "./kernels.ts";

interface Pass0 {
  hist: Float64Array[];
  total: number[];
  density: number[];
}
interface Cut {
  /** High 16 bits of the threshold's bit pattern, or -1 (keep all) / -2 (keep none). */
  hi: number[];
  need: number[];
}

export const tiesGlobalStats: MergeGlobalStats<Pass0 | Float64Array[], Cut | number[]> = {
  enabled: (params) => params.global.trim_scope === "model",
  passes: 2,
  create(pass, _prev, m) {
    if (pass === 0) {
      return {
        hist: Array.from({ length: m }, () => new Float64Array(32768)),
        total: new Array(m).fill(0),
        density: new Array(m).fill(1),
      };
    }
    return Array.from({ length: m }, () => new Float64Array(65536));
  },
  accumulate(acc, input, pass, prev) {
    const deltas = taskVectors(input.base!, input.models);
    if (pass === 0) {
      const a = acc as Pass0;
      deltas.forEach((d, i) => {
        kernels.absHistogram(d, a.hist[i], -1);
        a.total[i] += d.length;
        a.density[i] = num(input.params.perModel[i], "density");
      });
    } else {
      const cut = prev as Cut;
      const a = acc as Float64Array[];
      deltas.forEach((d, i) => {
        if (cut.hi[i] >= 0) kernels.absHistogram(d, a[i], cut.hi[i]);
      });
    }
  },
  combine(a, b) {
    if (Array.isArray(a) && Array.isArray(b)) {
      return (a as Float64Array[]).map((h, i) => {
        const o = (b as Float64Array[])[i];
        for (let j = 0; j < h.length; j++) h[j] += o[j];
        return h;
      });
    }
    const x = a as Pass0;
    const y = b as Pass0;
    x.hist.forEach((h, i) => {
      for (let j = 0; j < h.length; j++) h[j] += y.hist[i][j];
      x.total[i] += y.total[i];
      if (y.total[i] > 0) x.density[i] = y.density[i];
    });
    return x;
  },
  finish(acc, pass, prev) {
    if (pass === 0) {
      const a = acc as Pass0;
      const cut: Cut = { hi: [], need: [] };
      a.hist.forEach((h, i) => {
        const k = Math.round(a.density[i] * a.total[i]);
        if (k <= 0) {
          cut.hi.push(-2);
          cut.need.push(0);
          return;
        }
        if (k >= a.total[i]) {
          cut.hi.push(-1);
          cut.need.push(0);
          return;
        }
        const c = radixCut(h, k);
        cut.hi.push(c.hi);
        cut.need.push(c.need);
      });
      return cut;
    }
    const cut = prev as Cut;
    return (acc as Float64Array[]).map((h, i) => {
      if (cut.hi[i] === -1) return 0;
      if (cut.hi[i] === -2) return Number.POSITIVE_INFINITY;
      return radixThreshold(h, { hi: cut.hi[i], need: cut.need[i] });
    });
  },
};

export const ties = gtaMethod({
  name: "ties",
  description:
    "TIES: magnitude trim (density), sign election, disjoint mean; trim per tensor or over the whole model",
  sparsification: "magnitude",
  consensus: "sum",
  defaultNormalize: true,
  defaultRescale: false,
  extra: [
    {
      name: "trim_scope",
      type: "string",
      enum: ["tensor", "model"],
      default: "tensor",
      scope: "global",
      perTensor: false,
      description: "Rank |tau| within each tensor (mergekit) or over the whole model (the paper's TIES).",
    },
  ],
  globalStats: tiesGlobalStats as MergeGlobalStats,
  // the same two radix passes over one tensor give its per-tensor thresholds when the engine splits it (always on:
  // `enabled` of the whole-model protocol says whether the pre-pass replaces them)
  tensorStats: { ...tiesGlobalStats, enabled: () => true } as MergeGlobalStats,
});
