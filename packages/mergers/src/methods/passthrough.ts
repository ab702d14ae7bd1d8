import type { MergeMethod } from "@m2rl/core/merge";
import { num, resultArray } from "./common.ts";

/**
 * Passthrough (mergekit/merge_methods/passthrough.py, PassthroughMergeTask): exactly one input, returned as is, or
 * times its `scale` when one is set (mergekit's default None multiplies nothing; here the default 1 returns the
 * input itself, bit for bit). With `slices:` it stacks layer ranges of models into a deeper model (a
 * frankenmerge); `scale` with a filter (e.g. `o_proj` / `down_proj` at 0) damps the layers it is set on.
 */
export const passthrough: MergeMethod = {
  name: "passthrough",
  description: "Passthrough: copies its one input (a slice's source), times scale when set; stacks slices",
  parameters: [
    {
      name: "scale",
      type: "number",
      default: 1,
      scope: "model",
      perTensor: true,
      description: "Factor the tensor is multiplied by (mergekit: none, i.e. copied as is).",
    },
  ],
  base: "none",
  minModels: 1,
  maxModels: 1,
  chunkable: true,
  mergeTensor(input) {
    const x = input.models[0];
    const scale = num(input.params.perModel[0], "scale");
    // the engine copies a result that is one of its input buffers before the buffer is reused
    if (scale === 1) return x;
    const out = resultArray(input, x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] * scale;
    return out;
  },
};
