/**
 * The M2RL → engine option mapping, engine-independent part: what one job is exported with (`ExportContext`), how
 * an option is recorded (mapped to engine keys, or dropped with the reason), and the list of every trainer option
 * M2RL has, so that a test can check that none is left out of the manifest.
 */
import type { EvaluationConfig, OptionProps, TrainerConfig } from "@m2rl/core";
import { TRAINER_OPTIONS } from "@m2rl/core";

export type Engine = "verl" | "openrlhf";

/** How the arm's prompts reach the engine. */
export type Mixing =
  /** The train file holds the prompts in M2RL's draw order, steps × promptsPerStep rows; the engine must not shuffle. */
  | { kind: "order" }
  /** The train file holds each domain's tasks; a sampler draws from them with the reward-dependent rule. */
  | { kind: "sampler"; plan: string };

/** Everything the option mapping of one job reads. Paths are as the launch script writes them (`${JOB_DIR}/…`). */
export interface ExportContext {
  armId: string;
  armKind: "single" | "mix";
  /** The experiment's name (the engine's project name). */
  experiment: string;
  /** The arm's resolved trainer options (experiment ⊕ arm, defaults filled in). */
  config: TrainerConfig;
  evaluation: EvaluationConfig;
  /** The arm's seed (what M2RL's trainer runs with). */
  seed: number;
  gpus: number;
  nodes: number;
  /** Longest prompt in tokens (an upper bound when no tokenizer was at hand). */
  maxPromptLength: number;
  maxPromptLengthSource: string;
  /** `policy.chatTemplate`: prompts rendered with the model's chat template (with these variables), or raw. */
  chat: { template: boolean; variables: Record<string, unknown> };
  mixing: Mixing;
  /** Train rows in the file; eval (validation) rows. */
  rows: { train: number; eval: number };
  files: { train: string; eval: string };
  /** The reward: verl's shim file, or OpenRLHF's remote_url. */
  reward: string;
}

/** One M2RL option and the engine keys it became. */
export interface MappedOption {
  option: string;
  value: unknown;
  /** The engine keys / flags, as written in launch.sh (empty: nothing to write, see note). */
  engine: string[];
  note?: string;
}

/** One M2RL option the engine cannot express, and why. */
export interface DroppedOption {
  option: string;
  value: unknown;
  reason: string;
  /** False for options that only tune M2RL's own runtime (batching, concurrency) and cannot change the result. */
  changesTraining: boolean;
}

/** An engine key the export sets that is no M2RL option (paths, data layout, cluster shape). */
export interface EngineSetting {
  engine: string[];
  why: string;
}

/** Collects a job's engine arguments together with the record of where each came from. */
export class OptionMapper<A> {
  readonly args: A[] = [];
  readonly mapped: MappedOption[] = [];
  readonly dropped: DroppedOption[] = [];
  readonly settings: EngineSetting[] = [];

  constructor(private readonly render: (arg: A) => string) {}

  /** `option` (its value) is expressed by `args` (none: nothing needs writing; say why in `note`). */
  map(option: string, value: unknown, args: A[], note?: string): void {
    this.args.push(...args);
    this.mapped.push({ option, value, engine: args.map(this.render), ...(note ? { note } : {}) });
  }

  drop(option: string, value: unknown, reason: string, changesTraining = true): void {
    this.dropped.push({ option, value, reason, changesTraining });
  }

  set(args: A[], why: string): void {
    this.args.push(...args);
    this.settings.push({ engine: args.map(this.render), why });
  }
}

/** Every trainer option M2RL declares (`TRAINER_OPTIONS`), as dotted paths under `trainer.`. */
export function trainerOptionPaths(): string[] {
  const out: string[] = [];
  const walk = (props: OptionProps, prefix: string) => {
    for (const [k, n] of Object.entries(props)) {
      if (n.kind === "group") walk(n.props, `${prefix}${k}.`);
      else out.push(`trainer.${prefix}${k}`);
    }
  };
  walk(TRAINER_OPTIONS.props, "");
  return out;
}

/** The evaluation options (`evaluation:`) a job maps too: the engine's validation of the arm. */
export const EVALUATION_OPTION_PATHS = [
  "evaluation.samples",
  "evaluation.passAtK",
  "evaluation.temperature",
  "evaluation.topP",
  "evaluation.maxTokens",
  "evaluation.selfJudge",
] as const;

/** Every option a job's manifest must account for (mapped or dropped). */
export function exportedOptionPaths(): string[] {
  return [...trainerOptionPaths(), ...EVALUATION_OPTION_PATHS, "policy.chatTemplate"];
}

/** Optimizer updates per step, the unit of M2RL's warm-up: ppoEpochs × miniBatches. */
export function updatesPerStep(c: TrainerConfig): number {
  return c.ppoEpochs * c.miniBatches;
}

/** Checkpoint interval as `m2rl run` uses it: `checkpointEvery`, else a tenth of the run. */
export function checkpointInterval(c: TrainerConfig): number {
  return Math.max(1, Math.min(c.steps, c.checkpointEvery || Math.ceil(c.steps / 10)));
}

/** Whether M2RL evaluates with sampling (else greedy), as `m2rl run`'s evaluation does. */
export function evalSampled(e: EvaluationConfig): boolean {
  return e.samples > 1 || e.temperature > 0;
}

/** The micro-batch launch.sh defaults MICRO_BATCH_PER_GPU to: M2RL's microBatchSize, else 4. */
export function defaultMicroBatch(c: TrainerConfig): number {
  return c.microBatchSize > 0 ? c.microBatchSize : 4;
}

/**
 * Batch shapes the engine would refuse on this cluster: each update's samples are split evenly over the GPUs, and
 * each GPU's share in whole micro-batches (verl's fsdp_workers and OpenRLHF's launcher assert it).
 */
export function batchWarnings(c: TrainerConfig, gpus: number, nodes: number): string[] {
  const world = gpus * nodes;
  const micro = defaultMicroBatch(c);
  const perUpdate = Math.floor(c.promptsPerStep / c.miniBatches) * c.groupSize;
  const out: string[] = [];
  if ((c.promptsPerStep * c.groupSize) % world !== 0)
    out.push(
      `a step's ${c.promptsPerStep} × ${c.groupSize} samples do not split evenly over ${world} GPUs: change --gpus / --nodes`,
    );
  else if (perUpdate % world !== 0 || (perUpdate / world) % micro !== 0)
    out.push(
      `each update's ${perUpdate} samples give ${perUpdate / world} per GPU on ${world} GPUs, not a multiple of ` +
        `MICRO_BATCH_PER_GPU=${micro}: set MICRO_BATCH_PER_GPU to a divisor`,
    );
  return out;
}
