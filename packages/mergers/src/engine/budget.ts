/**
 * The merge's memory budget (RunOptions.memoryBudget, `m2rl merge --memory-budget`): the bytes the engine's
 * buffers may hold at once. Pre-flight works it out from the headers alone (shapes, dtypes, the method's chunking
 * contract, the worker count), before any weight is read: the chunk size that fits, and the units of work
 * (whole tensors, or chunks of the tensors larger than a chunk). A tensor that cannot be split and does not fit
 * is refused there, naming the tensor, the bytes it needs and the budget.
 *
 * What is counted, per element of a unit (see bytesPerElement): the float32 input buffers (two sets: the next unit
 * is read while the current one merges), the raw bytes of 16-bit inputs while they are decoded, the methods'
 * scratch (a task vector per model and one more), and the results in flight until they are written (float32, or
 * float32 plus the encoded output). With worker threads each worker holds its own buffers and scratch.
 */
import { DTYPE_SIZE, numel } from "@m2rl/core/checkpoint";
import { ConfigError } from "@m2rl/core/errors";
import type { MergeMethod } from "@m2rl/core/merge";
import { RANDOM_BLOCK } from "../methods/common.ts";
import type { MergePlan, SourceRef, TensorPlan } from "./plan.ts";

/** Default memory budget: 512 MB (`--memory-budget 512MB`). */
export const DEFAULT_MEMORY_BUDGET = 512e6;

/**
 * Largest chunk (elements) when RunOptions.chunkElements does not say: 2^21 (8 MB of float32 per input). A roomy
 * budget does not raise it: larger chunks were not faster (the merge streams), and memory stays well under the
 * default budget (LLM-shaped BF16 checkpoints: under 300 MB peak RSS for every built-in method).
 */
export const DEFAULT_CHUNK_ELEMENTS = 1 << 21;

/** Merges scheduled ahead of the one being written (the engine's window: 2 per worker plus one). */
export function mergeWindow(workers: number): number {
  return 2 * Math.max(1, workers) + 1;
}

/** Tasks a worker thread holds at once (pool.ts: it reads the next while merging the current one). */
const WORKER_DEPTH = 2;

/** Whether `t`'s sources can be read by element ranges (no submatrix, or one that is a prefix of whole rows). */
function rangeReadable(t: TensorPlan): boolean {
  return [...(t.base ? [t.base] : []), ...t.models].every(isPrefix);
}

/** A source whose submatrix (resized vocabulary) keeps every column is its first rows: a contiguous prefix. */
export function isPrefix(src: SourceRef): boolean {
  return !src.submatrix || src.submatrix[1] === src.shape[src.shape.length - 1];
}

/** Whether the method splits tensor `t` between rows only (MergeMethod.rowAligned). */
export function rowAlignedFor(method: MergeMethod, t: TensorPlan): boolean {
  const ra = method.rowAligned;
  return typeof ra === "function" ? ra(t.params, t.shape) : ra === true;
}

/** Elements of one row of `t` (its last dimension; a scalar is one row of one). */
function rowLength(t: TensorPlan): number {
  return t.shape.length === 0 ? 1 : Math.max(1, t.shape[t.shape.length - 1]);
}

/**
 * The units the executor merges, in output order: whole tensors, or contiguous chunks of the tensors with more
 * than `chunkElements` elements: every non-float (copied) tensor; a float tensor when the method is chunkable (or
 * `always`, for element-wise measuring): chunks of `chunkElements` elements (a multiple of RANDOM_BLOCK), or of
 * whole rows, as many as fit (at least one), when the method is row-aligned for it. A chunk is its tensor's plan
 * with `range` set and its share of the input bytes.
 */
export function mergeUnits(plan: MergePlan, chunkElements: number, always = false): TensorPlan[] {
  checkChunk(chunkElements);
  const units: TensorPlan[] = [];
  for (const t of plan.tensors) {
    const n = numel(t.shape);
    let step = 0;
    if (n > chunkElements && rangeReadable(t)) {
      if (t.kind === "copy") step = chunkElements;
      else if (always) step = chunkElements;
      else if (plan.method.chunkable === true) {
        if (rowAlignedFor(plan.method, t)) {
          const cols = rowLength(t);
          step = Math.max(1, Math.floor(chunkElements / cols)) * cols;
        } else step = chunkElements;
      }
    }
    if (!(step > 0 && step < n)) {
      units.push(t);
      continue;
    }
    for (let start = 0; start < n; start += step) {
      const count = Math.min(step, n - start);
      units.push({ ...t, range: { start, count }, inputBytes: (t.inputBytes * count) / n });
    }
  }
  return units;
}

/** A chunk size must be a positive multiple of RANDOM_BLOCK (random masks are drawn by blocks). */
function checkChunk(chunkElements: number): void {
  if (!(chunkElements > 0) || chunkElements % RANDOM_BLOCK !== 0) {
    throw new ConfigError(
      `chunk size must be a positive multiple of ${RANDOM_BLOCK} elements, got ${chunkElements}`,
    );
  }
}

/**
 * Bytes the engine holds per element of a unit of tensor `t` at most (see the module comment), inline
 * (`workers` 0) or with worker threads.
 */
export function bytesPerElement(t: TensorPlan, workers: number): number {
  const window = mergeWindow(workers);
  if (t.kind === "copy") {
    // the raw bytes read and their copy, per result in flight
    const size = DTYPE_SIZE[t.outDtype];
    return (window + 1) * size + (workers > 0 ? workers * WORKER_DEPTH * 2 * size : 0);
  }
  const sources = [...(t.base ? [t.base] : []), ...t.models];
  const inputs = 2 * 4 * sources.length;
  const raw = sources.reduce((s, x) => s + (x.dtype === "F32" ? 0 : DTYPE_SIZE[x.dtype]), 0);
  const scratch = 4 * (t.models.length + 1);
  const enc = t.outDtype === "F32" ? 0 : DTYPE_SIZE[t.outDtype];
  if (workers === 0) {
    // float32 results stay in pooled buffers until written; others leave encoded and free their buffer at once
    return inputs + raw + scratch + (enc ? 4 + window * enc : window * 4);
  }
  return workers * (inputs + raw + scratch + WORKER_DEPTH * (4 + enc)) + window * (enc || 4);
}

export interface MemoryPlan {
  /** The budget (bytes). */
  budget: number;
  /** Elements per chunk of a split tensor (row-aligned tensors: whole rows, as many as fit). */
  chunkElements: number;
  /** The units of work, in output order (see mergeUnits). */
  units: TensorPlan[];
  /** The most the engine's buffers hold, planned: its largest unit's elements × bytesPerElement. */
  peakBytes: number;
  /** The unit behind peakBytes: tensor name and elements. */
  largest: { name: string; elements: number };
}

/** "123.4 MB". */
export function formatBytes(b: number): string {
  return b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`;
}

/**
 * Pre-flight: the chunk size and units for `plan` under `budget` bytes with `workers` worker threads (0: inline),
 * chunks of at most `maxChunk` elements (a multiple of RANDOM_BLOCK). Throws a ConfigError naming the tensor, the
 * bytes it needs and the budget when some unit cannot fit: a tensor the method must merge whole (not chunkable,
 * or its sources not readable by ranges), one row of a row-aligned tensor, or the smallest chunk.
 */
export function memoryPlan(
  plan: MergePlan,
  options: { budget: number; workers: number; maxChunk?: number },
): MemoryPlan {
  const { budget, workers } = options;
  const maxChunk = options.maxChunk ?? DEFAULT_CHUNK_ELEMENTS;
  checkChunk(maxChunk);
  if (!(budget > 0)) throw new ConfigError(`the memory budget must be positive, got ${budget} bytes`);
  let per = 0;
  for (const t of plan.tensors) per = Math.max(per, bytesPerElement(t, workers));
  const fit = per > 0 ? Math.floor(budget / per / RANDOM_BLOCK) * RANDOM_BLOCK : maxChunk;
  const chunkElements = Math.max(RANDOM_BLOCK, Math.min(maxChunk, fit));
  const units = mergeUnits(plan, chunkElements);
  let peakBytes = 0;
  let largest = { name: "", elements: 0 };
  for (const u of units) {
    const elements = u.range ? u.range.count : numel(u.shape);
    const need = elements * bytesPerElement(u, workers);
    if (need > peakBytes) {
      peakBytes = need;
      largest = { name: u.name, elements };
    }
    if (need <= budget) continue;
    const shape = `[${u.shape.join(", ")}]`;
    const inputs = u.models.length + (u.base ? 1 : 0);
    // (the error's path names the tensor)
    const what =
      u.kind === "merge" && plan.method.chunkable !== true
        ? `merge method '${plan.method.name}' merges whole tensors (it is not chunkable): this ${shape} tensor`
        : !rangeReadable(u)
          ? `this ${shape} tensor cannot be split (an input holds more than the merged part) and`
          : u.kind === "merge" && rowAlignedFor(plan.method, u)
            ? `${shape}, merged by whole rows: one row of ${rowLength(u)} elements`
            : `${shape}: even a chunk of ${elements} elements`;
    throw new ConfigError(
      `${what} needs ${formatBytes(need)} at once (${inputs} input${inputs === 1 ? "" : "s"}${workers > 0 ? `, ${workers} workers` : ""}), over the memory budget of ${formatBytes(budget)}: raise --memory-budget (RunOptions.memoryBudget)`,
      { path: u.name },
    );
  }
  return { budget, chunkElements, units, peakBytes, largest };
}
