/**
 * M2RL's trainer options → OpenRLHF v0.11.0 flags for `python3 -m openrlhf.cli.train_ppo_ray` (v0.11 names every
 * flag in dotted form; the old flat names are refused). Every option is mapped or dropped with the reason. The
 * facts, from OpenRLHF's sources at v0.11.0:
 * - flags: openrlhf/cli/train_ppo_ray.py (argparse); `group_norm` / `dr_grpo` need n_samples_per_prompt > 1;
 * - advantages: openrlhf/trainer/ppo_utils/experience_maker.py (group_norm: (r − mean) / (torch.std + 1e-9);
 *   dr_grpo: r − mean);
 * - loss: openrlhf/models/loss.py PolicyLoss (clip low/high, optional dual clip off by default, token-level loss
 *   always: `token_level_loss` is never set by the launcher; TIS: clamp(exp(old − rollout), low, high));
 * - data: openrlhf/trainer/ppo_trainer.py prepare_datasets (the prompt dataloader is always shuffled,
 *   `setup_dataloader(..., shuffle=True)`; steps = rows / rollout.batch_size per episode);
 * - schedules: openrlhf/utils/deepspeed/deepspeed.py (transformers get_scheduler, warm-up ⌈steps × ratio⌉,
 *   min_lr_rate only for cosine_with_min_lr);
 * - overlong: openrlhf/trainer/ppo_utils/length_penalty.py (DAPO, buffer before max_new_tokens);
 * - dynamic filtering: openrlhf/trainer/ppo_utils/samples_generator.py (keeps groups with min < mean < max,
 *   replaces the others until the batch is full).
 */
import { JOB_DIR, shellVar } from "./launch.ts";
import { type ExportContext, evalSampled, OptionMapper, updatesPerStep } from "./options.ts";

export interface OpenRlhfArg {
  flag: string;
  values: string[];
}

export const renderOpenRlhfArg = (a: OpenRlhfArg): string => [a.flag, ...a.values].join(" ");

const num = (n: number): string => {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
};
const flag = (name: string, ...values: (string | number)[]): OpenRlhfArg => ({
  flag: `--${name}`,
  values: values.map((v) => (typeof v === "number" ? num(v) : v)),
});

export function mapOpenRlhfOptions(ctx: ExportContext): OptionMapper<OpenRlhfArg> {
  const c = ctx.config;
  const m = new OptionMapper(renderOpenRlhfArg);
  const t = (k: string) => `trainer.${k}`;
  const gpus = ctx.gpus * ctx.nodes;

  // --- the job's shape (no M2RL option) ---
  m.set(
    [flag("actor.model_name_or_path", shellVar("MODEL_PATH"))],
    "the policy the arm starts from (launch.sh: MODEL_PATH)",
  );
  m.set(
    [
      flag("actor.num_nodes", ctx.nodes),
      flag("actor.num_gpus_per_node", ctx.gpus),
      flag("ref.num_nodes", ctx.nodes),
      flag("ref.num_gpus_per_node", ctx.gpus),
      flag("vllm.num_engines", gpus),
      flag("vllm.tensor_parallel_size", 1),
      flag("train.colocate_all"),
      flag("vllm.enable_sleep"),
      flag("ds.enable_sleep"),
      flag("vllm.gpu_memory_utilization", 0.6),
    ],
    "m2rl export --gpus / --nodes: actor, reference and one vLLM engine per GPU, colocated (engines sleep while " +
      "DeepSpeed trains); raise vllm.tensor_parallel_size for a model that does not fit one GPU",
  );
  m.set(
    [
      flag("data.prompt_dataset", ctx.files.train),
      flag("data.input_key", "prompt"),
      flag("data.label_key", "label"),
      flag("eval.dataset", ctx.files.eval),
      flag("train.num_episodes", 1),
    ],
    `the exported JSONL files (${ctx.rows.train} train rows, ${ctx.rows.eval} eval rows; one pass)`,
  );
  m.set(
    [flag("reward.remote_url", ctx.reward)],
    ctx.armKind === "single"
      ? "the reward: m2rl serve's OpenRLHF route for this arm's domain (POST {query, prompts, labels})"
      : "the reward: m2rl_openrlhf_reward.py (reward_func) posts each item to m2rl serve's OpenRLHF route with " +
          "its domain (metas), read from the label; OpenRLHF's own HTTP call sends no domain",
  );
  m.set(
    [
      flag("ckpt.output_dir", `${JOB_DIR}/outputs/hf`),
      flag("ckpt.path", `${JOB_DIR}/outputs/checkpoints`),
      flag("ckpt.save_hf"),
      flag("ckpt.max_num", 1),
    ],
    "outputs: the final Hugging Face model in outputs/hf, checkpoints (and their HF copies) in outputs/checkpoints",
  );
  m.set(
    [
      flag("rollout.micro_batch_size", shellVar("MICRO_BATCH_PER_GPU")),
      flag("train.micro_batch_size", shellVar("MICRO_BATCH_PER_GPU")),
      flag("ds.zero_stage", 3),
      flag("ds.param_dtype", "bf16"),
      flag("actor.gradient_checkpointing_enable"),
    ],
    "memory only (gradients accumulate to the same update); launch.sh: MICRO_BATCH_PER_GPU",
  );

  // --- algorithm, batch, steps ---
  m.map(
    t("algorithm"),
    c.algorithm,
    [flag("algo.advantage.estimator", c.advantage.normalizeStd ? "group_norm" : "dr_grpo")],
    c.advantage.normalizeStd ? "GRPO: group_norm" : "Dr. GRPO (mean-centring only): dr_grpo",
  );
  m.map(
    t("steps"),
    c.steps,
    [],
    `the train file holds steps × promptsPerStep = ${ctx.rows.train} rows; one episode of rollout.batch_size ` +
      "prompts per step",
  );
  m.map(t("promptsPerStep"), c.promptsPerStep, [flag("rollout.batch_size", c.promptsPerStep)]);
  m.map(t("groupSize"), c.groupSize, [flag("rollout.n_samples_per_prompt", c.groupSize)]);
  m.map(
    t("seed"),
    c.seed,
    [flag("train.seed", c.seed)],
    "the arm's seed; the train file holds the tasks M2RL draws with it, but OpenRLHF shuffles them with its own " +
      "permutation (M2RL's per-epoch task order is not kept), and vLLM's rollouts differ from M2RL's anyway",
  );
  if (ctx.armKind === "mix") {
    m.drop(
      t("scheduler.name"),
      c.scheduler.name,
      "the prompt ORDER is lost: OpenRLHF v0.11 always shuffles the prompt dataset (prepare_datasets calls " +
        "setup_dataloader with shuffle=True, no flag), so the domains M2RL's scheduler gives each step (a " +
        "schedule over steps, a curriculum) become a random order of the same prompts; use verl to keep it",
    );
    m.map(
      t("scheduler.options"),
      c.scheduler.options,
      [],
      "the train file holds the prompts M2RL's trainer draws: the scheduler's proportions over the run are kept",
    );
  } else {
    m.map(t("scheduler.name"), c.scheduler.name, [], "one domain: nothing to mix");
    m.map(t("scheduler.options"), c.scheduler.options, [], "one domain: nothing to mix");
  }
  m.map(
    t("trainTasksPerDomain"),
    c.trainTasksPerDomain,
    [],
    "the train file holds the tasks M2RL's trainer loads",
  );

  // --- sampling ---
  m.map(t("sampling.temperature"), c.sampling.temperature, [
    flag("rollout.temperature", c.sampling.temperature),
  ]);
  m.map(t("sampling.topP"), c.sampling.topP, [flag("rollout.top_p", c.sampling.topP)]);
  m.map(
    t("sampling.maxNewTokens"),
    c.sampling.maxNewTokens,
    [
      flag("rollout.max_new_tokens", c.sampling.maxNewTokens),
      flag("data.max_len", ctx.maxPromptLength + c.sampling.maxNewTokens),
    ],
    `data.max_len = the longest prompt (${ctx.maxPromptLength} tokens: ${ctx.maxPromptLengthSource}) + maxNewTokens`,
  );
  const stop = c.sampling.stop ?? [];
  if (stop.length === 0) m.map(t("sampling.stop"), stop, [], "none: generation ends at EOS");
  else m.drop(t("sampling.stop"), stop, "OpenRLHF v0.11 has no stop-string flag");

  // --- advantages and loss ---
  m.map(t("advantage.normalizeStd"), c.advantage.normalizeStd, [], "chooses group_norm or dr_grpo (above)");
  if (c.advantage.normalizeStd)
    m.drop(
      t("advantage.eps"),
      c.advantage.eps,
      "OpenRLHF's group_norm adds a fixed 1e-9 to the std (no flag); with 0/1 rewards a non-zero group std is " +
        "≥ 0.25, so the advantages differ by about 4e-6 relative",
    );
  else m.map(t("advantage.eps"), c.advantage.eps, [], "unused by Dr. GRPO");
  if (c.advantage.stdKind === "sample")
    m.map(t("advantage.stdKind"), "sample", [], "OpenRLHF uses torch.std: n − 1, as M2RL's sample std");
  else m.drop(t("advantage.stdKind"), c.advantage.stdKind, "OpenRLHF's group std is torch.std (n − 1)");
  m.map(t("clip.epsLow"), c.clip.epsLow, [flag("actor.eps_clip_low_high", c.clip.epsLow, c.clip.epsHigh)]);
  m.map(
    t("clip.epsHigh"),
    c.clip.epsHigh,
    [],
    "with epsLow in --actor.eps_clip_low_high (dual clip stays off)",
  );
  if (c.recomputeOldLogprobs)
    m.map(t("recomputeOldLogprobs"), true, [], "OpenRLHF recomputes the old log-probs with the actor");
  else
    m.drop(
      t("recomputeOldLogprobs"),
      false,
      "OpenRLHF always recomputes the old log-probs with the actor (no flag to use the rollout's)",
    );
  if (c.tisCap === null || !c.recomputeOldLogprobs) m.map(t("tisCap"), c.tisCap, [], "no IS weight");
  else
    m.map(
      t("tisCap"),
      c.tisCap,
      [
        flag("algo.advantage.is_correction_enable"),
        flag("algo.advantage.is_correction_type", "tis"),
        flag("algo.advantage.is_correction_threshold", 0, c.tisCap),
      ],
      "token-level clamp(π_old / π_rollout, 0, cap) = M2RL's min(·, cap)",
    );
  if (c.aggregation === "token-mean")
    m.map(t("aggregation"), c.aggregation, [], "OpenRLHF's only loss reduction");
  else
    m.drop(
      t("aggregation"),
      c.aggregation,
      "OpenRLHF v0.11's policy loss is always token-level (masked sum over the global token count: token-mean); " +
        "the launcher sets no other reduction",
    );
  m.map(t("aggregationNormalizer"), c.aggregationNormalizer, [], "unused (token-level loss)");
  if (c.kl.coef > 0)
    m.map(
      t("kl.coef"),
      c.kl.coef,
      [flag("algo.kl.use_loss"), flag("algo.kl.init_coef", c.kl.coef)],
      "a loss term",
    );
  else m.map(t("kl.coef"), 0, [flag("algo.kl.init_coef", 0)], "no KL, no reference model");
  m.map(t("kl.estimator"), c.kl.estimator, [flag("algo.kl.estimator", c.kl.estimator)]);
  if (c.kl.monitor && c.kl.coef === 0)
    m.drop(
      t("kl.monitor"),
      true,
      "with init_coef 0 OpenRLHF starts no reference model to measure the KL",
      false,
    );
  else m.map(t("kl.monitor"), c.kl.monitor, [], c.kl.coef > 0 ? "OpenRLHF logs the KL" : "off");
  m.map(
    t("entropyCoef"),
    c.entropyCoef,
    c.entropyCoef > 0 || c.computeEntropy ? [flag("actor.entropy_coef", c.entropyCoef)] : [],
    c.entropyCoef > 0 ? "" : "0: entropy logged only",
  );
  m.map(
    t("computeEntropy"),
    c.computeEntropy,
    [],
    "OpenRLHF computes the entropy when --actor.entropy_coef is set",
  );

  // --- reward shaping and group filtering ---
  const ov = c.overlong;
  const lmax = ov.maxLength ?? c.sampling.maxNewTokens;
  if (!ov.enabled)
    for (const k of ["enabled", "cacheLength", "factor", "maxLength"] as const)
      m.map(t(`overlong.${k}`), ov[k], [], "overlong penalty off");
  else if (lmax !== c.sampling.maxNewTokens)
    for (const k of ["enabled", "cacheLength", "factor", "maxLength"] as const)
      m.drop(
        t(`overlong.${k}`),
        ov[k],
        `OpenRLHF's overlong buffer ends at --rollout.max_new_tokens (${c.sampling.maxNewTokens}); M2RL's L_max is ${lmax}`,
      );
  else {
    m.map(t("overlong.enabled"), true, [], "DAPO soft overlong penalty, as M2RL's");
    m.map(t("overlong.cacheLength"), ov.cacheLength, [flag("reward.overlong_buffer_len", ov.cacheLength)]);
    m.map(t("overlong.factor"), ov.factor, [flag("reward.overlong_penalty_factor", ov.factor)]);
    m.map(t("overlong.maxLength"), ov.maxLength, [], "L_max = --rollout.max_new_tokens");
  }
  if (c.dynamicSampling.enabled) {
    m.map(
      t("dynamicSampling.enabled"),
      true,
      [flag("algo.dynamic_filtering_enable"), flag("algo.dynamic_filtering_range", 0, 1)],
      "keeps groups with 0 < mean reward < 1: M2RL's 'not all equal' for 0/1 rewards (not for fractional ones)",
    );
    m.drop(
      t("dynamicSampling.maxRefills"),
      c.dynamicSampling.maxRefills,
      "OpenRLHF replaces every filtered prompt until the batch is full (no bound on refills), which also draws " +
        "prompts beyond the exported steps × promptsPerStep",
    );
  } else {
    m.map(t("dynamicSampling.enabled"), false, [], "off");
    m.map(t("dynamicSampling.maxRefills"), c.dynamicSampling.maxRefills, [], "unused (dynamic sampling off)");
  }
  if (c.dropGroupOnStatus.length === 0) m.map(t("dropGroupOnStatus"), [], [], "no group is dropped");
  else
    m.drop(
      t("dropGroupOnStatus"),
      c.dropGroupOnStatus,
      "OpenRLHF trains on every group: an item the reward service answers with status error scores 0",
    );

  // --- updates and optimizer ---
  m.map(t("ppoEpochs"), c.ppoEpochs, [flag("train.max_epochs", c.ppoEpochs)]);
  const samples = c.promptsPerStep * c.groupSize;
  m.map(
    t("miniBatches"),
    c.miniBatches,
    [flag("train.batch_size", Math.floor(samples / c.miniBatches))],
    "samples per optimizer update: promptsPerStep × groupSize / miniBatches",
  );
  const o = c.optimizer;
  m.map(t("optimizer.lr"), o.lr, [flag("actor.adam.lr", o.lr)]);
  m.map(t("optimizer.beta1"), o.beta1, [flag("actor.adam.betas", o.beta1, o.beta2)]);
  m.map(t("optimizer.beta2"), o.beta2, [], "with beta1 in --actor.adam.betas");
  m.map(t("optimizer.eps"), o.eps, [flag("actor.adam.eps", o.eps)]);
  m.map(t("optimizer.weightDecay"), o.weightDecay, [flag("actor.adam.weight_decay", o.weightDecay)]);
  if (o.decoupled) m.map(t("optimizer.decoupled"), true, [], "DeepSpeed AdamW");
  else m.drop(t("optimizer.decoupled"), false, "OpenRLHF's adam optimizer is AdamW (decoupled weight decay)");
  m.map(
    t("optimizer.maxGradNorm"),
    o.maxGradNorm,
    [flag("actor.max_norm", o.maxGradNorm ?? 0)],
    o.maxGradNorm === null ? "0: DeepSpeed does not clip" : "",
  );
  const total = c.steps * updatesPerStep(c);
  m.map(
    t("optimizer.warmupSteps"),
    o.warmupSteps,
    [flag("actor.lr_warmup_ratio", o.warmupSteps > 0 ? (o.warmupSteps - 0.5) / total : 0)],
    o.warmupSteps > 0
      ? `⌈${total} × ratio⌉ = ${o.warmupSteps} warm-up updates; transformers ramps lr·s/W from 0 (M2RL lr·(s+1)/W)`
      : "no warm-up",
  );
  if (o.decay === "cosine") {
    m.map(t("optimizer.decay"), o.decay, [flag("actor.lr_scheduler", "cosine_with_min_lr")]);
    m.map(t("optimizer.minLr"), o.minLr, [flag("actor.min_lr_ratio", o.lr > 0 ? o.minLr / o.lr : 0)]);
  } else if (o.decay === "constant") {
    m.map(t("optimizer.decay"), o.decay, [flag("actor.lr_scheduler", "constant_with_warmup")]);
    m.map(t("optimizer.minLr"), o.minLr, [], "unused with a constant schedule");
  } else {
    m.map(t("optimizer.decay"), o.decay, [flag("actor.lr_scheduler", "linear")]);
    if (o.minLr === 0) m.map(t("optimizer.minLr"), 0, [], "transformers' linear schedule decays to 0");
    else m.drop(t("optimizer.minLr"), o.minLr, "transformers' linear schedule decays to 0 (no floor)");
  }
  m.map(t("mopd.rewardWeight"), c.mopd.rewardWeight, [], "MOPD only; this is a GRPO arm");

  // --- M2RL runtime knobs ---
  m.map(t("microBatchSize"), c.microBatchSize, [], "MICRO_BATCH_PER_GPU (launch.sh) plays its part");
  m.drop(t("rolloutBatchSize"), c.rolloutBatchSize, "vLLM batches the rollouts itself", false);
  m.drop(
    t("verifyConcurrency"),
    c.verifyConcurrency,
    "the reward service's own budget: m2rl serve --concurrency / --domain-concurrency",
    false,
  );

  // --- periodic evaluation, checkpoints ---
  m.map(
    t("evalEvery"),
    c.evalEvery,
    [flag("eval.steps", c.evalEvery > 0 ? c.evalEvery : c.steps)],
    c.evalEvery > 0
      ? "OpenRLHF does not evaluate the start policy (M2RL's step-0 point is missing)"
      : "one evaluation, after the last step",
  );
  m.map(t("evalAtEnd"), c.evalAtEnd, [], "eval.steps divides the last step when evalEvery does");
  if (c.evalTasks > 0) m.drop(t("evalTasks"), c.evalTasks, "OpenRLHF evaluates the whole eval file", false);
  else m.map(t("evalTasks"), 0, [], "the whole eval split");
  const every = Math.max(1, Math.min(c.steps, c.checkpointEvery || Math.ceil(c.steps / 10)));
  m.map(t("checkpointEvery"), c.checkpointEvery, [flag("ckpt.save_steps", every)]);
  m.map(t("checkpointAtEnd"), c.checkpointAtEnd, [], "the final model is saved to --ckpt.output_dir");
  if (Object.keys(c.plugins).length === 0) m.map(t("plugins"), {}, [], "no trainer plugin");
  else
    m.drop(t("plugins"), c.plugins, "trainer plugins hook M2RL's trainer; none of them runs inside OpenRLHF");

  // --- evaluation ---
  const e = ctx.evaluation;
  m.map("evaluation.samples", e.samples, [flag("eval.n_samples_per_prompt", e.samples)]);
  m.map(
    "evaluation.temperature",
    e.temperature,
    [flag("eval.temperature", e.temperature)],
    evalSampled(e) ? "" : "greedy in M2RL",
  );
  if (e.topP === c.sampling.topP)
    m.map("evaluation.topP", e.topP, [], "the rollout's top_p, as OpenRLHF's eval");
  else
    m.drop(
      "evaluation.topP",
      e.topP,
      `OpenRLHF evaluates with the rollout's --rollout.top_p (${c.sampling.topP}); no eval top_p flag`,
      false,
    );
  if (e.maxTokens === undefined || e.maxTokens === c.sampling.maxNewTokens)
    m.map("evaluation.maxTokens", e.maxTokens, [], "the rollout's max_new_tokens");
  else m.drop("evaluation.maxTokens", e.maxTokens, "OpenRLHF evaluates with --rollout.max_new_tokens", false);
  m.map(
    "evaluation.passAtK",
    e.passAtK,
    [],
    "OpenRLHF logs pass@1 of the eval set; M2RL scores the model after import",
  );
  if (e.selfJudge)
    m.drop("evaluation.selfJudge", e.selfJudge, "self-judging runs in M2RL after import", false);
  else m.map("evaluation.selfJudge", undefined, [], "off");

  // --- prompts ---
  if (ctx.chat.template) {
    m.map(
      "policy.chatTemplate",
      ctx.chat.variables,
      [flag("data.apply_chat_template")],
      "OpenRLHF renders the chat list with the tokenizer's chat template",
    );
    if (Object.keys(ctx.chat.variables).length > 0)
      m.drop(
        "policy.chatTemplate.variables",
        ctx.chat.variables,
        "OpenRLHF calls apply_chat_template without extra variables",
      );
  } else
    m.map(
      "policy.chatTemplate",
      null,
      [],
      "off: the prompt text is fed as it is (no --data.apply_chat_template)",
    );
  return m;
}
