import type { JSONSchema } from "@m2rl/core/plugin";

const scalar = { type: ["number", "boolean", "string"] };
const gradient = { type: "array", minItems: 1, items: { type: "number" } };
const conditional = {
  type: "object",
  required: ["value"],
  additionalProperties: false,
  properties: { filter: { type: "string" }, value: { anyOf: [scalar, gradient] } },
};

/** A parameter setting: a scalar, a layer gradient (list of numbers) or a list of {filter, value}. */
export const settingSchema: JSONSchema = {
  anyOf: [scalar, gradient, { type: "array", minItems: 1, items: conditional }],
};

const parameters = { type: "object", additionalProperties: settingSchema };

/** JSON Schema of a mergekit merge config (the subset M2RL runs: `models`, not `slices` / `modules`). */
export const mergeConfigSchema: JSONSchema = {
  $id: "https://m2rl.dev/schemas/merge-config.json",
  type: "object",
  required: ["merge_method", "models"],
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
    parameters,
    dtype: { type: "string" },
    out_dtype: { type: "string" },
    tokenizer_source: { type: "string" },
    chat_template: { type: "string" },
    seed: { type: "integer", minimum: 0 },
    out_shard_size: { anyOf: [{ type: "integer", minimum: 1 }, { type: "string" }] },
    name: { type: "string" },
  },
};
