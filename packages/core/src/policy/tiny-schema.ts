import { registryPlugin } from "../plugin/define.ts";
import type { Plugin } from "../plugin/host.ts";
import type { JSONSchema } from "../plugin/schema.ts";

/** JSON Schema of the experiment's `policy.model:` section: the architecture of a built-in tiny policy (TinyRecipe). */
export const TINY_RECIPE_SCHEMA: JSONSchema = {
  title: "M2RL built-in tiny policy (Qwen2 layout)",
  type: "object",
  additionalProperties: false,
  properties: {
    hiddenSize: { type: "integer", minimum: 8, description: "d_model (default 64)." },
    layers: { type: "integer", minimum: 1, description: "Decoder layers (default 2)." },
    heads: { type: "integer", minimum: 1, description: "Attention heads (default 4)." },
    kvHeads: { type: "integer", minimum: 1, description: "Key/value heads, GQA when < heads (default 2)." },
    intermediateSize: { type: "integer", minimum: 1, description: "SwiGLU width (default 3 × hiddenSize)." },
    maxPositions: { type: "integer", minimum: 8, description: "Longest prompt + completion (default 512)." },
    tieEmbeddings: { type: "boolean", description: "Tie lm_head to the embeddings (default true)." },
  },
};

/** Registers `policy.model` as an open section of the experiment file, validated with TINY_RECIPE_SCHEMA. */
export const policyConfigPlugin: Plugin = registryPlugin("m2rl:policy", {
  configSections: [
    {
      name: "policy.model",
      description: "Built-in tiny policy architecture",
      optionsSchema: TINY_RECIPE_SCHEMA,
    },
  ],
});
