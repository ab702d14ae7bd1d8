/**
 * Trainer options: a typed config with documented defaults (the paper's RL recipe where it states one)
 * and the JSON Schema of the experiment's `trainer:` section. `resolveTrainerConfig` deep-merges user options
 * over the defaults and checks cross-field rules.
 */

import type { VerificationStatus } from "../domain/types.ts";
import { ConfigError } from "../errors/index.ts";
import type { JSONSchema } from "../plugin/schema.ts";
import { type KlEstimator, LOSS_AGGREGATIONS, type LossAggregation } from "./loss-kinds.ts";
import type { LrDecay } from "./lr-schedule.ts";

export interface TrainerConfig {
  /** "grpo": verifier rewards, group-relative advantages. "mopd": multi-teacher on-policy distillation. */
  algorithm: "grpo" | "mopd";
  /** Optimizer steps of the run. Paper: 200 single-domain, 400 multi-task. */
  steps: number;
  /** Prompts per step. Paper: 128 (GRPO), 256 (MT-OPD). */
  promptsPerStep: number;
  /** Samples (rollouts) per prompt, G. Paper: 16 (GRPO), 4 (MT-OPD). */
  groupSize: number;
  /** Seed of every random choice of the run (data order, scheduler, sampling). */
  seed: number;
  /** Rollout sampling. Paper: temperature 1.0. */
  sampling: { temperature: number; topP: number; maxNewTokens: number; stop?: string[] };
  /** A = (r - mean)/(std + eps) when normalizeStd, else r - mean (Dr. GRPO). */
  advantage: { normalizeStd: boolean; eps: number; stdKind: "sample" | "population" };
  /** Clip range [1 - epsLow, 1 + epsHigh] of the ratio (DAPO clip-higher: 0.2 / 0.28). */
  clip: { epsLow: number; epsHigh: number };
  /** Truncated importance sampling cap between rollout and trainer log-probs (paper 2.0); null = off. */
  tisCap: number | null;
  /** Recompute old log-probs with the trainer's forward pass before the update (else: the rollout's). */
  recomputeOldLogprobs: boolean;
  /** How per-token losses are reduced. Paper: "loss averaged per sample" = seq-mean-token-mean. */
  aggregation: LossAggregation;
  /** Constant of seq-mean-token-sum-norm (default: sampling.maxNewTokens). */
  aggregationNormalizer?: number;
  /** KL to the frozen reference: coef 0 = no KL and no reference pass (paper). */
  /**
   * KL to the frozen reference policy: coef 0 = no KL term (paper). `monitor`: measure it every step (a metric,
   * one reference forward pass per step) even when coef is 0; needs the reference policy.
   */
  kl: { coef: number; estimator: KlEstimator; monitor: boolean };
  /** Entropy bonus coefficient (loss -= coef · H). Paper: 0. */
  entropyCoef: number;
  /** Compute the policy entropy for the metrics even when entropyCoef is 0 (costs a [tokens, vocab] pass). */
  computeEntropy: boolean;
  /** DAPO soft overlong punishment added to the reward; maxLength defaults to sampling.maxNewTokens. */
  overlong: { enabled: boolean; cacheLength: number; factor: number; maxLength?: number };
  /** DAPO dynamic sampling: drop groups whose rewards are all equal, refill up to maxRefills extra rounds. */
  dynamicSampling: { enabled: boolean; maxRefills: number };
  /** Groups containing a sample with one of these statuses are dropped (never a silent 0). */
  dropGroupOnStatus: VerificationStatus[];
  /** Passes over each rollout batch, and mini-batches (optimizer updates) per pass. Paper: 1 and 1. */
  ppoEpochs: number;
  miniBatches: number;
  /** Adam(W). Paper RL: lr 2e-6 constant, betas 0.9/0.98, weight decay 0.1. */
  optimizer: {
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    decoupled: boolean;
    /** Global grad-norm clip (null = off). */
    maxGradNorm: number | null;
    /** Warm-up and decay count optimizer updates (at most steps × ppoEpochs × miniBatches in a run). */
    warmupSteps: number;
    decay: LrDecay;
    minLr: number;
  };
  /** MOPD: A_t = (log p_teacher - log p_student)_t + rewardWeight · A_GRPO. Paper: rewardWeight 0. */
  mopd: { rewardWeight: number };
  /** Mixing scheduler by registry name, and its options. Paper: proportional (natural sizes). */
  scheduler: { name: string; options: Record<string, unknown> };
  /** Training tasks loaded per domain (undefined: the domain's default). */
  trainTasksPerDomain?: number;
  /** Sequences per forward/backward chunk inside a mini-batch (gradients are accumulated). 0 = whole. */
  microBatchSize: number;
  /** Sequences per `policy.generate` call (0 = all of a round's G·prompts in one call). */
  rolloutBatchSize: number;
  /** Verifications in flight at once (the verifiers bound their own sandboxes too). */
  verifyConcurrency: number;
  /** Evaluate every N steps (0 = only when asked) and at the end when evalAtEnd. */
  evalEvery: number;
  evalAtEnd: boolean;
  /** Eval tasks per domain of those evaluations (0 = the domain's whole eval split): held-out curves on a subset. */
  evalTasks: number;
  /** Checkpoint every N steps (0 = never) and at the end when checkpointAtEnd (needs a checkpoint store). */
  checkpointEvery: number;
  checkpointAtEnd: boolean;
  /**
   * Options of trainer plugins, by plugin name. The trainer itself reads none of them: a plugin applied through the
   * plugin host's `hooks.trainer` reads its own block (`trainer.config.plugins[name]`), validated at load time by the
   * schema it registered as the config section `trainer.plugins.<name>`.
   */
  plugins: Record<string, Record<string, unknown>>;
}

export const DEFAULT_TRAINER_CONFIG: TrainerConfig = {
  algorithm: "grpo",
  steps: 200,
  promptsPerStep: 128,
  groupSize: 16,
  seed: 0,
  sampling: { temperature: 1, topP: 1, maxNewTokens: 1024 },
  advantage: { normalizeStd: true, eps: 1e-6, stdKind: "sample" },
  clip: { epsLow: 0.2, epsHigh: 0.28 },
  tisCap: 2,
  recomputeOldLogprobs: true,
  aggregation: "seq-mean-token-mean",
  kl: { coef: 0, estimator: "k3", monitor: false },
  entropyCoef: 0,
  computeEntropy: true,
  overlong: { enabled: false, cacheLength: 256, factor: 1 },
  dynamicSampling: { enabled: false, maxRefills: 3 },
  dropGroupOnStatus: ["error"],
  ppoEpochs: 1,
  miniBatches: 1,
  optimizer: {
    lr: 2e-6,
    beta1: 0.9,
    beta2: 0.98,
    eps: 1e-8,
    weightDecay: 0.1,
    decoupled: true,
    maxGradNorm: 1,
    warmupSteps: 0,
    decay: "constant",
    minLr: 0,
  },
  mopd: { rewardWeight: 0 },
  scheduler: { name: "proportional", options: {} },
  microBatchSize: 0,
  rolloutBatchSize: 0,
  verifyConcurrency: 64,
  evalEvery: 0,
  evalAtEnd: false,
  evalTasks: 0,
  checkpointEvery: 0,
  checkpointAtEnd: false,
  plugins: {},
};

/** Deep partial of the config, as written in an experiment file. */
export type TrainerConfigInput = {
  [K in keyof TrainerConfig]?: TrainerConfig[K] extends readonly unknown[]
    ? TrainerConfig[K]
    : TrainerConfig[K] extends object | undefined
      ? Partial<NonNullable<TrainerConfig[K]>>
      : TrainerConfig[K];
};

const num = (description: string, extra: Record<string, unknown> = {}) => ({
  type: "number",
  description,
  ...extra,
});
const int = (description: string, minimum = 0) => ({ type: "integer", minimum, description });
const obj = (properties: Record<string, unknown>, description?: string) => ({
  type: "object",
  additionalProperties: false,
  properties,
  ...(description ? { description } : {}),
});

/** JSON Schema of the experiment's `trainer:` section (every key optional; defaults in DEFAULT_TRAINER_CONFIG). */
export const TRAINER_CONFIG_SCHEMA: JSONSchema = {
  title: "M2RL trainer options",
  ...obj({
    algorithm: {
      enum: ["grpo", "mopd"],
      description: "grpo: verifier rewards, group advantages; mopd: distillation from per-domain teachers.",
    },
    steps: int("Optimizer steps.", 1),
    promptsPerStep: int("Prompts per step.", 1),
    groupSize: int("Samples per prompt (G).", 1),
    seed: int("Run seed."),
    sampling: obj(
      {
        temperature: num("Sampling temperature.", { minimum: 0 }),
        topP: num("Nucleus mass.", { exclusiveMinimum: 0, maximum: 1 }),
        maxNewTokens: int("Max response tokens.", 1),
        stop: { type: "array", items: { type: "string" }, description: "Strings that end a response." },
      },
      "How rollouts are sampled.",
    ),
    advantage: obj(
      {
        normalizeStd: { type: "boolean", description: "Divide by the group std (false = Dr. GRPO)." },
        eps: num("Added to the std.", { minimum: 0 }),
        stdKind: {
          enum: ["sample", "population"],
          description: "Group std with n − 1 (sample) or n (population).",
        },
      },
      "Group-relative advantages A = (r − mean) / (std + eps).",
    ),
    clip: obj(
      {
        epsLow: num("Lower clip ε.", { minimum: 0, maximum: 1 }),
        epsHigh: num("Upper clip ε.", { minimum: 0 }),
      },
      "PPO ratio clip [1 − epsLow, 1 + epsHigh] (DAPO clip-higher).",
    ),
    tisCap: { type: ["number", "null"], exclusiveMinimum: 0, description: "Truncated IS cap; null = off." },
    recomputeOldLogprobs: {
      type: "boolean",
      description: "Score old log-probs with the trainer's forward pass (else take the sampler's).",
    },
    aggregation: {
      enum: [...LOSS_AGGREGATIONS],
      description: "How token losses are averaged into the loss.",
    },
    aggregationNormalizer: num("Constant of seq-mean-token-sum-norm.", { exclusiveMinimum: 0 }),
    kl: obj(
      {
        coef: num("β of the KL term (0 = none).", { minimum: 0 }),
        estimator: {
          enum: ["k1", "k2", "k3"],
          description: "Per-token KL estimator (Schulman's k1, k2, k3).",
        },
        monitor: {
          type: "boolean",
          description:
            "Measure the KL to the reference every step even when coef is 0 (a metric; default false).",
        },
      },
      "KL to the reference policy (the arm's start policy in m2rl run).",
    ),
    entropyCoef: num("Entropy bonus coefficient.", { minimum: 0 }),
    computeEntropy: { type: "boolean", description: "Entropy metric even when entropyCoef is 0." },
    overlong: obj(
      {
        enabled: { type: "boolean", description: "DAPO's soft overlong punishment as a reward term." },
        cacheLength: int("Soft punishment zone (tokens).", 1),
        factor: num("Penalty multiplier.", { minimum: 0 }),
        maxLength: int("L_max (default sampling.maxNewTokens).", 1),
      },
      "DAPO soft overlong punishment.",
    ),
    dynamicSampling: obj(
      {
        enabled: {
          type: "boolean",
          description: "Drop groups whose rewards are all equal and sample again.",
        },
        maxRefills: int("Extra sampling rounds."),
      },
      "DAPO dynamic sampling.",
    ),
    dropGroupOnStatus: {
      type: "array",
      items: { enum: ["correct", "incorrect", "unparsable", "timeout", "error"] },
      uniqueItems: true,
      description: "Drop a group when any sample has one of these verification statuses.",
    },
    ppoEpochs: int("Passes over a rollout batch.", 1),
    miniBatches: int("Optimizer updates per pass.", 1),
    optimizer: obj(
      {
        lr: num("Peak learning rate.", { minimum: 0 }),
        beta1: num("Adam β1.", { minimum: 0, exclusiveMaximum: 1 }),
        beta2: num("Adam β2.", { minimum: 0, exclusiveMaximum: 1 }),
        eps: num("Adam ε.", { exclusiveMinimum: 0 }),
        weightDecay: num("Weight decay λ.", { minimum: 0 }),
        decoupled: { type: "boolean", description: "AdamW (true) or Adam with L2 (false)." },
        maxGradNorm: {
          type: ["number", "null"],
          exclusiveMinimum: 0,
          description: "Global grad-norm clip; null = off.",
        },
        warmupSteps: int("Linear warm-up, in optimizer updates."),
        decay: { enum: ["constant", "cosine", "linear"], description: "LR decay after warm-up, to minLr." },
        minLr: num("Floor of the decay.", { minimum: 0 }),
      },
      "AdamW and the learning-rate schedule.",
    ),
    mopd: obj(
      { rewardWeight: num("Weight of the GRPO advantage added to the distillation advantage.") },
      "Multi-teacher on-policy distillation.",
    ),
    scheduler: obj(
      {
        name: { type: "string", description: "Registered mixing scheduler." },
        options: { type: "object", description: "Its options (validated by its schema)." },
      },
      "The mixing scheduler (a mix arm's `scheduler` / `options` replace it).",
    ),
    trainTasksPerDomain: int("Train tasks loaded per domain.", 1),
    microBatchSize: int("Sequences per forward/backward chunk (0 = whole mini-batch)."),
    rolloutBatchSize: int("Sequences per generate call (0 = all)."),
    verifyConcurrency: int("Verifications in flight at once.", 1),
    evalEvery: int("Evaluate every N steps (0 = never)."),
    evalAtEnd: { type: "boolean", description: "A periodic-evaluation point at the last step too." },
    evalTasks: int("Eval tasks per domain of the periodic evaluation (0 = the whole eval split)."),
    checkpointEvery: int("Checkpoint every N steps (0 = never)."),
    checkpointAtEnd: {
      type: "boolean",
      description: "Checkpoint after the last step (m2rl run always does: its arms resume from them).",
    },
    plugins: {
      type: "object",
      description:
        "Options of trainer plugins by plugin name; each block is checked by the schema its plugin registered " +
        "(config section `trainer.plugins.<name>`), and a name no loaded plugin registered is an error.",
      additionalProperties: { type: "object" },
    },
  }),
};

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
  path: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (!(k in base) && !OPTIONAL_KEYS.has(path ? `${path}.${k}` : k)) {
      throw new ConfigError(`unknown trainer option '${path ? `${path}.${k}` : k}'`, {
        path: `trainer.${path ? `${path}.` : ""}${k}`,
      });
    }
    out[k] =
      // Scheduler options and plugin blocks belong to their owners: taken whole, not checked against the defaults.
      isPlainObject(base[k]) && isPlainObject(v) && k !== "options" && !(k === "plugins" && path === "")
        ? merge(base[k] as Record<string, unknown>, v, path ? `${path}.${k}` : k)
        : v;
  }
  return out;
}

const OPTIONAL_KEYS = new Set([
  "aggregationNormalizer",
  "trainTasksPerDomain",
  "sampling.stop",
  "overlong.maxLength",
]);

/** Defaults ⊕ input, with cross-field checks (errors name the `trainer.<field>` at fault). */
/** True when the run measures a KL to the reference policy: as a loss term (kl.coef > 0) or as a metric (kl.monitor). */
export function measuresKl(config: Pick<TrainerConfig, "kl">): boolean {
  return config.kl.coef > 0 || config.kl.monitor;
}

export function resolveTrainerConfig(input: TrainerConfigInput = {}): TrainerConfig {
  const c = merge(
    DEFAULT_TRAINER_CONFIG as unknown as Record<string, unknown>,
    input as Record<string, unknown>,
    "",
  ) as unknown as TrainerConfig;
  const fail = (path: string, msg: string) => {
    throw new ConfigError(msg, { path: `trainer.${path}` });
  };
  if (!Number.isInteger(c.steps) || c.steps < 1) fail("steps", `must be an integer >= 1, got ${c.steps}`);
  if (!Number.isInteger(c.promptsPerStep) || c.promptsPerStep < 1)
    fail("promptsPerStep", "must be an integer >= 1");
  if (!Number.isInteger(c.groupSize) || c.groupSize < 1) fail("groupSize", "must be an integer >= 1");
  if (c.algorithm === "grpo" && c.groupSize < 2)
    fail("groupSize", "GRPO needs at least 2 samples per prompt");
  if (!LOSS_AGGREGATIONS.includes(c.aggregation))
    fail("aggregation", `unknown aggregation '${c.aggregation}'`);
  if (c.clip.epsLow < 0 || c.clip.epsLow >= 1) fail("clip.epsLow", "must be in [0, 1)");
  if (c.clip.epsHigh < 0) fail("clip.epsHigh", "must be >= 0");
  if (c.miniBatches > c.promptsPerStep)
    fail("miniBatches", "cannot exceed promptsPerStep (mini-batches split groups)");
  if (c.overlong.enabled) {
    const max = c.overlong.maxLength ?? c.sampling.maxNewTokens;
    if (c.overlong.cacheLength >= max)
      fail("overlong.cacheLength", `must be smaller than the max length ${max}`);
  }
  return c;
}

/**
 * The paper's recipe per arm kind, as overrides of the defaults (which already hold its GRPO settings:
 * 128 prompts × 16 rollouts, lr 2e-6 constant, Adam 0.9/0.98, weight decay 0.1, no KL, no entropy bonus, clip
 * 0.2/0.28, TIS cap 2, A = (r - mean)/(std + 1e-6), per-sample loss averaging, temperature 1).
 */
export const PAPER_TRAINER_PRESETS: Readonly<Record<"single" | "mix" | "mopd", TrainerConfigInput>> =
  Object.freeze({
    single: { steps: 200, sampling: { maxNewTokens: 32768 } },
    mix: { steps: 400, sampling: { maxNewTokens: 32768 }, scheduler: { name: "proportional", options: {} } },
    mopd: {
      algorithm: "mopd",
      steps: 200,
      promptsPerStep: 256,
      groupSize: 4,
      sampling: { maxNewTokens: 32768 },
      optimizer: { lr: 1e-6 },
      mopd: { rewardWeight: 0 },
    },
  });
