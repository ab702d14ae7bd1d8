/**
 * Contract of a mixing scheduler (owned by the trainer work): decides which domain each prompt of a batch comes
 * from. Core holds the type so that the plugin host can keep a registry of them.
 */
import type { JSONSchema } from "../plugin/schema.ts";

/** What a scheduler is told about the run when it is created. */
export interface SchedulerContext {
  /** The training domains and their train-set sizes, in experiment order. */
  domains: readonly { name: string; size: number }[];
  /** Seed of the scheduler's own Rng. */
  seed: number;
  /** Planned optimizer steps of the run. */
  totalSteps: number;
  /** Prompts per step. */
  promptsPerStep: number;
}

/** Per-domain reward feedback after a step (adaptive schedulers use it). */
export interface DomainFeedback {
  domain: string;
  /** Mean reward of this step's samples of the domain. */
  meanReward: number;
  samples: number;
}

/** JSON-serialisable state (weights, cursors, RNG) stored in checkpoints. */
export type SchedulerState = Record<string, unknown>;

export interface MixingScheduler {
  readonly name: string;
  /** The domain of each of the next `count` prompts of step `step` (0-based). */
  next(count: number, step: number): string[];
  /** Current sampling probability of each domain (for metrics). */
  weights(): Record<string, number>;
  /** Reward feedback after a step. */
  observe?(feedback: readonly DomainFeedback[], step: number): void;
  getState(): SchedulerState;
  setState(state: SchedulerState): void;
}

export interface MixingSchedulerInfo {
  name: string;
  description?: string;
  optionsSchema?: JSONSchema;
  /** Creates a scheduler instance (options already validated against `optionsSchema`). */
  create(options: Record<string, unknown>, context: SchedulerContext): MixingScheduler;
}
