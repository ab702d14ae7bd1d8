import type { JSONSchema } from "@m2rl/core/plugin";
import { tokenizerBlockSchema } from "./tokenizer-config.ts";

/**
 * A `parameters:` block (top level or a model's): an object here; its keys and values are checked against the
 * chosen method's parameter schema (mergeParametersSchema), once the method is known.
 */
const parameters = { type: "object" };

/** One output slice of `slices:` (mergekit's OutputSliceDefinition): its sources' layer ranges are checked in slices.ts. */
const slice = {
  type: "object",
  required: ["sources"],
  additionalProperties: false,
  properties: {
    sources: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["model", "layer_range"],
        additionalProperties: false,
        properties: {
          model: { type: "string", minLength: 1 },
          layer_range: { type: "array", minItems: 2, maxItems: 2, items: { type: "integer", minimum: 0 } },
          parameters,
        },
      },
    },
    base_model: { type: "string", minLength: 1 },
    residual_weight: { type: "number" },
    parameters,
  },
};

/**
 * JSON Schema of a mergekit merge config (the subset M2RL runs: `models` or `slices`, not `modules`). Exactly one of
 * `models` and `slices` is checked in parseMergeConfig (with the line of the offending key).
 */
export const mergeConfigSchema: JSONSchema = {
  $id: "https://m2rl.dev/schemas/merge-config.json",
  type: "object",
  required: ["merge_method"],
  additionalProperties: false,
  properties: {
    merge_method: { type: "string", minLength: 1 },
    base_model: { type: "string", minLength: 1 },
    models: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["model"],
        additionalProperties: false,
        properties: { model: { type: "string", minLength: 1 }, parameters },
      },
    },
    slices: { type: "array", minItems: 1, items: slice },
    parameters,
    dtype: { type: "string" },
    out_dtype: { type: "string" },
    tokenizer_source: { type: "string", minLength: 1 },
    tokenizer: tokenizerBlockSchema,
    chat_template: { type: "string" },
    seed: { type: "integer", minimum: 0 },
    out_shard_size: { anyOf: [{ type: "integer", minimum: 1 }, { type: "string" }] },
    name: { type: "string" },
  },
};
