/** Data that flows through the trainer's hooks. Plain objects: plugins read and rewrite them. */
import type * as tf from "@tensorflow/tfjs-core";
import type { Task, Verification, VerificationStatus } from "../domain/types.ts";
import type { Generation, SequencePair } from "../policy/types.ts";
import type { EvalResult } from "./evaluate.ts";
import type { RunSummary } from "./trainer.ts";

/** One sampled response to one prompt, with everything the trainer learns about it. */
export interface Sample {
  task: Task;
  /** Domain of the prompt (every sample carries it: domain is a first-class key of samples, metrics and rows). */
  domain: string;
  /** Index of the prompt's group within the step's batch (samples of a group share a prompt). */
  group: number;
  promptIds: number[];
  generation: Generation;
  verification?: Verification;
  /** Scalar reward used for advantages (verifier reward plus shaping terms). */
  reward: number;
  /** Named reward terms (`verifier`, `overlong`, a plugin's own) summing to `reward`. */
  rewardTerms: Record<string, number>;
  /** Sequence-level advantage (GRPO). */
  advantage: number;
  /** Per-token advantages (MOPD); overrides `advantage` when present. */
  tokenAdvantages?: number[];
  /** Log-probs of the completion before the update (old policy). */
  oldLogprobs?: number[];
  /** Log-probs under the frozen reference (KL term). */
  refLogprobs?: number[];
  /** Log-probs under the domain's teacher (MOPD). */
  teacherLogprobs?: number[];
}

/** The batch of a step as it passes through sampleBatch → rollout → reward → advantage. */
export interface RolloutBatch {
  /** Number of prompts wanted in this round. */
  count: number;
  /** The prompts (filled by sampleBatch). */
  tasks: Task[];
  /** The samples: groupSize per task, grouped (filled by rollout, scored by reward, advantages by advantage). */
  samples: Sample[];
}

/** What every step-scoped hook receives. */
export interface StepContext {
  /** 0-based index of the step being run. */
  step: number;
  /** Sampling round within the step (> 0 when dynamic sampling refills). */
  round: number;
  /** Asks the trainer to stop after the current step (early stopping). */
  stop(reason: string): void;
}

/** Scalar loss terms inside the gradient scope; the `loss` hook may add to `total`. */
export interface LossTerms {
  total: tf.Scalar;
  pg: tf.Scalar;
  kl?: tf.Scalar;
  entropy?: tf.Scalar;
  clipFraction: tf.Scalar;
}

export interface LossContext extends StepContext {
  samples: readonly Sample[];
  pairs: readonly SequencePair[];
  /** Current log-probs [B, T] (differentiable) and mask. */
  logprobs: tf.Tensor2D;
  mask: tf.Tensor2D;
}

export interface DomainStepMetrics {
  prompts: number;
  samples: number;
  meanReward: number;
  accuracy: number;
  statusCounts: Record<VerificationStatus, number>;
}

/** One line of metrics.jsonl for a training step. */
export interface StepMetrics {
  type: "step";
  step: number;
  lr: number;
  loss: number;
  pgLoss: number;
  kl: number | null;
  entropy: number | null;
  clipFraction: number;
  gradNorm: number;
  meanReward: number;
  accuracy: number;
  statusCounts: Record<VerificationStatus, number>;
  perDomain: Record<string, DomainStepMetrics>;
  /** Domain of every prompt of the step's kept batch, in order. */
  batchDomains: string[];
  schedulerWeights: Record<string, number>;
  groupsKept: number;
  groupsDroppedStatus: number;
  groupsDroppedUniform: number;
  samplingRounds: number;
  meanResponseTokens: number;
  /** Prompt + completion tokens of the kept samples (one pass). */
  tokens: number;
  /** Prompt + completion tokens of every sampled sequence, dropped groups included (rollout prefill + decode). */
  generatedTokens: number;
  /** Completion tokens sampled this step, dropped groups included (what the rollout generated). */
  responseTokens: number;
  /**
   * Tokens through forward + backward: prompt + completion of the kept samples × ppoEpochs. `policy.score` runs
   * the whole prompt + completion sequence and the loss (masked to completion tokens) back-propagates through
   * every position, prompt included (attention), so prompt tokens count.
   */
  trainedTokens: number;
  /** Tokens scored forward-only (no gradient): recomputed old log-probs, reference policy, MOPD teachers. */
  scoredTokens: number;
  /** 6·P·(trained tokens) + 2·P·(generated and scored-only tokens). */
  flops: number;
  wallMs: number;
  updates: number;
  skipped: boolean;
}

/** Receives every metrics record (the CLI writes them to metrics.jsonl). */
/** What the trainer reports, by `type`: every step, every evaluation, every checkpoint, and the run's end. */
export type MetricsRecord =
  | StepMetrics
  | ({ type: "eval"; step: number } & EvalResult)
  | { type: "checkpoint"; step: number; store: string }
  | ({ type: "run"; step: number } & Omit<RunSummary, "lastMetrics" | "lastEval">);

export type MetricsSink = (record: MetricsRecord) => void | Promise<void>;
