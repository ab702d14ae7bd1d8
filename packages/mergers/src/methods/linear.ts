import type { MergeMethod } from "@m2rl/core/merge";
import { bool, P, perModel, resultArray } from "./common.ts";
import { kernels } from "./kernels.ts";

/** Linear (model soup / "Average"): sum_i w_i theta_i, divided by sum_i w_i when normalize. No base needed. */
export const linear: MergeMethod = {
  name: "linear",
  description: "Weighted average of the models: sum_i w_i theta_i / sum_i w_i",
  parameters: [P.weight(), P.normalize(true)],
  base: "none",
  minModels: 1,
  chunkable: true,
  mergeTensor(input) {
    const w = perModel(input.params, "weight");
    let wsum = 0;
    for (const x of w) wsum += x;
    const scale = bool(input.params.global, "normalize") ? 1 / wsum : 1;
    const out = resultArray(input);
    kernels.weightedSum(out, input.models, Float64Array.from(w), scale);
    return out;
  },
};
