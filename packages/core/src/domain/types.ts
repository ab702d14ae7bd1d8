/**
 * The contract of a domain: where its tasks come from, how a prompt is written, how a response is graded.
 * Every sample, metric and eval row carries its domain name (domain is a first-class key).
 */
import type { JSONSchema } from "../plugin/schema.ts";

/** Outcome class of one verification. A reward is never a silent 0: `status` says why. */
export type VerificationStatus = "correct" | "incorrect" | "unparsable" | "timeout" | "error";

export const VERIFICATION_STATUSES: readonly VerificationStatus[] = [
  "correct",
  "incorrect",
  "unparsable",
  "timeout",
  "error",
];

/** Result of grading one response. */
export interface Verification {
  /** Reward in [0, 1]. */
  reward: number;
  status: VerificationStatus;
  /** The answer the verifier extracted from the response, if any. */
  extracted?: string;
  /** Human-readable explanation (which test failed, which instruction was not followed, ...). */
  detail?: string;
}

/** Named arguments, no order trap (a response and a ground truth cannot be swapped by position). */
export interface VerifyInput<G = unknown> {
  response: string;
  groundTruth: G;
  /** The task the response answers, when the caller has it (some verifiers need its metadata). */
  task?: Task<G>;
  /**
   * Aborted when the caller no longer wants the answer (e.g. the reward server's request deadline passed). A
   * verifier that runs external work (a sandboxed program) stops it and returns promptly; any result is ignored.
   */
  signal?: AbortSignal;
}

export type Split = "train" | "eval";

/** One problem of a domain. */
export interface Task<G = unknown> {
  /** Stable id, unique within the domain and split. */
  id: string;
  domain: string;
  /** The text given to the policy (already templated, ready to tokenise). */
  prompt: string;
  groundTruth: G;
  /** A reference answer for supervised warm-up (SFT), when the source has one. */
  reference?: string;
  /** Free-form metadata (difficulty, source dataset, ...). */
  meta?: Record<string, unknown>;
}

export interface TaskQuery {
  split: Split;
  seed: number;
  /** Number of tasks wanted; sources with fixed data return at most this many. */
  count?: number;
}

/** A ready domain instance (created from a DomainFactory with validated options). */
export interface Domain<G = unknown> {
  readonly name: string;
  /** Tasks of a split. Deterministic for a given query. */
  tasks(query: TaskQuery): Promise<Task<G>[]>;
  /** Grades a response. Must not throw for bad model output: return status `unparsable` / `error` instead. */
  verify(input: VerifyInput<G>): Promise<Verification>;
  /** Releases resources (sandbox pools, worker threads). */
  close?(): Promise<void>;
}

/** What a domain plugin registers: a named factory with the JSON Schema of its options. */
export interface DomainFactory<O = Record<string, unknown>, G = unknown> {
  name: string;
  description?: string;
  /** JSON Schema of `options` (validated by the host with ajv before `create` is called). */
  optionsSchema?: JSONSchema;
  create(options: O, context: DomainContext): Domain<G> | Promise<Domain<G>>;
}

/** What the host hands a domain when it is created. */
export interface DomainContext {
  /** Base directory that relative data paths in options resolve against (the experiment file's folder). */
  baseDir?: string;
  /** Reads a data file (JSONL, Parquet) as bytes; provided by the host (Node fs in the CLI). */
  readFile?(path: string): Promise<Uint8Array>;
}
