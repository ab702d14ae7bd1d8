import { ConfigError } from "@m2rl/core/errors";
import type { MergeMethod } from "@m2rl/core/merge";
import { num, requireBase, resultArray } from "./common.ts";

const f = Math.fround;
/** mergekit's floor on |base - model| (`absdiff.clamp(min=1e-6)`), as float32. */
const MIN_DIFF = f(1e-6);

/**
 * NearSwap (mergekit `nearswap_merge`, mergekit/merge_methods/nearswap.py): per entry,
 * w = clamp(t / max(|base - theta|, 1e-6), 0, 1) and out = w theta + (1 - w) base: the other model's value is
 * taken where the two models are already close (|base - theta| <= t gives w = 1), and pulled in less the further
 * apart they are. Element-wise, so any chunk merges on its own. The float32 steps are mergekit's, in its order
 * (`t / x` is torch's `x.reciprocal() * t`).
 */
export const nearswap: MergeMethod = {
  name: "nearswap",
  description: "NearSwap: per entry, move base toward the other model by min(1, t / |base - theta|)",
  parameters: [
    {
      name: "t",
      type: "number",
      scope: "global",
      perTensor: true,
      description:
        "Distance scale: entries with |base - theta| <= t take the other model's value, farther ones less (required).",
    },
  ],
  base: "required",
  minModels: 1,
  maxModels: 1,
  chunkable: true,
  mergeTensor(input) {
    const a = requireBase(input, "nearswap");
    if (input.models.length !== 1) {
      throw new ConfigError("nearswap merges exactly two models (base_model and one other)", {
        path: input.name,
      });
    }
    const b = input.models[0];
    const t = f(num(input.params.global, "t"));
    const out = resultArray(input);
    for (let j = 0; j < a.length; j++) {
      const d = Math.max(f(Math.abs(a[j] - b[j])), MIN_DIFF);
      const w = Math.min(Math.max(f(f(1 / d) * t), 0), 1);
      out[j] = f(w * b[j]) + f(f(1 - w) * a[j]);
    }
    return out;
  },
};
