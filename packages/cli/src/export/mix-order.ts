/**
 * The prompt order of an exported arm, from M2RL's own trainer: a `Trainer` is built for the arm exactly as
 * `m2rl run` builds it (the arm's trainer options and seed, the experiment's domains, the host's scheduler
 * registry) and asked for each step's batch through its `sampleBatch` hook: the configured mixing scheduler picks
 * the domain of every prompt (`scheduler.next(promptsPerStep, step)`), and each domain hands out its next task in
 * its per-epoch shuffled order. Nothing is generated or trained: the trainer gets a stand-in policy.
 *
 * A scheduler that reacts to rewards (one with `observe`, the built-in `adaptive`) cannot be written down ahead of
 * training: for it the job gets each domain's task pool and a sampler that applies the rule to the engine's rewards
 * (python/m2rl_curriculum_sampler.py, tested against this trainer on a recorded reward sequence).
 */
import {
  CharTokenizer,
  DEFAULT_ADAPTIVE,
  type Domain,
  type MixingSchedulerInfo,
  type Policy,
  type Task,
  Trainer,
  type TrainerConfig,
  type TrainerConfigInput,
  tinyConfig,
} from "@m2rl/core";

/** Where a trainer looks schedulers up (the plugin host's registry). */
export interface SchedulerLookup {
  find(name: string): MixingSchedulerInfo | undefined;
}

const drawsOnly = (): never => {
  throw new Error(
    "the export only draws batches: its stand-in policy cannot generate, score or load weights",
  );
};

/** Stand-in policy: the trainer is only asked to draw batches, never to generate, score or update. */
const TOKENIZER = new CharTokenizer();
const NO_POLICY: Policy = {
  config: tinyConfig({ vocabSize: TOKENIZER.vocabSize, eosId: TOKENIZER.eosId, padId: TOKENIZER.padId }),
  tokenizer: TOKENIZER,
  params: new Map(),
  generate: drawsOnly,
  score: drawsOnly,
  lastLogits: drawsOnly,
  loadWeights: drawsOnly,
  exportWeights: drawsOnly,
  dispose: () => {},
};

/** The tasks of every step, in the order M2RL's trainer draws them for this arm configuration. */
export async function trainerDrawOrder(
  domains: readonly Domain[],
  input: TrainerConfigInput,
  schedulers: SchedulerLookup,
): Promise<Task[][]> {
  const trainer = new Trainer({
    policy: NO_POLICY,
    reference: NO_POLICY,
    domains,
    config: input,
    schedulerRegistry: { get: (name) => schedulers.find(name) },
  });
  await trainer.init();
  const { steps, promptsPerStep } = trainer.config;
  const order: Task[][] = [];
  for (let step = 0; step < steps; step++) {
    const batch = await trainer.hooks.sampleBatch.promise(
      { count: promptsPerStep, tasks: [], samples: [] },
      { step, round: 0, stop: () => {} },
    );
    if (batch.tasks.length !== promptsPerStep)
      throw new Error(`step ${step}: the trainer drew ${batch.tasks.length} prompts, not ${promptsPerStep}`);
    order.push(batch.tasks);
  }
  return order;
}

/** Whether the scheduler changes its draw with the rewards it observes (then no order can be exported). */
export function rewardDependent(
  name: string,
  options: Record<string, unknown>,
  domains: readonly string[],
  schedulers: SchedulerLookup,
): boolean {
  const info = schedulers.find(name);
  if (!info) throw new Error(`unknown mixing scheduler '${name}'`);
  const probe = info.create(options, {
    domains: domains.map((d) => ({ name: d, size: 1 })),
    seed: 0,
    totalSteps: 1,
    promptsPerStep: 1,
  });
  return typeof probe.observe === "function";
}

/** `mix_plan.json`: what the curriculum sampler needs to apply the adaptive rule as M2RL's trainer does. */
export interface MixPlan {
  format: "m2rl-mix-plan/1";
  scheduler: "adaptive";
  /** The scheduler's options, defaults filled in. */
  options: Record<string, unknown>;
  /** The arm's seed: the trainer derives the scheduler's seed and each domain's data order from it. */
  armSeed: number;
  steps: number;
  promptsPerStep: number;
  /** Each domain's train tasks: rows offset … offset + size − 1 of the train file, in the trainer's task order. */
  domains: { name: string; offset: number; size: number }[];
}

/** The adaptive arm's task pool (each domain's train split as the trainer loads it) and its plan. */
export async function adaptivePool(
  domains: readonly Domain[],
  config: TrainerConfig,
): Promise<{ plan: MixPlan; tasks: Task[] }> {
  const tasks: Task[] = [];
  const entries: MixPlan["domains"] = [];
  for (const d of domains) {
    // the query of Trainer.init(): the same tasks, in the same order
    const mine = await d.tasks({ split: "train", seed: config.seed, count: config.trainTasksPerDomain });
    if (mine.length === 0) throw new Error(`domain '${d.name}' has no train tasks`);
    entries.push({ name: d.name, offset: tasks.length, size: mine.length });
    tasks.push(...mine);
  }
  return {
    plan: {
      format: "m2rl-mix-plan/1",
      scheduler: "adaptive",
      options: { ...DEFAULT_ADAPTIVE, ...config.scheduler.options },
      armSeed: config.seed,
      steps: config.steps,
      promptsPerStep: config.promptsPerStep,
      domains: entries,
    },
    tasks,
  };
}
