/**
 * The JSON Schema of an experiment file. Published as packages/core/schema/experiment.schema.json
 * (`npm run schema -w @m2rl/core` rewrites it; a test checks that it is current) so that editors can complete and
 * check experiment files. Plugin-owned blocks (`domains.*.options`, `arms.mix.options`, `arms.merge:*.parameters`,
 * `analysis[].options`) and the open sections (`trainer`, `policy.sft`, `policy.model`) are plain objects here:
 * the experiment loader validates them with the schema their owner registered on the plugin host.
 */
import type { JSONSchema } from "../plugin/schema.ts";
import { DEFAULT_MIXING_SCHEDULER } from "../schedulers/weighted.ts";

const ID = "^[A-Za-z][A-Za-z0-9_-]*$";

const openObject = (description: string): JSONSchema => ({ type: "object", description });

const split = (which: string): JSONSchema => ({
  type: "object",
  description: `The ${which} split: generated tasks (count) and/or tasks read from a file.`,
  additionalProperties: false,
  properties: {
    count: {
      type: "integer",
      minimum: 0,
      description: "Number of tasks (at most this many when read from a file).",
    },
    file: {
      type: "string",
      minLength: 1,
      description: "JSONL or Parquet file, relative to the experiment file.",
    },
    format: {
      enum: ["jsonl", "parquet", "verl"],
      description: "File format; default: from the file extension.",
    },
  },
});

const trainerOverride: JSONSchema = openObject(
  "Overrides of the top-level `trainer` options for this arm (validated by the trainer's schema).",
);

const armDomains: JSONSchema = {
  type: "array",
  items: { type: "string", pattern: ID },
  minItems: 1,
  uniqueItems: true,
  description: "Domains this arm covers; default: all domains.",
};

const nullableObject = (
  description: string,
  properties: Record<string, JSONSchema>,
  required: string[] = [],
): JSONSchema => ({
  type: ["object", "null"],
  additionalProperties: false,
  description,
  properties: { description: { type: "string", description: "Free text about the arm." }, ...properties },
  ...(required.length ? { required } : {}),
});

/** `arms.<id>.generations`: eval generations made elsewhere, scored here instead of generating on this machine. */
const generations: JSONSchema = {
  type: "object",
  additionalProperties: false,
  required: ["file"],
  description:
    "Eval generations made elsewhere (verl's validation dump, or JSONL of prompt / response / ground truth): the " +
    "arm is scored from them with this experiment's verifiers instead of generating on this machine.",
  properties: {
    file: {
      type: ["string", "array"],
      minLength: 1,
      items: { type: "string", minLength: 1 },
      minItems: 1,
      description:
        "JSONL file (or a list of files), relative to this file: verl's `trainer.validation_data_dir`/<step>.jsonl, " +
        "or one { prompt, response, ground truth } object per line.",
    },
    format: {
      enum: ["verl", "jsonl"],
      description:
        "verl: keys input, output, gts (score and step kept for comparison); jsonl: prompt, response and " +
        "ground_truth (or gts, reward_model.ground_truth, answer), optional domain / data_source, task_id, " +
        "sample_index. Default: from the first line's keys.",
    },
    domain: {
      type: "string",
      pattern: ID,
      description:
        "Domain of every line; default: the line's domain / data_source, else the domain whose eval task has the " +
        "line's prompt and ground truth.",
    },
  },
};

const checkpoint: JSONSchema = {
  type: "string",
  minLength: 1,
  description:
    "Import the arm instead of training it: a Hugging Face model folder trained elsewhere from `policy.path` " +
    "(e.g. verl's model_merger output), relative to this file. It is merged, analysed and evaluated like an arm " +
    "trained here.",
};

const baseArm = nullableObject("The base policy, evaluated as it is (built-in: randomly initialised).", {
  generations,
});
const sftArm = nullableObject("The base after the supervised warm-up (`policy.sft`), evaluated.", {
  generations,
});
const singleArm = nullableObject(
  "One RL run per domain (single:<domain> for one of them), from sft (else base).",
  {
    trainer: trainerOverride,
    checkpoint,
    generations,
  },
);
const singlesArm = nullableObject(
  "One RL run per domain (single:<domain> for one of them), from sft (else base).",
  {
    trainer: trainerOverride,
    checkpoints: {
      type: "object",
      propertyNames: { pattern: ID },
      additionalProperties: { type: "string", minLength: 1 },
      description:
        "Import every domain's arm instead of training it: domain id → Hugging Face model folder trained " +
        "elsewhere from `policy.path` (relative to this file). Every domain needs one.",
    },
    generations: {
      type: "object",
      propertyNames: { pattern: ID },
      additionalProperties: generations,
      description:
        "Eval generations made elsewhere, per domain id: each single:<domain> arm is scored from its own.",
    },
  },
);
const mixArm = nullableObject("One RL run on a mixture of the domains (the paper's multi-task run).", {
  scheduler: {
    type: "string",
    minLength: 1,
    default: DEFAULT_MIXING_SCHEDULER,
    description: `Registered mixing scheduler; default: ${DEFAULT_MIXING_SCHEDULER} (the paper's shuffled concatenation of the domains in their natural sizes).`,
  },
  options: openObject("Options of the mixing scheduler (validated by its schema)."),
  domains: armDomains,
  trainer: trainerOverride,
  checkpoint,
  generations,
});
const mergeArm = nullableObject(
  "A merge of the domains' single-task experts, relative to their start policy.",
  {
    method: {
      type: "string",
      minLength: 1,
      description: "Registered merge method; default: the text after 'merge:'.",
    },
    parameters: openObject(
      "Parameters of the merge method, with mergekit's names (validated by its schema).",
    ),
    domains: armDomains,
    generations,
  },
);
const mopdArm = nullableObject("Multi-teacher on-policy distillation from the single-task experts.", {
  domains: armDomains,
  trainer: trainerOverride,
  generations,
});

/** The experiment schema (draft-07). */
export const experimentSchema: JSONSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "M2RL experiment",
  description: "One M2RL experiment: a base policy, domains, the arms to compare, evaluation and analysis.",
  type: "object",
  additionalProperties: false,
  required: ["name", "policy", "domains", "arms"],
  properties: {
    $schema: { type: "string", description: "Editor hint: the URL or path of this schema." },
    name: {
      type: "string",
      pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
      description: "Experiment name (used for the output folder).",
    },
    description: { type: "string", description: "Free text about the experiment (shown in the report)." },
    seed: {
      type: "integer",
      minimum: 0,
      maximum: 4294967295,
      default: 0,
      description: "Seed of every RNG. Give either `seed` or `seeds`, not both.",
    },
    seeds: {
      type: "array",
      items: { type: "integer", minimum: 0, maximum: 4294967295 },
      minItems: 1,
      uniqueItems: true,
      description:
        "Repeat the experiment with each of these seeds (instead of `seed`): the arm graph runs once per seed, " +
        "in runs/<name>/seed-<s>/, and one report aggregates the eval rows of every seed. One seed is the same as " +
        "`seed: <s>`. `m2rl run --seeds 0,1,2` overrides it.",
    },
    output: { type: "string", minLength: 1, description: "Output folder; default: runs/<name>." },
    plugins: {
      type: "array",
      items: { type: "string", minLength: 1 },
      uniqueItems: true,
      default: [],
      description: "Plugins to load: npm module names or paths relative to this file.",
    },
    policy: {
      type: "object",
      additionalProperties: false,
      description: "The base policy: a built-in tiny recipe (`builtin`) or a Hugging Face folder (`path`).",
      properties: {
        builtin: {
          type: "string",
          minLength: 1,
          description: "Name of a built-in tiny policy recipe (e.g. tiny).",
        },
        path: {
          type: "string",
          minLength: 1,
          description: "Hugging Face-style model folder, relative to this file.",
        },
        model: openObject(
          "Architecture overrides of the built-in recipe (validated by the policy's schema).",
        ),
        sft: openObject("Supervised warm-up options (validated by the trainer's schema)."),
        chatTemplate: {
          type: ["boolean", "object"],
          additionalProperties: false,
          properties: {
            variables: {
              type: "object",
              description: "Extra template variables, e.g. { enable_thinking: false } for Qwen3.",
            },
          },
          description:
            "Render every prompt (SFT, rollouts, evaluation, MOPD, analyses) with the model folder's chat template " +
            "(tokenizer_config.json `chat_template` or chat_template.jinja): a verl chat list keeps its system turn, " +
            "a plain prompt becomes one user turn, then the generation prompt. true, or { variables }.",
        },
      },
    },
    domains: {
      type: "object",
      description: "Domains by id. Each names a registered domain (`verifier`) and its data.",
      minProperties: 1,
      propertyNames: { pattern: ID },
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        properties: {
          verifier: {
            type: "string",
            minLength: 1,
            description: "Registered domain name; default: the domain id.",
          },
          options: openObject("Options of the domain plugin (validated by its schema)."),
          train: split("train"),
          eval: split("eval"),
        },
      },
    },
    arms: {
      type: "object",
      description:
        "Arms by id: base, sft, single (one per domain) or single:<domain>, mix[:<label>], merge:<method> " +
        "(or merge:<label> with `method`), mopd[:<label>]. A value may be empty.",
      minProperties: 1,
      additionalProperties: false,
      "x-key-hint":
        "arm ids are base, sft, single, single:<domain>, mix[:<label>], merge:<method>, mopd[:<label>]",
      properties: { base: baseArm, sft: sftArm, single: singlesArm, mix: mixArm, mopd: mopdArm },
      patternProperties: {
        [`^single:${ID.slice(1)}`]: singleArm,
        [`^mix:${ID.slice(1)}`]: mixArm,
        [`^merge:${ID.slice(1)}`]: mergeArm,
        [`^mopd:${ID.slice(1)}`]: mopdArm,
      },
    },
    trainer: {
      type: "object",
      default: {},
      description:
        "RL trainer / algorithm options (GRPO family); validated by the trainer's registered schema.",
    },
    evaluation: {
      type: "object",
      additionalProperties: false,
      default: {},
      description: "How every arm is scored on every domain's eval split.",
      properties: {
        samples: { type: "integer", minimum: 1, default: 1, description: "Samples per eval prompt." },
        passAtK: {
          type: "array",
          items: { type: "integer", minimum: 1 },
          uniqueItems: true,
          default: [1],
          description: "k values of pass@k (each at most `samples`).",
        },
        temperature: {
          type: "number",
          minimum: 0,
          default: 0,
          description: "Sampling temperature (0: greedy).",
        },
        topP: {
          type: "number",
          exclusiveMinimum: 0,
          maximum: 1,
          default: 1,
          description: "Nucleus sampling mass (1: off).",
        },
        maxTokens: {
          type: "integer",
          minimum: 1,
          description:
            "Generation limit per eval sample; default: the rollouts' trainer.sampling.maxNewTokens.",
        },
        maxParameters: {
          type: "integer",
          minimum: 1,
          description:
            "Largest model generated from on this machine (parameters): an arm above it is scored from its imported " +
            "`generations`, else not evaluated (the report says which and why), and the prediction analyses skip it. " +
            "Default: no limit.",
        },
        selfJudge: {
          type: "object",
          additionalProperties: false,
          required: ["tasks"],
          description:
            "Outcome- vs process-based self-judging: each arm grades its own eval samples, seeing only the final " +
            "answer (outcome) or the whole response (process); the verdict is p(yes) / (p(yes) + p(no)).",
          properties: {
            tasks: {
              type: "integer",
              minimum: 1,
              description:
                "Eval tasks per domain (the first of the eval draw) whose samples every arm judges.",
            },
            sftExamples: {
              type: "integer",
              minimum: 0,
              default: 0,
              description:
                "Judge-format examples per domain added to the SFT data, labelled by the domain's verifier on " +
                "the train references (the built-in policy learns the format this way). Needs an SFT stage.",
            },
          },
        },
      },
    },
    analysis: {
      type: "array",
      default: [],
      description: "Analyses to run over the arms: a name, or { name, options }.",
      items: {
        if: { type: "string" },
        // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword here
        then: { type: "string", minLength: 1 },
        else: {
          type: "object",
          additionalProperties: false,
          required: ["name"],
          properties: {
            name: { type: "string", minLength: 1 },
            options: openObject("Options of the analysis (validated by its schema)."),
          },
        },
      },
    },
  },
};
