/**
 * Trainer options: a typed config with documented defaults (the paper's RL recipe where it states one)
 * and the JSON Schema of the experiment's `trainer:` section. `resolveTrainerConfig` deep-merges user options
 * over the defaults and checks cross-field rules.
 */

import { VERIFICATION_STATUSES, type VerificationStatus } from "../domain/types.ts";
import { ConfigError } from "../errors/index.ts";
import {
  bool,
  choice,
  defaultsOf,
  group,
  int,
  num,
  type OptionsOf,
  optional,
  optionalKeysOf,
  schemaOf,
  value,
} from "../plugin/options.ts";
import type { JSONSchema } from "../plugin/schema.ts";
import { KL_ESTIMATORS, LOSS_AGGREGATIONS } from "./loss-kinds.ts";
import { LR_DECAYS } from "./lr-schedule.ts";

/**
 * The trainer's options, declared once: the type (`TrainerConfig`), the defaults (`DEFAULT_TRAINER_CONFIG`, the
 * paper's RL recipe where it states one), the JSON Schema of the experiment's `trainer:` section and its optional
 * keys all come from this tree.
 */
export const TRAINER_OPTIONS = group("GRPO-family trainer options (defaults: the paper's RL recipe).", {
  algorithm: choice(
    ["grpo", "mopd"],
    "grpo: verifier rewards, group-relative advantages; mopd: multi-teacher on-policy distillation.",
    "grpo",
  ),
  steps: int("Optimizer steps of the run. Paper: 200 single-domain, 400 multi-task.", 200, 1),
  promptsPerStep: int("Prompts per step. Paper: 128 (GRPO), 256 (MT-OPD).", 128, 1),
  groupSize: int("Samples (rollouts) per prompt, G. Paper: 16 (GRPO), 4 (MT-OPD).", 16, 1),
  seed: int("Seed of every random choice of the run (data order, scheduler, sampling).", 0),
  sampling: group("How rollouts are sampled. Paper: temperature 1.0.", {
    temperature: num("Sampling temperature.", 1, { minimum: 0 }),
    topP: num("Nucleus mass (1: off).", 1, { exclusiveMinimum: 0, maximum: 1 }),
    maxNewTokens: int("Max response tokens.", 1024, 1),
    stop: optional(
      value<string[]>({ type: "array", items: { type: "string" } }, "Strings that end a response.", []),
    ),
  }),
  advantage: group("A = (r − mean) / (std + eps) when normalizeStd, else r − mean (Dr. GRPO).", {
    normalizeStd: bool("Divide by the group std (false = Dr. GRPO).", true),
    eps: num("Added to the std.", 1e-6, { minimum: 0 }),
    stdKind: choice(["sample", "population"], "Group std with n − 1 (sample) or n (population).", "sample"),
  }),
  clip: group("PPO ratio clip [1 − epsLow, 1 + epsHigh] (DAPO clip-higher: 0.2 / 0.28).", {
    epsLow: num("Lower clip ε.", 0.2, { minimum: 0, maximum: 1 }),
    epsHigh: num("Upper clip ε.", 0.28, { minimum: 0 }),
  }),
  tisCap: value<number | null>(
    { type: ["number", "null"], exclusiveMinimum: 0 },
    "Truncated importance-sampling cap between rollout and trainer log-probs (paper 2.0); null = off.",
    2,
  ),
  recomputeOldLogprobs: bool(
    "Recompute old log-probs with the trainer's forward pass before the update (else: the rollout's).",
    true,
  ),
  aggregation: choice(
    LOSS_AGGREGATIONS,
    'How per-token losses are reduced. Paper: "loss averaged per sample" = seq-mean-token-mean.',
    "seq-mean-token-mean",
  ),
  aggregationNormalizer: optional(
    num("Constant of seq-mean-token-sum-norm (default: sampling.maxNewTokens).", 0, { exclusiveMinimum: 0 }),
  ),
  kl: group("KL to the frozen reference policy (the arm's start policy in m2rl run). Paper: no KL.", {
    coef: num("β of the KL term (0 = no term and, without monitor, no reference pass).", 0, { minimum: 0 }),
    estimator: choice(KL_ESTIMATORS, "Per-token KL estimator (Schulman's k1, k2, k3).", "k3"),
    monitor: bool(
      "Measure the KL to the reference every step even when coef is 0 (a metric, one reference forward pass per step).",
      false,
    ),
  }),
  entropyCoef: num("Entropy bonus coefficient (loss −= coef · H). Paper: 0.", 0, { minimum: 0 }),
  computeEntropy: bool(
    "Compute the policy entropy for the metrics even when entropyCoef is 0 (costs a [tokens, vocab] pass).",
    true,
  ),
  overlong: group("DAPO soft overlong punishment added to the reward.", {
    enabled: bool("Add the overlong penalty as a reward term.", false),
    cacheLength: int("Soft punishment zone (tokens).", 256, 1),
    factor: num("Penalty multiplier.", 1, { minimum: 0 }),
    maxLength: optional(int("L_max (default sampling.maxNewTokens).", 0, 1)),
  }),
  dynamicSampling: group("DAPO dynamic sampling.", {
    enabled: bool("Drop groups whose rewards are all equal and sample again.", false),
    maxRefills: int("Extra sampling rounds.", 3),
  }),
  dropGroupOnStatus: value<VerificationStatus[]>(
    { type: "array", items: { enum: [...VERIFICATION_STATUSES] }, uniqueItems: true },
    "Groups containing a sample with one of these verification statuses are dropped (never a silent 0).",
    ["error"],
  ),
  ppoEpochs: int("Passes over each rollout batch. Paper: 1.", 1, 1),
  miniBatches: int("Mini-batches (optimizer updates) per pass. Paper: 1.", 1, 1),
  optimizer: group(
    "AdamW and the learning-rate schedule. Paper RL: lr 2e-6 constant, betas 0.9/0.98, wd 0.1.",
    {
      lr: num("Peak learning rate.", 2e-6, { minimum: 0 }),
      beta1: num("Adam β1.", 0.9, { minimum: 0, exclusiveMaximum: 1 }),
      beta2: num("Adam β2.", 0.98, { minimum: 0, exclusiveMaximum: 1 }),
      eps: num("Adam ε.", 1e-8, { exclusiveMinimum: 0 }),
      weightDecay: num("Weight decay λ.", 0.1, { minimum: 0 }),
      decoupled: bool("AdamW (true) or Adam with L2 (false).", true),
      maxGradNorm: value<number | null>(
        { type: ["number", "null"], exclusiveMinimum: 0 },
        "Global grad-norm clip; null = off.",
        1,
      ),
      warmupSteps: int(
        "Linear warm-up, in optimizer updates (at most steps × ppoEpochs × miniBatches in a run).",
        0,
      ),
      decay: choice(LR_DECAYS, "LR decay after warm-up, to minLr.", "constant"),
      minLr: num("Floor of the decay.", 0, { minimum: 0 }),
    },
  ),
  mopd: group("MOPD: A_t = (log p_teacher − log p_student)_t + rewardWeight · A_GRPO.", {
    rewardWeight: num("Weight of the GRPO advantage added to the distillation advantage. Paper: 0.", 0),
  }),
  scheduler: group(
    "The mixing scheduler (a mix arm's `scheduler` / `options` replace it). Paper: proportional.",
    {
      name: value<string>({ type: "string" }, "Registered mixing scheduler.", "proportional"),
      options: value<Record<string, unknown>>(
        { type: "object" },
        "Its options (validated by its schema).",
        {},
      ),
    },
  ),
  trainTasksPerDomain: optional(int("Train tasks loaded per domain (default: the domain's).", 0, 1)),
  microBatchSize: int(
    "Sequences per forward/backward chunk inside a mini-batch (gradients accumulate exactly); 0 = whole.",
    0,
  ),
  rolloutBatchSize: int("Sequences per policy.generate call (0 = all of a round's G · prompts).", 0),
  verifyConcurrency: int(
    "Verifications in flight at once (the verifiers bound their own sandboxes too).",
    64,
    1,
  ),
  evalEvery: int("Evaluate every N steps (0 = only when asked).", 0),
  evalAtEnd: bool("A periodic-evaluation point at the last step too.", false),
  evalTasks: int("Eval tasks per domain of the periodic evaluation (0 = the whole eval split).", 0),
  checkpointEvery: int("Checkpoint every N steps (0 = never; needs a checkpoint store).", 0),
  checkpointAtEnd: bool(
    "Checkpoint after the last step (m2rl run always does: its arms resume from them).",
    false,
  ),
  plugins: value<Record<string, Record<string, unknown>>>(
    { type: "object", additionalProperties: { type: "object" } },
    "Options of trainer plugins by plugin name. The trainer reads none of them: a plugin applied through the " +
      "plugin host's hooks.trainer reads its own block, checked by the schema it registered (config section " +
      "`trainer.plugins.<name>`); a name no loaded plugin registered is an error.",
    {},
  ),
});

export type TrainerConfig = OptionsOf<typeof TRAINER_OPTIONS>;

export const DEFAULT_TRAINER_CONFIG: TrainerConfig = defaultsOf(TRAINER_OPTIONS);

/** Deep partial of the config, as written in an experiment file. */
export type TrainerConfigInput = {
  [K in keyof TrainerConfig]?: TrainerConfig[K] extends readonly unknown[]
    ? TrainerConfig[K]
    : TrainerConfig[K] extends object | undefined
      ? Partial<NonNullable<TrainerConfig[K]>>
      : TrainerConfig[K];
};

/** JSON Schema of the experiment's `trainer:` section (every key optional, no defaults: see TRAINER_OPTIONS). */
export const TRAINER_CONFIG_SCHEMA: JSONSchema = schemaOf(TRAINER_OPTIONS, { title: "M2RL trainer options" });

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

const OPTIONAL_KEYS = new Set(optionalKeysOf(TRAINER_OPTIONS));

/** Defaults ⊕ input, with cross-field checks (errors name the `trainer.<field>` at fault). */
/** True when the run measures a KL to the reference policy: as a loss term (kl.coef > 0) or as a metric (kl.monitor). */
export function measuresKl(config: Pick<TrainerConfig, "kl">): boolean {
  return config.kl.coef > 0 || config.kl.monitor;
}

export function resolveTrainerConfig(input: TrainerConfigInput = {}): TrainerConfig {
  const c = merge(DEFAULT_TRAINER_CONFIG, input, "") as TrainerConfig;
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
