/**
 * Contract of a merge method (owned by the mergers work; packages/mergers implements the methods). Core holds only
 * the types so that the plugin host can keep a registry of them and third parties can write methods as plugins.
 */
import type { JSONSchema } from "../plugin/schema.ts";

/** A merge method registered by name (mergekit's names: linear, ties, dare_ties, ...). */
export interface MergeMethodInfo {
  name: string;
  description?: string;
  /** JSON Schema of the method's parameters (global and per-model). */
  optionsSchema?: JSONSchema;
}

/** Value of a merge parameter after resolution for one tensor. */
export type MergeParamValue = number | boolean | string;

/** A parameter a merge method declares (mergekit: `parameters()` and `tensor_parameters()`). */
export interface MergeParamDef {
  name: string;
  type: "number" | "integer" | "boolean" | "string";
  /** Default when the config does not set it; a parameter without default is required. */
  default?: MergeParamValue;
  /** "model": one value per input model (weight, density); "global": one value for the merge (lambda, t). */
  scope: "model" | "global";
  /**
   * Whether the value may vary by tensor (mergekit's `filter`/`value` lists and layer gradients). When false, the
   * parameter must be a plain scalar.
   */
  perTensor: boolean;
  /** Allowed strings, for type "string". */
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  description: string;
}

/** Parameters resolved for one tensor: global values, and one record per input model (same order as models). */
export interface ResolvedMergeParams {
  global: Record<string, MergeParamValue>;
  perModel: Record<string, MergeParamValue>[];
}

/** What a per-tensor merge function receives. Input arrays are read-only; the result is a new array. */
export interface TensorMergeInput {
  /** Tensor name (e.g. `model.layers.0.mlp.up_proj.weight`): seed material for random masks, filter target. */
  name: string;
  shape: readonly number[];
  /** The base model's tensor, float32; undefined for methods that take no base. */
  base: Float32Array | undefined;
  /** The input models' tensors (base excluded), float32, all of the same length. */
  models: readonly Float32Array[];
  params: ResolvedMergeParams;
  /** Merge seed: derive per-tensor streams with `Rng.derive(seed, name)` so worker order does not matter. */
  seed: number;
  /**
   * Result of the method's whole-model pre-pass (`globalStats`), when it has one; for a tensor the engine split
   * into chunks, the result of the method's `tensorStats` over that tensor instead (when global stats are off).
   */
  stats?: unknown;
  /**
   * Index of this input's first element within the whole tensor: 0 unless the engine split the tensor into chunks
   * (see `MergeMethod.chunkable`); then `models[i].length` is the chunk's length, `shape` the whole tensor's.
   */
  offset?: number;
  /**
   * A buffer of the result's length that the method may fill and return instead of allocating (the engine reuses
   * it once the result is written: fresh large arrays cost page faults and GC). Never aliases an input. A method
   * may ignore it; one that returns it must not keep it.
   */
  out?: Float32Array;
}

/**
 * A whole-model pre-pass for methods that need global statistics (e.g. TIES trimming ranked over the whole model,
 * as the paper does). The engine runs `passes` passes over every tensor; accumulators must be combinable so that
 * worker threads can each fill one (they travel by structured clone: plain objects and typed arrays only).
 */
export interface MergeGlobalStats<A = unknown, R = unknown> {
  /**
   * Whether the pre-pass is needed under these (global) parameters; as `tensorStats`, whether a split tensor with
   * these parameters and this `shape` needs it.
   */
  enabled(params: ResolvedMergeParams, shape?: readonly number[]): boolean;
  /** Number of passes (or, from the tensor's / the merge's parameters, how many they need). */
  passes: number | ((params: ResolvedMergeParams) => number);
  /** A fresh accumulator for `pass` (0-based), given the result of the previous pass (undefined at pass 0). */
  create(pass: number, previous: R | undefined, modelCount: number): A;
  accumulate(acc: A, input: TensorMergeInput, pass: number, previous: R | undefined): void;
  combine(a: A, b: A): A;
  /** The result after `pass`; the last pass's result reaches `mergeTensor` as `input.stats`. */
  finish(acc: A, pass: number, previous: R | undefined): R;
}

/** The full merge-method contract. */
export interface MergeMethod extends MergeMethodInfo {
  description: string;
  /** Declared parameters, mergekit names. */
  parameters: readonly MergeParamDef[];
  /** Whether a base model is required (task-vector methods), optional, or ignored. */
  base: "required" | "optional" | "none";
  /** Fewest and most input models (base excluded). */
  minModels: number;
  maxModels?: number;
  /** Merges one tensor; pure: no state between calls, randomness only from `Rng.derive(seed, name)`. */
  mergeTensor(input: TensorMergeInput): Float32Array;
  /** Whole-model pre-pass (optional). */
  globalStats?: MergeGlobalStats;
  /**
   * Whether the engine may merge a large tensor as contiguous element ranges (chunks), which keeps memory bounded
   * whatever the tensor's size (embeddings of large vocabularies): true only when merging any range gives that range
   * of the whole-tensor result, given `input.offset` and `input.stats`. Default false (whole tensors).
   */
  chunkable?: boolean;
  /**
   * Row-aligned chunks, for a chunkable method that works row by row (a row: the last dimension, elements
   * [r·cols, (r+1)·cols) of the flattened tensor): true, or true for a tensor's parameters and shape, makes the
   * engine split that tensor only between rows, so that every row is whole in one chunk (per-row ranking or
   * statistics: DELLA, NuSLERP and Model Stock row-wise). `input.offset` is then a multiple of the row length
   * rather than of the random block, and a chunk holds at least one row (a row larger than the memory budget
   * allows is refused before the merge). Default false: chunks are contiguous element ranges.
   */
  rowAligned?: boolean | ((params: ResolvedMergeParams, shape: readonly number[]) => boolean);
  /**
   * Statistics a chunkable method needs over a whole tensor (e.g. per-tensor magnitude thresholds, norms and dot
   * products): for a tensor it splits, the engine first runs these passes over the tensor's chunks (same protocol
   * as `globalStats`, restricted to one tensor; iterative statistics take one pass per iteration) and hands the
   * result to every chunk as `input.stats`. Skipped when `globalStats` is enabled (its result is used), and for a
   * tensor whose parameters it is not `enabled` for (its chunks then need nothing beyond themselves, e.g. per-row
   * work on row-aligned chunks). A tensor merged whole gets no stats and computes what it needs itself: to give
   * the same bytes as the chunked merge, it should compute them the same way (sums taken block by block of
   * RANDOM_BLOCK elements, then the block sums in order, are independent of where chunks start).
   */
  tensorStats?: MergeGlobalStats;
}

/** True for a registry entry that carries the full merge contract (not only `MergeMethodInfo`). */
export function isMergeMethod(x: MergeMethodInfo): x is MergeMethod {
  const m = x as Partial<MergeMethod>;
  return typeof m.mergeTensor === "function" && Array.isArray(m.parameters);
}
