/**
 * M2RL's trainer options → verl's Hydra overrides for `python3 -m verl.trainer.main_ppo` (verl b178a3cd). Every
 * option is either mapped (the keys it became) or dropped (why verl cannot express it). The facts, from verl's
 * sources at b178a3cd:
 * - keys: verl/trainer/config/_generated_ppo_trainer.yaml (the composed config; anything else needs `+key=`);
 * - GRPO advantages: verl/trainer/ppo/core_algos.py compute_grpo_outcome_advantage (torch.std, epsilon 1e-6 fixed,
 *   `algorithm.norm_adv_by_std_in_grpo`); loss aggregation: agg_loss (same four modes as M2RL's, `loss_scale_factor`
 *   for seq-mean-token-sum-norm); KL: kl_penalty_forward accepts k1 / k2 / k3; the vanilla policy loss adds a
 *   dual clip (`clip_ratio_c`) that M2RL's loss does not have;
 * - optimizer: verl/workers/config/optimizer.py build_optimizer (torch AdamW: lr, weight_decay, betas,
 *   override_optimizer_config), lr_scheduler_type constant | cosine with min_lr_ratio, warm-up lr·s/W
 *   (verl/utils/torch_functional.py), stepped once per training step; grad clip: `actor.grad_clip` (legacy workers)
 *   and `actor.optim.clip_grad` (new engine);
 * - truncated IS: `algorithm.rollout_correction` (verl/trainer/config/algorithm.py: rollout_is=token with
 *   rollout_is_threshold; bypass_mode reuses the rollout's log-probs as the old ones);
 * - overlong: the DAPO reward-loop manager (verl/experimental/reward_loop/reward_manager/dapo.py) reads
 *   `reward_model.reward_kwargs.overlong_buffer_cfg` and `max_resp_len`;
 * - batches: `data.train_batch_size` prompts × `rollout.n`, `actor.ppo_mini_batch_size` in prompts;
 *   validation `trainer.test_freq` (also after the last step), `rollout.val_kwargs`; checkpoints `trainer.save_freq`
 *   (also after the last step) into `${trainer.default_local_dir}/global_step_N/actor`.
 */
import { DEFAULT_ADAPTIVE } from "@m2rl/core";
import { JOB_DIR, shellVar } from "./launch.ts";
import {
  checkpointInterval,
  type ExportContext,
  evalSampled,
  OptionMapper,
  updatesPerStep,
} from "./options.ts";

export interface VerlArg {
  key: string;
  /** Hydra value syntax. */
  value: string;
  /** `+key=value`: a key the composed config does not have. */
  plus?: boolean;
}

export const renderVerlArg = (a: VerlArg): string => `${a.plus ? "+" : ""}${a.key}=${a.value}`;

/** A value in Hydra's override syntax. */
export function hydra(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  if (typeof v === "string") {
    // paths and names stay bare; anything Hydra's grammar would read as structure is quoted
    if (/^[A-Za-z0-9_./:@-]+$/.test(v) && !/^(true|false|null|[0-9.e+-]+)$/i.test(v)) return v;
    return `"${v.replace(/(["\\])/g, "\\$1")}"`;
  }
  if (Array.isArray(v)) return `[${v.map(hydra).join(",")}]`;
  if (typeof v === "object")
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}:${hydra(x)}`)
      .join(",")}}`;
  throw new Error(`cannot write ${typeof v} as a Hydra value`);
}

const arg = (key: string, value: unknown, plus = false): VerlArg => ({ key, value: hydra(value), plus });
/** A value the launch script substitutes (a variable), written as is. */
const raw = (key: string, value: string, plus = false): VerlArg => ({ key, value, plus });

const A = "actor_rollout_ref.actor";
const R = "actor_rollout_ref.rollout";

/** The chat template that renders the prompt as M2RL does without `policy.chatTemplate`: the text alone. */
export const RAW_PROMPT_TEMPLATE = "{% for m in messages %}{{ m.content }}{% endfor %}";

export function mapVerlOptions(ctx: ExportContext): OptionMapper<VerlArg> {
  const c = ctx.config;
  const m = new OptionMapper(renderVerlArg);
  const t = (k: string) => `trainer.${k}`;

  // --- the job's shape (no M2RL option) ---
  m.set(
    [raw(`actor_rollout_ref.model.path`, shellVar("MODEL_PATH"))],
    "the policy the arm starts from (launch.sh: MODEL_PATH)",
  );
  m.set([arg(`${R}.name`, "vllm")], "required by verl (`???` in the config): the rollout engine");
  m.set(
    [arg("trainer.n_gpus_per_node", ctx.gpus), arg("trainer.nnodes", ctx.nodes)],
    "m2rl export --gpus / --nodes",
  );
  m.set(
    [
      raw("data.train_files", ctx.files.train),
      raw("data.val_files", ctx.files.eval),
      arg("data.prompt_key", "prompt"),
      arg("data.max_prompt_length", ctx.maxPromptLength),
      arg("data.filter_overlong_prompts", false),
      arg("data.truncation", "error"),
    ],
    `the exported Parquet files (${ctx.rows.train} train rows, ${ctx.rows.eval} eval rows); max_prompt_length: ` +
      `${ctx.maxPromptLengthSource}; no row is filtered (that would shift M2RL's order), an over-long prompt is an error`,
  );
  m.set(
    [raw("custom_reward_function.path", ctx.reward), arg("custom_reward_function.name", "compute_score")],
    "the reward: m2rl_reward.py posts each response to `m2rl serve` (POST /verl/compute_score)",
  );
  m.set(
    [raw("custom_reward_function.reward_kwargs.url", shellVar("M2RL_REWARD_URL"), true)],
    "where `m2rl serve` listens (launch.sh: M2RL_REWARD_URL); the token stays in the environment (M2RL_REWARD_TOKEN)",
  );
  m.set(
    [
      arg("trainer.project_name", `m2rl-${ctx.experiment}`),
      arg("trainer.experiment_name", ctx.armId.replace(/[^A-Za-z0-9._-]/g, "-")),
      arg("trainer.logger", ["console"]),
      raw("trainer.default_local_dir", `${JOB_DIR}/outputs/checkpoints`),
      raw("trainer.validation_data_dir", `${JOB_DIR}/outputs/validation`),
      arg("trainer.max_actor_ckpt_to_keep", 1),
    ],
    "outputs: checkpoints in outputs/checkpoints/global_step_N/actor (the newest kept, as m2rl run keeps; a " +
      "relaunch resumes from it, trainer.resume_mode=auto), validation generations (JSONL per validation) in " +
      "outputs/validation; add trainer.logger=[console,wandb] to log elsewhere",
  );
  m.set(
    [arg(`${A}.clip_ratio_c`, 10000.0), arg("algorithm.use_kl_in_reward", false)],
    "M2RL's clipped loss has no dual clip (verl's vanilla loss bounds negative-advantage ratios by clip_ratio_c: " +
      "set out of reach), and its KL is a loss term, never a reward penalty",
  );
  m.set(
    [
      raw(`${A}.ppo_micro_batch_size_per_gpu`, shellVar("MICRO_BATCH_PER_GPU")),
      raw(`${R}.log_prob_micro_batch_size_per_gpu`, shellVar("MICRO_BATCH_PER_GPU")),
      raw("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu", shellVar("MICRO_BATCH_PER_GPU")),
    ],
    "sequences per forward/backward chunk on each GPU (memory only: gradients accumulate to the same update; " +
      "launch.sh: MICRO_BATCH_PER_GPU)",
  );

  // --- algorithm, batch, steps ---
  m.map(t("algorithm"), c.algorithm, [arg("algorithm.adv_estimator", "grpo")]);
  m.map(
    t("steps"),
    c.steps,
    [arg("trainer.total_training_steps", c.steps), arg("trainer.total_epochs", 1)],
    ctx.mixing.kind === "order"
      ? `the train file holds exactly steps × promptsPerStep = ${ctx.rows.train} rows: one pass`
      : "the sampler yields steps × promptsPerStep rows: one pass",
  );
  m.map(t("promptsPerStep"), c.promptsPerStep, [arg("data.train_batch_size", c.promptsPerStep)]);
  m.map(t("groupSize"), c.groupSize, [arg(`${R}.n`, c.groupSize)]);
  m.map(
    t("seed"),
    c.seed,
    [arg("data.seed", c.seed), arg(`${A}.data_loader_seed`, c.seed)],
    "the arm's seed (m2rl run's armSeed), which also fixed the exported prompt order; vLLM's sampling is not " +
      "seeded by verl's config, so rollouts differ from M2RL's in any case (another sampler, other kernels)",
  );
  const mixKeys =
    ctx.mixing.kind === "order"
      ? [arg("data.shuffle", false)]
      : [
          raw("data.sampler.class_path", `${JOB_DIR}/m2rl_curriculum_sampler.py`),
          arg("data.sampler.class_name", "M2RLAdaptiveSampler"),
          raw("data.sampler.plan", ctx.mixing.plan, true),
          arg("data.dataloader_num_workers", 0),
        ];
  m.map(
    t("scheduler.name"),
    c.scheduler.name,
    mixKeys,
    ctx.mixing.kind === "order"
      ? "the train file is the scheduler's prompt order as M2RL's trainer draws it (scheduler.next per step, each " +
          "domain's tasks reshuffled per epoch), read in file order (shuffle off: a SequentialSampler)"
      : "reward-dependent: m2rl_curriculum_sampler.py applies the same rule to verl's rewards " +
          "(verl needs dataloader_num_workers=0 for a curriculum sampler)",
  );
  m.map(
    t("scheduler.options"),
    ctx.mixing.kind === "sampler" ? { ...DEFAULT_ADAPTIVE, ...c.scheduler.options } : c.scheduler.options,
    [],
    ctx.mixing.kind === "order" ? "applied in the exported order" : "in mix_plan.json, read by the sampler",
  );
  m.map(
    t("trainTasksPerDomain"),
    c.trainTasksPerDomain,
    [],
    "the train file holds the tasks M2RL's trainer loads",
  );

  // --- sampling ---
  m.map(t("sampling.temperature"), c.sampling.temperature, [arg(`${R}.temperature`, c.sampling.temperature)]);
  m.map(t("sampling.topP"), c.sampling.topP, [arg(`${R}.top_p`, c.sampling.topP)]);
  m.map(
    t("sampling.maxNewTokens"),
    c.sampling.maxNewTokens,
    [arg("data.max_response_length", c.sampling.maxNewTokens)],
    "actor_rollout_ref.rollout.response_length follows it (oc.select of data.max_response_length)",
  );
  const stop = c.sampling.stop ?? [];
  if (stop.length === 0) m.map(t("sampling.stop"), stop, [], "none: generation ends at EOS, as in verl");
  else
    m.drop(
      t("sampling.stop"),
      stop,
      "verl's rollout config has no stop strings (engine_kwargs configure the engine, not its sampling)",
    );

  // --- advantages and loss ---
  m.map(t("advantage.normalizeStd"), c.advantage.normalizeStd, [
    arg("algorithm.norm_adv_by_std_in_grpo", c.advantage.normalizeStd),
  ]);
  if (c.advantage.eps === 1e-6)
    m.map(
      t("advantage.eps"),
      c.advantage.eps,
      [],
      "verl's GRPO advantage adds epsilon = 1e-6 (not configurable)",
    );
  else
    m.drop(
      t("advantage.eps"),
      c.advantage.eps,
      "verl's compute_grpo_outcome_advantage adds a fixed epsilon of 1e-6 (no config key)",
    );
  if (c.advantage.stdKind === "sample")
    m.map(
      t("advantage.stdKind"),
      c.advantage.stdKind,
      [],
      "verl uses torch.std: n − 1, as M2RL's sample std",
    );
  else
    m.drop(
      t("advantage.stdKind"),
      c.advantage.stdKind,
      "verl's group std is torch.std (n − 1), not configurable",
    );
  m.map(t("clip.epsLow"), c.clip.epsLow, [arg(`${A}.clip_ratio_low`, c.clip.epsLow)]);
  m.map(t("clip.epsHigh"), c.clip.epsHigh, [arg(`${A}.clip_ratio_high`, c.clip.epsHigh)]);
  if (c.recomputeOldLogprobs) {
    m.map(
      t("recomputeOldLogprobs"),
      true,
      [arg("algorithm.rollout_correction.bypass_mode", false)],
      "verl recomputes the old log-probs with the actor (decoupled mode)",
    );
    if (c.tisCap === null)
      m.map(t("tisCap"), null, [arg("algorithm.rollout_correction.rollout_is", null)], "no IS weights");
    else
      m.map(
        t("tisCap"),
        c.tisCap,
        [
          arg("algorithm.rollout_correction.rollout_is", "token"),
          arg("algorithm.rollout_correction.rollout_is_threshold", c.tisCap),
          arg(`${R}.calculate_log_probs`, true),
        ],
        "per-token truncated IS weight min(π_old / π_rollout, cap), as M2RL's",
      );
  } else {
    m.map(
      t("recomputeOldLogprobs"),
      false,
      [
        arg("algorithm.rollout_correction.bypass_mode", true),
        arg("algorithm.rollout_correction.loss_type", "ppo_clip"),
        arg(`${R}.calculate_log_probs`, true),
      ],
      "the rollout's log-probs are the old ones (bypass mode, PPO clip)",
    );
    m.map(
      t("tisCap"),
      c.tisCap,
      [arg("algorithm.rollout_correction.rollout_is", null)],
      "M2RL applies no IS weight when it does not recompute the old log-probs",
    );
  }
  m.map(t("aggregation"), c.aggregation, [arg(`${A}.loss_agg_mode`, c.aggregation)]);
  if (c.aggregation === "seq-mean-token-sum-norm")
    m.map(
      t("aggregationNormalizer"),
      c.aggregationNormalizer ?? c.sampling.maxNewTokens,
      [arg(`${A}.loss_scale_factor`, c.aggregationNormalizer ?? c.sampling.maxNewTokens)],
      "M2RL's default is sampling.maxNewTokens",
    );
  else
    m.map(
      t("aggregationNormalizer"),
      c.aggregationNormalizer,
      [],
      `unused with aggregation ${c.aggregation}`,
    );
  m.map(
    t("kl.coef"),
    c.kl.coef,
    c.kl.coef > 0
      ? [arg(`${A}.use_kl_loss`, true), arg(`${A}.kl_loss_coef`, c.kl.coef)]
      : [arg(`${A}.use_kl_loss`, false)],
    c.kl.coef > 0
      ? "KL to the frozen start policy (verl's ref), as a loss term"
      : "no KL term, no reference pass",
  );
  m.map(t("kl.estimator"), c.kl.estimator, [arg(`${A}.kl_loss_type`, c.kl.estimator)]);
  if (c.kl.monitor && c.kl.coef === 0)
    m.drop(
      t("kl.monitor"),
      true,
      "verl measures the KL to the reference only with use_kl_loss (a metric M2RL logs; training is the same)",
      false,
    );
  else m.map(t("kl.monitor"), c.kl.monitor, [], c.kl.coef > 0 ? "verl logs actor/kl_loss" : "off");
  m.map(t("entropyCoef"), c.entropyCoef, [arg(`${A}.entropy_coeff`, c.entropyCoef)]);
  m.map(t("computeEntropy"), c.computeEntropy, [arg(`${A}.calculate_entropy`, c.computeEntropy)]);

  // --- reward shaping and group filtering ---
  const ov = c.overlong;
  if (ov.enabled) {
    const lmax = ov.maxLength ?? c.sampling.maxNewTokens;
    m.map(t("overlong.enabled"), true, [
      arg("reward_model.reward_manager", "dapo"),
      arg("reward_model.reward_kwargs.overlong_buffer_cfg.enable", true, true),
      arg("reward_model.reward_kwargs.overlong_buffer_cfg.log", false, true),
      arg("reward_model.reward_kwargs.max_resp_len", lmax, true),
    ]);
    m.map(t("overlong.cacheLength"), ov.cacheLength, [
      arg("reward_model.reward_kwargs.overlong_buffer_cfg.len", ov.cacheLength, true),
    ]);
    m.map(t("overlong.factor"), ov.factor, [
      arg("reward_model.reward_kwargs.overlong_buffer_cfg.penalty_factor", ov.factor, true),
    ]);
    m.map(t("overlong.maxLength"), ov.maxLength, [], `L_max = ${lmax} (max_resp_len above)`);
  } else
    for (const k of ["enabled", "cacheLength", "factor", "maxLength"] as const)
      m.map(t(`overlong.${k}`), ov[k], [], "overlong penalty off");
  if (c.dynamicSampling.enabled) {
    m.drop(
      t("dynamicSampling.enabled"),
      true,
      "verl's main_ppo has no dynamic sampling (DAPO's filter_groups lives in its recipe trainer)",
    );
    m.drop(t("dynamicSampling.maxRefills"), c.dynamicSampling.maxRefills, "no dynamic sampling in main_ppo");
  } else {
    m.map(t("dynamicSampling.enabled"), false, [], "off, as in main_ppo");
    m.map(t("dynamicSampling.maxRefills"), c.dynamicSampling.maxRefills, [], "unused (dynamic sampling off)");
  }
  if (c.dropGroupOnStatus.length === 0)
    m.map(t("dropGroupOnStatus"), [], [], "no group is dropped, as in verl");
  else
    m.drop(
      t("dropGroupOnStatus"),
      c.dropGroupOnStatus,
      "verl trains on every group: a sample the verifier could not grade (status error, or an unreachable " +
        "service: m2rl_reward.py raises then) is not dropped with its group; it scores 0 or stops the run",
    );

  // --- updates and optimizer ---
  m.map(t("ppoEpochs"), c.ppoEpochs, [arg(`${A}.ppo_epochs`, c.ppoEpochs)]);
  const mini = Math.floor(c.promptsPerStep / c.miniBatches);
  m.map(
    t("miniBatches"),
    c.miniBatches,
    [arg(`${A}.ppo_mini_batch_size`, mini)],
    c.promptsPerStep % c.miniBatches === 0
      ? "prompts per mini-batch (verl multiplies by rollout.n)"
      : `prompts per mini-batch ⌊${c.promptsPerStep} / ${c.miniBatches}⌋: verl needs equal mini-batches`,
  );
  const o = c.optimizer;
  m.map(t("optimizer.lr"), o.lr, [arg(`${A}.optim.lr`, o.lr)]);
  m.map(t("optimizer.beta1"), o.beta1, [arg(`${A}.optim.betas`, [o.beta1, o.beta2])]);
  m.map(t("optimizer.beta2"), o.beta2, [], "with beta1 in actor_rollout_ref.actor.optim.betas");
  m.map(t("optimizer.eps"), o.eps, [arg(`${A}.optim.override_optimizer_config`, { eps: o.eps })]);
  m.map(t("optimizer.weightDecay"), o.weightDecay, [arg(`${A}.optim.weight_decay`, o.weightDecay)]);
  if (o.decoupled) m.map(t("optimizer.decoupled"), true, [], "torch.optim.AdamW (verl's default optimizer)");
  else m.drop(t("optimizer.decoupled"), false, "verl builds torch.optim.AdamW (decoupled weight decay) only");
  const clipNorm = o.maxGradNorm ?? 1e9;
  m.map(
    t("optimizer.maxGradNorm"),
    o.maxGradNorm,
    [arg(`${A}.grad_clip`, clipNorm), arg(`${A}.optim.clip_grad`, clipNorm)],
    o.maxGradNorm === null
      ? "no clipping: verl requires a number, 1e9 never clips"
      : "both keys: legacy workers read actor.grad_clip, the new engine optim.clip_grad",
  );
  const per = updatesPerStep(c);
  const warm = Math.ceil(o.warmupSteps / per);
  m.map(
    t("optimizer.warmupSteps"),
    o.warmupSteps,
    [arg(`${A}.optim.lr_warmup_steps`, warm)],
    o.warmupSteps === 0
      ? "no warm-up"
      : `verl steps its schedule once per training step (${per} optimizer update${per === 1 ? "" : "s"} in M2RL)` +
          ` and ramps lr·s/W from 0 where M2RL ramps lr·(s+1)/W: the ramp lags one step`,
  );
  if (o.decay === "linear") {
    m.drop(t("optimizer.decay"), o.decay, "verl's FSDP optimizer has constant and cosine schedules only");
    m.drop(t("optimizer.minLr"), o.minLr, "no linear decay in verl");
  } else {
    m.map(t("optimizer.decay"), o.decay, [arg(`${A}.optim.lr_scheduler_type`, o.decay)]);
    if (o.decay === "cosine")
      m.map(
        t("optimizer.minLr"),
        o.minLr,
        [arg(`${A}.optim.min_lr_ratio`, o.lr > 0 ? o.minLr / o.lr : 0)],
        "as a ratio of lr (half a cosine from lr to minLr, as M2RL's)",
      );
    else m.map(t("optimizer.minLr"), o.minLr, [], "unused with a constant schedule");
  }
  m.map(t("mopd.rewardWeight"), c.mopd.rewardWeight, [], "MOPD only; this is a GRPO arm");

  // --- M2RL runtime knobs ---
  m.map(
    t("microBatchSize"),
    c.microBatchSize,
    [],
    "MICRO_BATCH_PER_GPU (launch.sh) plays its part: gradient accumulation, same update",
  );
  m.drop(t("rolloutBatchSize"), c.rolloutBatchSize, "vLLM batches the rollouts itself", false);
  m.drop(
    t("verifyConcurrency"),
    c.verifyConcurrency,
    "the reward service's own budget: m2rl serve --concurrency / --domain-concurrency",
    false,
  );

  // --- periodic evaluation, checkpoints ---
  const testFreq = c.evalEvery > 0 ? c.evalEvery : c.steps;
  m.map(
    t("evalEvery"),
    c.evalEvery,
    [arg("trainer.test_freq", testFreq), arg("trainer.val_before_train", c.evalEvery > 0)],
    c.evalEvery > 0
      ? "M2RL evaluates the start policy too (val_before_train)"
      : "validation once, after the last step: M2RL's final evaluation of the arm",
  );
  m.map(t("evalAtEnd"), c.evalAtEnd, [], "verl validates after the last step whenever test_freq > 0");
  if (c.evalTasks > 0)
    m.drop(
      t("evalTasks"),
      c.evalTasks,
      "verl validates on the whole val file (M2RL's final eval set); M2RL's periodic points use the first " +
        "evalTasks tasks of the trained domains",
      false,
    );
  else m.map(t("evalTasks"), 0, [], "the whole eval split");
  const every = checkpointInterval(c);
  m.map(
    t("checkpointEvery"),
    c.checkpointEvery,
    [arg("trainer.save_freq", every)],
    c.checkpointEvery > 0 ? "" : "m2rl run checkpoints every tenth of the run",
  );
  m.map(t("checkpointAtEnd"), c.checkpointAtEnd, [], "verl saves after the last step whenever save_freq > 0");
  if (Object.keys(c.plugins).length === 0) m.map(t("plugins"), {}, [], "no trainer plugin");
  else m.drop(t("plugins"), c.plugins, "trainer plugins hook M2RL's trainer; none of them runs inside verl");

  // --- evaluation (verl's validation) ---
  const e = ctx.evaluation;
  m.map("evaluation.samples", e.samples, [arg(`${R}.val_kwargs.n`, e.samples)]);
  m.map("evaluation.temperature", e.temperature, [
    arg(`${R}.val_kwargs.temperature`, e.temperature),
    arg(`${R}.val_kwargs.do_sample`, evalSampled(e)),
  ]);
  m.map("evaluation.topP", e.topP, [arg(`${R}.val_kwargs.top_p`, e.topP)]);
  if (e.maxTokens === undefined || e.maxTokens === c.sampling.maxNewTokens)
    m.map("evaluation.maxTokens", e.maxTokens, [], "the training response length, as verl's validation");
  else
    m.drop(
      "evaluation.maxTokens",
      e.maxTokens,
      `verl validates with the training response_length (${c.sampling.maxNewTokens})`,
      false,
    );
  m.map(
    "evaluation.passAtK",
    e.passAtK,
    [],
    "pass@k is computed by M2RL from the validation generations after import",
  );
  if (e.selfJudge)
    m.drop("evaluation.selfJudge", e.selfJudge, "self-judging runs in M2RL after import, not in verl", false);
  else m.map("evaluation.selfJudge", undefined, [], "off");

  // --- prompts ---
  if (ctx.chat.template) {
    const vars = Object.entries(ctx.chat.variables);
    m.map(
      "policy.chatTemplate",
      ctx.chat.variables,
      vars.map(([k, v]) => arg(`data.apply_chat_template_kwargs.${k}`, v, true)),
      "verl renders each prompt's chat list with the tokenizer's chat template, as M2RL does",
    );
  } else
    m.map(
      "policy.chatTemplate",
      null,
      [arg("actor_rollout_ref.model.custom_chat_template", RAW_PROMPT_TEMPLATE)],
      "off: M2RL feeds the prompt text as it is; verl always applies a chat template, so this one writes the " +
        "text alone (the prompt list has one user turn: the task's prompt)",
    );
  return m;
}
