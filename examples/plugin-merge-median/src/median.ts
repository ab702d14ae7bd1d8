/**
 * The `median` merge method: theta = base + lambda * median_i(theta_i - base), element by element. With two
 * models the median is the mean of the two task vectors (task arithmetic with weights 1/2); with three or more it
 * ignores one model's outlying update where the others agree.
 */
import type { MergeMethod, MergeParamDef, TensorMergeInput } from "@m2rl/core/merge";
import type { JSONSchema } from "@m2rl/core/plugin";

/** The method's parameters, mergekit style: what a merge YAML may set and how. */
export const medianParameters: readonly MergeParamDef[] = [
  {
    name: "lambda",
    type: "number",
    default: 1,
    scope: "global",
    perTensor: true,
    description: "scale of the median task vector added to the base",
  },
];

/** The same parameters as a JSON Schema: how an experiment's merge arm `parameters:` block is validated. */
export const medianOptionsSchema: JSONSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    lambda: { type: "number", description: "scale of the median task vector added to the base (default 1)" },
  },
};

let scratch = new Float64Array(8);

/**
 * The median of the task vectors at every element, computed in float64 and rounded once to float32 when stored:
 * for an odd count the middle value, for an even count the mean of the two middle values. An element where any
 * input is NaN is NaN. Depends on nothing but the element's own inputs, so any chunk of a tensor merges to that
 * chunk of the whole result, and the order of the models does not matter.
 */
export function medianMerge(
  base: Float32Array,
  models: readonly Float32Array[],
  lambda: number,
  out: Float32Array = new Float32Array(base.length),
): Float32Array {
  const m = models.length;
  if (scratch.length < m) scratch = new Float64Array(m);
  const d = scratch;
  const mid = m >> 1;
  for (let j = 0; j < base.length; j++) {
    const b = base[j];
    let nan = Number.isNaN(b);
    // insertion sort of the m task-vector entries (m is small: a handful of models)
    for (let i = 0; i < m; i++) {
      const x = models[i][j] - b;
      if (Number.isNaN(x)) nan = true;
      let k = i;
      while (k > 0 && d[k - 1] > x) {
        d[k] = d[k - 1];
        k--;
      }
      d[k] = x;
    }
    const med = m % 2 === 1 ? d[mid] : (d[mid - 1] + d[mid]) / 2;
    out[j] = nan ? Number.NaN : b + lambda * med;
  }
  return out;
}

export const median: MergeMethod = {
  name: "median",
  description: "Base plus lambda times the element-wise median of the task vectors theta_i - base",
  optionsSchema: medianOptionsSchema,
  parameters: medianParameters,
  base: "required",
  minModels: 1,
  chunkable: true,
  mergeTensor(input: TensorMergeInput): Float32Array {
    if (!input.base) throw new Error("merge method 'median' needs a base_model");
    const lambda = input.params.global.lambda;
    if (typeof lambda !== "number")
      throw new Error(`'lambda' must be a number, got ${JSON.stringify(lambda)}`);
    const n = input.base.length;
    const out: Float32Array = input.out && input.out.length === n ? input.out : new Float32Array(n);
    return medianMerge(input.base, input.models, lambda, out);
  },
};
