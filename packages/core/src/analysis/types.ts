/**
 * Contract of an analysis (owned by the analysis work; packages/analysis implements them). Core holds the types so
 * that the plugin host can keep a registry of them, and so that the trainer, evaluator and runner know the shapes
 * of the rows the analyses read (eval rows, metrics rows, arm costs). Additive changes only.
 */
import type { VerificationStatus } from "../domain/types.ts";
import type { JSONSchema } from "../plugin/schema.ts";
import type { Policy } from "../policy/types.ts";

export interface AnalysisInfo {
  name: string;
  description?: string;
  optionsSchema?: JSONSchema;
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs

/**
 * What an arm is, for the report's layout and for the analyses that need to know which arm is the single-domain
 * expert of a domain. Arm names follow the experiment file: `base`, `sft`, `single:<domain>`, `mix`,
 * `merge:<method>`, `mopd`; anything else is `other`.
 */
export type ArmKind = "base" | "sft" | "single" | "mix" | "merge" | "mopd" | "other";

/** Element range of a tensor in row-major order (the same shape as the checkpoint reader's). */
export interface TensorRange {
  start: number;
  count: number;
}

/**
 * Random access to a checkpoint's tensors, one range at a time. `Checkpoint` from core's checkpoint folder
 * satisfies it structurally; tests use an in-memory one. Analyses never ask for a whole model at once.
 */
export interface TensorSource {
  /** For messages (folder or file). */
  readonly name: string;
  /** Tensor names in a stable order. */
  readonly names: readonly string[];
  tensor(name: string): { shape: number[]; dtype: string };
  /** Elements of a float tensor as float32 (all of it without `range`). */
  readFloat32(name: string, range?: TensorRange): Promise<Float32Array>;
}

/** One arm handed to the analyses. Everything is optional: each analysis uses what it needs and says what is missing. */
export interface ArmInput {
  name: string;
  kind: ArmKind;
  /** The domain of a `single` arm (its expert domain). */
  domain?: string;
  /** The method of a `merge` arm. */
  method?: string;
  /** Weights, read lazily. */
  weights?: TensorSource;
  /** Loads the arm's policy (prediction analyses); called at most once per analysis, disposed after use. */
  loadPolicy?: () => Promise<Policy>;
}

/**
 * One evaluation sample (one row of eval.jsonl / eval.json). Written by the evaluator for every arm x domain x eval
 * task x sample. Required: arm, domain, taskId, sampleIndex, reward, status, responseLength, truncated.
 */
export interface EvalRow {
  arm: string;
  domain: string;
  /** Task id, unique within the domain's eval split. */
  taskId: string;
  /** 0..K-1 for Avg@K / pass@k. */
  sampleIndex: number;
  /**
   * Experiment seed of the run that produced the row (runs with `seeds: [...]` repeat the arm graph per seed).
   * Absent = one seed. Statistics resample tasks; a task's score averages its samples over every seed.
   */
  seed?: number;
  /** Verifier reward in [0, 1]. */
  reward: number;
  status: VerificationStatus;
  /** Completion length in tokens. */
  responseLength: number;
  /** True when generation stopped at the token budget (finishReason "length"). */
  truncated: boolean;
  /** The token budget (maxNewTokens) the sample was generated with. */
  maxTokens?: number;
  prompt?: string;
  response?: string;
  /** The verifier's extracted answer. */
  extracted?: string;
  /** Sum of the completion's token log-probabilities under the arm's own policy (self-discrimination). */
  logprob?: number;
  /**
   * Process-based verification, where the domain can check intermediate steps: how many steps it checked and how
   * many were right. Outcome verification is `status`/`reward`.
   */
  stepsChecked?: number;
  stepsCorrect?: number;
  /**
   * The arm judging its own response (1 = "correct", 0 = "wrong", or a probability), seeing only the final answer
   * (`outcome`) or the whole response with its reasoning (`process`).
   */
  judge?: { outcome?: number; process?: number };
  /** Anything else (seed, finishReason, detail, ...). */
  [key: string]: unknown;
}

/**
 * One row of a run's metrics.jsonl, written by the trainer after every step (afterStep hook). Only `step` is
 * required; the analyses read the keys below when present and ignore the rest.
 */
export interface MetricsRow {
  step: number;
  /** Arm this run trains (when one file holds several, or when the runner merges files). */
  arm?: string;
  /** Seconds since the run started, at the end of this step. */
  elapsedSeconds?: number;
  /** Mean reward of the step's rollouts. */
  reward?: number;
  /** Mean reward per domain for this step (domain is a first-class key). */
  rewardByDomain?: Record<string, number>;
  /** Verification status counts per domain for this step. */
  statusCounts?: Record<string, Partial<Record<VerificationStatus, number>>>;
  loss?: number;
  entropy?: number;
  kl?: number;
  lr?: number;
  /** Mean completion length (tokens) of the step's rollouts. */
  responseLength?: number;
  /** Completion tokens sampled this step. */
  tokensGenerated?: number;
  /** Tokens (prompt + completion) that went through a forward + backward pass this step. */
  tokensTrained?: number;
  /** Tokens scored without gradient this step (old / reference / teacher policies). */
  tokensScored?: number;
  [key: string]: unknown;
}

/** One periodic held-out evaluation of a training arm on one domain (a subset of the eval split). */
export interface HeldOutPoint {
  /** Optimizer steps done when it was measured. */
  step: number;
  domain: string;
  /** Avg@K on the subset, in [0, 1]. */
  avg: number;
  tasks: number;
}

/** Cost of producing one arm, when a run summary has it (else the analyses sum it from metrics rows). */
export interface ArmCost {
  arm: string;
  steps?: number;
  tokensGenerated?: number;
  tokensTrained?: number;
  tokensScored?: number;
  wallSeconds?: number;
  /** Parameter count of the policy (for FLOPs estimates). */
  parameters?: number;
  /** Arms this arm was built from (a merge: its experts), whose cost a "separate + merge" total includes. */
  builtFrom?: string[];
}

/** A prompt used by the prediction analyses. */
export interface AnalysisPrompt {
  domain: string;
  taskId: string;
  prompt: string;
}

/** Everything an analysis may read. */
export interface AnalysisContext {
  /** The reference every task vector is taken against (the SFT / base model). */
  base?: ArmInput;
  /** The arms (not including `base`). */
  arms: ArmInput[];
  evalRows?: EvalRow[];
  /** metrics.jsonl rows per arm name. */
  metrics?: Record<string, MetricsRow[]>;
  /** Held-out scores measured during training (the trainer's periodic evaluation), per arm name. */
  heldOut?: Record<string, HeldOutPoint[]>;
  costs?: ArmCost[];
  /** Eval prompts per domain for the prediction analyses. */
  prompts?: AnalysisPrompt[];
  /** Seed for every random choice (projections, sampling). */
  seed: number;
  /** Progress and notes (the CLI prints them; never required). */
  log?: (message: string) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs

export type ReportCell = string | number | boolean | null;

export interface ReportTable {
  title: string;
  columns: string[];
  rows: ReportCell[][];
  caption?: string;
  /** Detail table: shown folded (HTML <details>) after the charts. */
  collapsed?: boolean;
}

export interface ReportChart {
  title: string;
  /** A Vega-Lite (v5) specification with its data inline. */
  spec: Record<string, unknown>;
  caption?: string;
}

/**
 * The answer to one of the paper's findings: `yes` / `no` when the statistic's 95% CI lies wholly on one side of
 * the threshold, `inconclusive` when the CI crosses it, `n/a` when the run has not the data to answer (evidence
 * says why).
 */
export type Verdict = "yes" | "no" | "inconclusive" | "n/a";

/** The number that decided a verdict, with its 95% confidence interval. */
export interface FindingStatistic {
  /** What is measured, e.g. "mix − best merge, domain-average Avg@K (points)". */
  name: string;
  value: number;
  /** 95% CI [lo, hi]; absent for a statistic without sampling uncertainty (the verdict is then yes / no). */
  ci?: [number, number];
  /** The verdict is `yes` when the statistic lies on `direction`'s side of this threshold. */
  threshold: number;
  direction: "above" | "below";
}

export interface Finding {
  id: string;
  claim: string;
  verdict: Verdict;
  /** The rule that decided the verdict, in words ("yes when the CI lower bound of … > 0, no when …"). */
  rule: string;
  /** The deciding statistics (all must agree for yes / no). */
  statistics?: FindingStatistic[];
  evidence: string;
}

export interface AnalysisResult {
  analysis: string;
  /** Short headline numbers (JSON). */
  summary: Record<string, unknown>;
  tables: ReportTable[];
  charts: ReportChart[];
  findings?: Finding[];
  /** What the analysis could not do and why (missing inputs, skipped tensors). */
  notes?: string[];
  /** Full results (JSON-serialisable). */
  data?: unknown;
}

/** An analysis: validated options in, a result out. Built-ins and third-party analyses implement the same thing. */
export interface Analysis<O = Record<string, unknown>> extends AnalysisInfo {
  /** Analyses whose results this one reads (run first). */
  after?: string[];
  /** True when the context has what this analysis needs; else a sentence saying what is missing. */
  applicable?(context: AnalysisContext): true | string;
  run(
    context: AnalysisContext,
    options: O,
    previous: ReadonlyMap<string, AnalysisResult>,
  ): Promise<AnalysisResult>;
}
