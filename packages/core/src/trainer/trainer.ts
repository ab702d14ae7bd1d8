import { AsyncSeriesHook, AsyncSeriesWaterfallHook, SyncWaterfallHook } from "tapable";
import type { Domain, Task, VerificationStatus } from "../domain/types.ts";
import { ConfigError, PluginError } from "../errors/index.ts";
import type { FileStore } from "../io/index.ts";
import type { Policy } from "../policy/types.ts";
import { Rng } from "../rng/index.ts";
import { createScheduler } from "../schedulers/builtin.ts";
import type { DomainFeedback, MixingScheduler, MixingSchedulerInfo } from "../schedulers/types.ts";
import { groupAdvantages, informativeGroups } from "./advantages.ts";
import { loadTrainerCheckpoint, saveTrainerCheckpoint, type TrainerState } from "./checkpoint.ts";
import { measuresKl, resolveTrainerConfig, type TrainerConfig, type TrainerConfigInput } from "./config.ts";
import { type EvalOptions, type EvalResult, emptyStatusCounts, evaluatePolicy } from "./evaluate.ts";
import { policyParameterCount, trainingFlops } from "./flops.ts";
import { learningRate } from "./lr-schedule.ts";
import { mopdPlugin } from "./mopd.ts";
import { AdamW } from "./optimizer.ts";
import { rewardSamples } from "./stages/reward.ts";
import { rolloutGroups } from "./stages/rollout.ts";
import { scoreCompletions } from "./stages/score.ts";
import { type UpdateResult, updatePolicy } from "./stages/update.ts";
import type {
  DomainStepMetrics,
  LossContext,
  LossTerms,
  MetricsSink,
  RolloutBatch,
  Sample,
  StepContext,
  StepMetrics,
} from "./types.ts";

/** A plugin of the trainer: taps `trainer.hooks` in `apply`. */
export interface TrainerPlugin {
  name: string;
  apply(trainer: Trainer): void;
}

export interface TrainerDeps {
  policy: Policy;
  /** Training domains (their train split is used; eval split for evaluation). */
  domains: readonly Domain[];
  config?: TrainerConfigInput;
  /** Frozen reference policy for the KL term (required when kl.coef > 0 or kl.monitor). */
  reference?: Policy;
  /** MOPD: the teacher of each domain, by domain name. */
  teachers?: ReadonlyMap<string, Policy>;
  /** A ready scheduler; otherwise `config.scheduler` is looked up in `schedulerRegistry` (default built-ins). */
  scheduler?: MixingScheduler;
  schedulerRegistry?: { get(name: string): MixingSchedulerInfo | undefined };
  metrics?: MetricsSink;
  /** Where the checkpoint of step N goes (one folder per checkpoint; the CLI maps it to checkpoints/step-N). */
  checkpointStore?: (step: number) => FileStore | Promise<FileStore>;
  plugins?: readonly TrainerPlugin[];
  /** Evaluation options (defaults: greedy, the sampling's maxNewTokens). */
  eval?: Partial<EvalOptions>;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
}

export interface TrainerHooks {
  beforeRun: AsyncSeriesHook<[Trainer]>;
  beforeStep: AsyncSeriesHook<[StepContext]>;
  sampleBatch: AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>;
  rollout: AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>;
  reward: AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>;
  advantage: AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>;
  /** Synchronous: it runs inside tf.variableGrads, which cannot await. */
  loss: SyncWaterfallHook<[LossTerms, LossContext]>;
  afterStep: AsyncSeriesHook<[StepMetrics, StepContext]>;
  evaluate: AsyncSeriesHook<[EvalResult, StepContext]>;
  checkpoint: AsyncSeriesHook<[{ step: number; store: FileStore }]>;
  /** After `restore` read a checkpoint: plugins read back the state they wrote at `checkpoint`. */
  restore: AsyncSeriesHook<[{ step: number; store: FileStore }]>;
  afterRun: AsyncSeriesHook<[RunSummary]>;
}

export interface RunSummary {
  steps: number;
  stoppedEarly: string | null;
  lastMetrics: StepMetrics | undefined;
  lastEval: EvalResult | undefined;
  totalFlops: number;
  totalTokens: number;
  wallMs: number;
}

interface Cursor {
  epoch: number;
  pos: number;
}

const BUILTIN = "m2rl:builtin";

export class Trainer {
  readonly hooks: Readonly<TrainerHooks> = Object.freeze({
    beforeRun: new AsyncSeriesHook<[Trainer]>(["trainer"]),
    beforeStep: new AsyncSeriesHook<[StepContext]>(["context"]),
    sampleBatch: new AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>(["batch", "context"]),
    rollout: new AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>(["batch", "context"]),
    reward: new AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>(["batch", "context"]),
    advantage: new AsyncSeriesWaterfallHook<[RolloutBatch, StepContext]>(["batch", "context"]),
    loss: new SyncWaterfallHook<[LossTerms, LossContext]>(["terms", "context"]),
    afterStep: new AsyncSeriesHook<[StepMetrics, StepContext]>(["metrics", "context"]),
    evaluate: new AsyncSeriesHook<[EvalResult, StepContext]>(["result", "context"]),
    checkpoint: new AsyncSeriesHook<[{ step: number; store: FileStore }]>(["checkpoint"]),
    restore: new AsyncSeriesHook<[{ step: number; store: FileStore }]>(["checkpoint"]),
    afterRun: new AsyncSeriesHook<[RunSummary]>(["summary"]),
  });

  readonly config: TrainerConfig;
  readonly policy: Policy;
  readonly domains: readonly Domain[];
  readonly optimizer: AdamW;
  /** Completed steps. */
  step = 0;
  /** Set by a plugin through `context.stop(reason)`. */
  stopReason: string | null = null;

  private readonly deps: TrainerDeps;
  private readonly rng: Rng;
  private scheduler: MixingScheduler | undefined;
  private readonly trainTasks = new Map<string, Task[]>();
  private readonly orders = new Map<string, { epoch: number; order: number[] }>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly domainByName = new Map<string, Domain>();
  private readonly hfNameOfVariable = new Map<string, string>();
  private readonly paramCount: number;
  private initialised = false;
  private lastMetrics: StepMetrics | undefined;
  private lastEval: EvalResult | undefined;
  private totalFlops = 0;
  private totalTokens = 0;
  private readonly now: () => number;

  constructor(deps: TrainerDeps) {
    this.deps = deps;
    this.config = resolveTrainerConfig(deps.config);
    this.policy = deps.policy;
    this.domains = deps.domains;
    this.now = deps.now ?? (() => performance.now());
    if (deps.domains.length === 0)
      throw new ConfigError("the trainer needs at least one domain", { path: "domains" });
    for (const d of deps.domains) {
      if (this.domainByName.has(d.name))
        throw new ConfigError(`domain '${d.name}' given twice`, { path: "domains" });
      this.domainByName.set(d.name, d);
    }
    if (this.config.kl.coef > 0 && !deps.reference) {
      throw new ConfigError("kl.coef > 0 needs a reference policy", { path: "trainer.kl.coef" });
    }
    if (this.config.kl.monitor && !deps.reference) {
      throw new ConfigError("kl.monitor needs a reference policy", { path: "trainer.kl.monitor" });
    }
    if (this.config.algorithm === "mopd") {
      for (const d of deps.domains) {
        if (!deps.teachers?.has(d.name)) {
          throw new ConfigError(`MOPD needs a teacher for domain '${d.name}'`, { path: "trainer.algorithm" });
        }
      }
    }
    this.rng = new Rng(`trainer:${this.config.seed}`);
    const o = this.config.optimizer;
    this.optimizer = new AdamW(deps.policy.params, {
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.weightDecay,
      decoupled: o.decoupled,
    });
    for (const [hf, v] of deps.policy.params) this.hfNameOfVariable.set(v.name, hf);
    this.paramCount = policyParameterCount(deps.policy);
    this.tapBuiltins();
    for (const p of deps.plugins ?? []) {
      try {
        p.apply(this);
      } catch (err) {
        throw new PluginError(`apply failed: ${(err as Error).message}`, { plugin: p.name }, { cause: err });
      }
    }
  }

  /** Loads the train splits and creates the scheduler (idempotent). */
  async init(): Promise<void> {
    if (this.initialised) return;
    for (const d of this.domains) {
      const tasks = await d.tasks({
        split: "train",
        seed: this.config.seed,
        count: this.config.trainTasksPerDomain,
      });
      if (tasks.length === 0)
        throw new ConfigError(`domain '${d.name}' has no train tasks`, { path: "domains" });
      this.trainTasks.set(d.name, tasks);
      if (!this.cursors.has(d.name)) this.cursors.set(d.name, { epoch: 0, pos: 0 });
    }
    this.scheduler ??=
      this.deps.scheduler ??
      createScheduler(
        this.config.scheduler.name,
        this.config.scheduler.options,
        {
          domains: this.domains.map((d) => ({ name: d.name, size: this.trainTasks.get(d.name)!.length })),
          seed: Rng.derive(this.config.seed, "scheduler").nextUint32(),
          totalSteps: this.config.steps,
          promptsPerStep: this.config.promptsPerStep,
        },
        this.deps.schedulerRegistry,
      );
    this.initialised = true;
  }

  /** Runs until `config.steps` steps are done (or a plugin stops it). Resumes from `step` after `restore`. */
  async run(): Promise<RunSummary> {
    await this.init();
    const t0 = this.now();
    await this.hooks.beforeRun.promise(this);
    while (this.step < this.config.steps && this.stopReason === null) {
      await this.trainStep();
      const done = this.step >= this.config.steps || this.stopReason !== null;
      if (this.config.evalEvery > 0 && this.step % this.config.evalEvery === 0) await this.evaluate();
      else if (done && this.config.evalAtEnd) await this.evaluate();
      if (this.deps.checkpointStore) {
        const every = this.config.checkpointEvery > 0 && this.step % this.config.checkpointEvery === 0;
        if (every || (done && this.config.checkpointAtEnd))
          await this.saveCheckpoint(await this.deps.checkpointStore(this.step));
      }
    }
    const summary: RunSummary = {
      steps: this.step,
      stoppedEarly: this.stopReason,
      lastMetrics: this.lastMetrics,
      lastEval: this.lastEval,
      totalFlops: this.totalFlops,
      totalTokens: this.totalTokens,
      wallMs: this.now() - t0,
    };
    await this.hooks.afterRun.promise(summary);
    const { lastMetrics: _m, lastEval: _e, ...totals } = summary;
    await this.deps.metrics?.({ type: "run", step: this.step, ...totals });
    return summary;
  }

  private context(round = 0): StepContext {
    return {
      step: this.step,
      round,
      stop: (reason: string) => {
        this.stopReason = reason;
      },
    };
  }

  /** The next task of a domain: per-domain data order, reshuffled each epoch with Rng.derive(seed, domain:epoch). */
  private nextTask(domain: string): Task {
    const tasks = this.trainTasks.get(domain);
    if (!tasks)
      throw new ConfigError(`the scheduler chose unknown domain '${domain}'`, { path: "trainer.scheduler" });
    const cur = this.cursors.get(domain)!;
    if (cur.pos >= tasks.length) {
      cur.epoch++;
      cur.pos = 0;
    }
    let o = this.orders.get(domain);
    if (!o || o.epoch !== cur.epoch) {
      const order = Rng.derive(this.config.seed, `data:${domain}:${cur.epoch}`).shuffle(
        tasks.map((_, i) => i),
      );
      o = { epoch: cur.epoch, order };
      this.orders.set(domain, o);
    }
    return tasks[o.order[cur.pos++]];
  }

  private tapBuiltins(): void {
    const h = this.hooks;
    h.sampleBatch.tapPromise(BUILTIN, async (batch, ctx) => {
      const domains = this.scheduler!.next(batch.count, ctx.step);
      return { ...batch, tasks: domains.map((d) => this.nextTask(d)) };
    });
    h.rollout.tapPromise(BUILTIN, async (batch) => {
      // A plugin tapped before this one (stage < 0) may have produced the samples already: it replaces the stage.
      if (batch.samples.length > 0) return batch;
      const samples = await rolloutGroups(this.policy, batch.tasks, this.config, this.rng.nextUint32());
      return { ...batch, samples };
    });
    h.reward.tapPromise(BUILTIN, async (batch) => ({
      ...batch,
      samples: await rewardSamples(batch.samples, this.domainByName, this.config),
    }));
    h.advantage.tapPromise(BUILTIN, async (batch) => {
      const adv = groupAdvantages(
        batch.samples.map((s) => s.reward),
        this.config.groupSize,
        this.config.advantage,
      );
      return { ...batch, samples: batch.samples.map((s, i) => ({ ...s, advantage: adv[i] })) };
    });
    if (this.config.algorithm === "mopd") mopdPlugin(this.deps.teachers!).apply(this);
  }

  /** Per-sample log-probs of the completions under `policy`, outside any gradient scope. */
  private scoreNoGrad(policy: Policy, samples: readonly Sample[]): number[][] {
    return scoreCompletions(policy, samples, {
      microBatchSize: this.config.microBatchSize,
      temperature: this.config.sampling.temperature,
    });
  }

  /** Collects groups for one step: sampleBatch → rollout → reward, with the status policy and dynamic sampling. */
  private async collect(): Promise<{
    samples: Sample[];
    droppedStatus: number;
    droppedUniform: number;
    rounds: number;
    generatedTokens: number;
    all: Sample[];
  }> {
    const c = this.config;
    const G = c.groupSize;
    const drop = new Set<VerificationStatus>(c.dropGroupOnStatus);
    const kept: Sample[][] = [];
    const all: Sample[] = [];
    let droppedStatus = 0;
    let droppedUniform = 0;
    let rounds = 0;
    let generatedTokens = 0;
    const maxRounds = c.dynamicSampling.enabled ? 1 + c.dynamicSampling.maxRefills : 1;
    while (rounds < maxRounds && kept.length < c.promptsPerStep) {
      const ctx = this.context(rounds);
      rounds++;
      let batch: RolloutBatch = { count: c.promptsPerStep - kept.length, tasks: [], samples: [] };
      batch = await this.hooks.sampleBatch.promise(batch, ctx);
      batch = await this.hooks.rollout.promise(batch, ctx);
      batch = await this.hooks.reward.promise(batch, ctx);
      if (batch.samples.length % G !== 0) {
        throw new PluginError(
          `rollout produced ${batch.samples.length} samples, not a multiple of groupSize ${G}`,
        );
      }
      all.push(...batch.samples);
      for (const s of batch.samples) generatedTokens += s.promptIds.length + s.generation.ids.length;
      const nGroups = batch.samples.length / G;
      const informative = new Set(
        c.dynamicSampling.enabled
          ? informativeGroups(
              batch.samples.map((s) => s.reward),
              G,
            )
          : Array.from({ length: nGroups }, (_, i) => i),
      );
      for (let g = 0; g < nGroups; g++) {
        const group = batch.samples.slice(g * G, (g + 1) * G);
        if (group.some((s) => s.verification && drop.has(s.verification.status))) droppedStatus++;
        else if (!informative.has(g)) droppedUniform++;
        else if (kept.length < c.promptsPerStep) kept.push(group);
      }
    }
    const samples = kept.flatMap((group, g) => group.map((s) => ({ ...s, group: g })));
    return { samples, droppedStatus, droppedUniform, rounds, generatedTokens, all };
  }

  /** One training step (rollouts, advantages, updates, metrics). */
  async trainStep(): Promise<StepMetrics> {
    await this.init();
    const c = this.config;
    const t0 = this.now();
    const ctx = this.context();
    await this.hooks.beforeStep.promise(ctx);
    const got = await this.collect();
    let samples = got.samples;
    let scoredTokens = 0;
    const sampleTokens = (xs: readonly Sample[]) =>
      xs.reduce((a, s) => a + s.promptIds.length + s.generation.ids.length, 0);
    if (samples.length > 0) {
      const old = c.recomputeOldLogprobs ? this.scoreNoGrad(this.policy, samples) : undefined;
      if (old) scoredTokens += sampleTokens(samples);
      samples = samples.map((s, i) => ({ ...s, oldLogprobs: old ? old[i] : s.generation.logprobs }));
      if (c.algorithm === "mopd") scoredTokens += sampleTokens(samples);
      const batch = await this.hooks.advantage.promise(
        { count: samples.length / c.groupSize, tasks: [], samples },
        ctx,
      );
      samples = batch.samples;
      if (measuresKl(c) && this.deps.reference) {
        const ref = this.scoreNoGrad(this.deps.reference, samples);
        scoredTokens += sampleTokens(samples);
        samples = samples.map((s, i) => ({ ...s, refLogprobs: ref[i] }));
      }
    }
    const upd = samples.length > 0 ? await this.update(samples, ctx) : undefined;
    const trainedTokens = sampleTokens(samples) * c.ppoEpochs;
    const flops = trainingFlops(this.paramCount, {
      generated: got.generatedTokens,
      scored: scoredTokens,
      trained: trainedTokens,
    });
    this.totalFlops += flops;
    this.totalTokens += got.generatedTokens;
    const metrics = this.stepMetrics(samples, got, upd, flops, this.now() - t0, {
      trainedTokens,
      scoredTokens,
    });
    this.scheduler!.observe?.(
      Object.entries(metrics.perDomain).map(
        ([domain, d]): DomainFeedback => ({ domain, meanReward: d.meanReward, samples: d.samples }),
      ),
      this.step,
    );
    this.step++;
    this.lastMetrics = metrics;
    await this.hooks.afterStep.promise(metrics, ctx);
    await this.deps.metrics?.(metrics);
    return metrics;
  }

  /** PPO epochs × mini-batches of AdamW updates on the collected samples (stages/update.ts). */
  private update(samples: Sample[], ctx: StepContext): Promise<UpdateResult> {
    return updatePolicy(samples, ctx, {
      policy: this.policy,
      optimizer: this.optimizer,
      config: this.config,
      rng: this.rng,
      hasKl: measuresKl(this.config) && !!this.deps.reference,
      loss: (terms, context) => this.hooks.loss.call(terms, context),
      hfNameOfVariable: this.hfNameOfVariable,
      learningRate: () => this.learningRate(),
    });
  }

  private stepMetrics(
    samples: readonly Sample[],
    got: {
      droppedStatus: number;
      droppedUniform: number;
      rounds: number;
      generatedTokens: number;
      all: Sample[];
    },
    upd: UpdateResult | undefined,
    flops: number,
    wallMs: number,
    counts: { trainedTokens: number; scoredTokens: number },
  ): StepMetrics {
    const G = this.config.groupSize;
    // rewards, accuracy and status counts over every sample drawn this step (dropped groups included)
    const all = got.all;
    const perDomain: Record<string, DomainStepMetrics> = {};
    const statusCounts = emptyStatusCounts();
    let reward = 0;
    let correct = 0;
    let respTokens = 0;
    for (const s of all) {
      const d = (perDomain[s.domain] ??= {
        prompts: 0,
        samples: 0,
        meanReward: 0,
        accuracy: 0,
        statusCounts: emptyStatusCounts(),
      });
      d.samples++;
      d.meanReward += s.reward;
      const st = s.verification?.status;
      if (st) {
        d.statusCounts[st]++;
        statusCounts[st]++;
      }
      if (st === "correct") {
        d.accuracy++;
        correct++;
      }
      reward += s.reward;
      respTokens += s.generation.ids.length;
    }
    for (const d of Object.values(perDomain)) {
      d.prompts = d.samples / G;
      d.meanReward /= d.samples;
      d.accuracy /= d.samples;
    }
    const batchDomains: string[] = [];
    for (let i = 0; i < samples.length; i += G) batchDomains.push(samples[i].domain);
    return {
      type: "step",
      step: this.step,
      // A step without an update (every group dropped) reports the rate the next update will use.
      lr: upd?.lr ?? this.learningRate(),
      loss: upd?.loss ?? 0,
      pgLoss: upd?.pg ?? 0,
      kl: upd?.kl ?? null,
      entropy: upd?.entropy ?? null,
      clipFraction: upd?.clip ?? 0,
      gradNorm: upd?.gradNorm ?? 0,
      meanReward: all.length ? reward / all.length : 0,
      accuracy: all.length ? correct / all.length : 0,
      statusCounts,
      perDomain,
      batchDomains,
      schedulerWeights: this.scheduler!.weights(),
      groupsKept: samples.length / G,
      groupsDroppedStatus: got.droppedStatus,
      groupsDroppedUniform: got.droppedUniform,
      samplingRounds: got.rounds,
      meanResponseTokens: all.length ? respTokens / all.length : 0,
      tokens: samples.reduce((a, s) => a + s.promptIds.length + s.generation.ids.length, 0),
      generatedTokens: got.generatedTokens,
      responseTokens: respTokens,
      trainedTokens: counts.trainedTokens,
      scoredTokens: counts.scoredTokens,
      flops,
      wallMs,
      updates: upd?.updates ?? 0,
      skipped: !upd,
    };
  }

  /** Evaluates the policy on every domain's eval split; fires `evaluate` and writes an `eval` metrics record. */
  async evaluate(options: Partial<EvalOptions> = {}): Promise<EvalResult> {
    const o: Partial<EvalOptions> = {
      maxNewTokens: this.config.sampling.maxNewTokens,
      stop: this.config.sampling.stop,
      seed: this.config.seed,
      ...(this.config.evalTasks > 0 ? { count: this.config.evalTasks } : {}),
      ...this.deps.eval,
      ...options,
    };
    const result = await evaluatePolicy(this.policy, this.domains, o);
    this.lastEval = result;
    await this.hooks.evaluate.promise(result, this.context());
    await this.deps.metrics?.({ type: "eval", step: this.step, ...result });
    return result;
  }

  /**
   * The learning rate of the next optimizer update. The schedule counts optimizer updates: a run makes at most
   * steps × ppoEpochs × miniBatches of them (fewer when a step drops every group), so warm-up and decay are in
   * updates.
   */
  learningRate(): number {
    const c = this.config;
    return learningRate(this.optimizer.step, {
      ...c.optimizer,
      totalSteps: c.steps * c.ppoEpochs * c.miniBatches,
    });
  }

  /** The state that, with the weights and optimizer moments, makes a run resumable. */
  exportState(): TrainerState {
    return {
      version: 1,
      step: this.step,
      rng: [...this.rng.getState()],
      scheduler: this.scheduler?.getState() ?? {},
      cursors: Object.fromEntries(this.cursors),
      optimizerStep: this.optimizer.step,
      stopReason: this.stopReason,
      totalFlops: this.totalFlops,
      totalTokens: this.totalTokens,
    };
  }

  /** Writes policy weights, optimizer state and trainer state into `store` (trainer_state.json last). */
  async saveCheckpoint(store: FileStore): Promise<void> {
    await this.init();
    await saveTrainerCheckpoint(store, this.policy, this.optimizer, this.exportState());
    await this.hooks.checkpoint.promise({ step: this.step, store });
    await this.deps.metrics?.({ type: "checkpoint", step: this.step, store: store.name });
  }

  /** Restores a checkpoint written by `saveCheckpoint` (same config, policy shape and domains). */
  async restore(store: FileStore): Promise<void> {
    await this.init();
    const state = await loadTrainerCheckpoint(store, this.policy, this.optimizer);
    this.step = state.step;
    this.rng.setState(state.rng as [number, number, number, number]);
    this.scheduler!.setState(state.scheduler);
    for (const [d, cur] of Object.entries(state.cursors)) {
      if (!this.cursors.has(d)) {
        throw new ConfigError(`checkpoint has a cursor for domain '${d}' that this run does not train`, {
          file: store.name,
        });
      }
      this.cursors.set(d, { ...cur });
    }
    this.orders.clear();
    this.stopReason = null;
    this.totalFlops = state.totalFlops;
    this.totalTokens = state.totalTokens;
    await this.hooks.restore.promise({ step: this.step, store });
  }
}
