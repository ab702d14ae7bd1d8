/** JSON Schemas of the reward server's request bodies (validated with ajv before anything runs). */

export const API_VERSION = 1;

/** `POST /v1/verify/<domain>`: a batch of {response, ground_truth}. */
export const VERIFY_REQUEST_SCHEMA = {
  $id: "m2rl:serve/v1/verify",
  type: "object",
  additionalProperties: false,
  required: ["items"],
  properties: {
    version: { const: API_VERSION, description: "request schema version; 1 when given" },
    items: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["response", "ground_truth"],
        properties: {
          id: { type: ["string", "number"] },
          response: { type: "string" },
          ground_truth: {},
        },
      },
    },
  },
} as const;

/**
 * `POST /reward` (OpenRLHF remote reward model): `query` is prompt + response as the trainer rendered it; `prompts`
 * and `labels` are required by the handler (400 with a message), which grades only the response.
 */
export const OPENRLHF_REQUEST_SCHEMA = {
  $id: "m2rl:serve/openrlhf",
  type: "object",
  required: ["query"],
  properties: {
    query: { type: "array", minItems: 1, items: { type: "string" } },
    prompts: { type: "array", items: { type: "string" } },
    labels: { type: "array" },
    metas: { type: "array" },
  },
} as const;

/** `POST /verl/compute_score`: verl's `compute_score(data_source, solution_str, ground_truth, extra_info)`, batched. */
export const VERL_REQUEST_SCHEMA = {
  $id: "m2rl:serve/verl",
  type: "object",
  additionalProperties: false,
  required: ["items"],
  properties: {
    items: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["solution_str", "ground_truth"],
        properties: {
          data_source: { type: "string" },
          solution_str: { type: "string" },
          ground_truth: {},
          extra_info: { type: ["object", "null"] },
        },
      },
    },
  },
} as const;

/** `POST /trl/reward`: TRL GRPOTrainer reward-function arguments (prompts, completions, dataset columns). */
export const TRL_REQUEST_SCHEMA = {
  $id: "m2rl:serve/trl",
  type: "object",
  required: ["completions", "ground_truth"],
  properties: {
    prompts: { type: "array" },
    completions: {
      type: "array",
      minItems: 1,
      items: {
        anyOf: [
          { type: "string" },
          {
            type: "array",
            items: { type: "object", required: ["content"], properties: { content: { type: "string" } } },
          },
        ],
      },
    },
    ground_truth: { type: "array" },
    domain: { type: "array", items: { type: "string" } },
  },
} as const;
