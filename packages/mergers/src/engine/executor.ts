/**
 * Runs one tensor's work: read the inputs (one tensor each), merge, measure, encode. The same code runs inline and
 * inside worker threads.
 */
import {
  type Checkpoint,
  DTYPE_SIZE,
  decodeFloat32,
  encodeFloat32,
  type FloatDType,
  numel,
} from "@m2rl/core/checkpoint";
import { CheckpointError } from "@m2rl/core/errors";
import type { MergeMethod, TensorMergeInput } from "@m2rl/core/merge";
import { openCheckpoint } from "@m2rl/io-node";
import { scratchBytes } from "../methods/common.ts";
import { kernels } from "../methods/kernels.ts";
import { isPrefix } from "./budget.ts";
import { scanInputs } from "./finite.ts";
import { encodeBf16, mapping } from "./mapped.ts";
import type { SourceRef, TensorPlan } from "./plan.ts";
import { permuteRows, type RowSource } from "./vocab.ts";

/** Per-tensor update statistics (DESIGN §8): density of each task vector and sign agreement among them. */
export interface TensorUpdateStats {
  /** Fraction of entries with tau_i != 0, per model. */
  density: number[];
  /** Among entries changed by at least two models, the fraction where all changes share one sign (NaN if none). */
  signAgreement: number;
}

export interface MergeResult {
  id: number;
  bytes: Uint8Array;
  /** Raw update counts of this tensor or chunk (see updateCounts), when measured. */
  counts?: Float64Array;
  /** Inline runs: the reusable buffer `bytes` views; hand it back with `release` once the bytes are written. */
  pooled?: ArrayBuffer;
  /** With allowNonFinite: the first non-finite input value of this tensor or chunk, as a warning. */
  warning?: string;
  /** From a worker thread: its id and the bytes its executor held after this merge (memory accounting). */
  thread?: number;
  held?: number;
}

/** Where a tensor's bytes are, for messages: the checkpoint's file (a shard of a folder, or the file itself). */
function fileOf(ck: Checkpoint, name: string): string {
  const f = ck.tensor(name).file;
  return ck.name === f || ck.name.endsWith(`/${f}`) ? ck.name : `${ck.name}/${f}`;
}

/** The hint every non-finite error ends with. */
export const NONFINITE_HINT = "(merge with --allow-nonfinite / allowNonFinite to keep it)";

/** Result buffers kept for reuse, at most. */
const POOL_SIZE = 8;

/**
 * Update counts over some entries (a tensor or a chunk of one): [changed entries per model..., entries changed by at
 * least two models, of those the entries where all changes share one sign, entries]. Counts of chunks add up.
 */
export function updateCounts(base: Float32Array, models: readonly Float32Array[]): Float64Array {
  const m = models.length;
  const out = new Float64Array(m + 3);
  kernels.updateStats(base, models, out.subarray(0, m + 2));
  out[m + 2] = base.length;
  return out;
}

/** Density of each task vector and sign agreement among them, from update counts. */
export function statsFromCounts(c: Float64Array): TensorUpdateStats {
  const m = c.length - 3;
  const n = c[m + 2];
  return {
    density: Array.from(c.subarray(0, m), (z) => (n ? z / n : 0)),
    signAgreement: c[m] ? c[m + 1] / c[m] : Number.NaN,
  };
}

/** Density of each task vector and sign agreement among them (one pass, native when built). */
export function updateStats(base: Float32Array, models: readonly Float32Array[]): TensorUpdateStats {
  return statsFromCounts(updateCounts(base, models));
}

function submatrix(x: Float32Array, shape: number[], [rows, cols]: [number, number]): Float32Array {
  const out = new Float32Array(rows * cols);
  const srcCols = shape[1];
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * srcCols, r * srcCols + cols), r * cols);
  return out;
}

export class TensorExecutor {
  private base?: Checkpoint;
  private models: Checkpoint[] = [];
  private opening: Promise<void> | undefined;

  /**
   * `poolMaxElements` > 0: results of up to that many elements get a reusable output buffer (`input.out`) and F32
   * results leave as views of it, to be given back with `release` (inline runs: the chunk size, so a larger whole
   * tensor's buffer is not kept; 0 in workers, whose results are transferred away instead).
   */
  constructor(
    private readonly method: MergeMethod,
    private readonly basePath: string | undefined,
    private readonly modelPaths: readonly string[],
    private readonly seed: number,
    private readonly poolMaxElements = 0,
    /** Accept NaN / ±Inf inputs (reported through the result's `warning`) instead of failing on the first one. */
    private readonly allowNonFinite = false,
  ) {}

  private outPool: ArrayBuffer[] = [];
  /** Bytes of pooled output buffers lent to results not yet released. */
  private lent = 0;
  /** Bytes of raw (16-bit) input being read and decoded right now. */
  private reading = 0;
  /** Memory-mapped input files (see mapped.ts), by path; undefined where a file could not be mapped. */
  private maps = new Map<string, ArrayBuffer | undefined>();
  /** Bytes of mapped input ranges the merge still holds. */
  private mappedBytes = 0;

  private takeOut(n: number): Float32Array | undefined {
    if (n > this.poolMaxElements || n === 0) return undefined;
    return new Float32Array(this.takeBytes(n * 4), 0, n);
  }

  /** A pooled buffer of at least `bytes` bytes (given back with giveBack). */
  private takeBytes(bytes: number): ArrayBuffer {
    const i = this.outPool.findIndex((b) => b.byteLength >= bytes);
    const buf = i >= 0 ? this.outPool.splice(i, 1)[0] : new ArrayBuffer(bytes);
    this.lent += buf.byteLength;
    return buf;
  }

  private giveBack(buf: ArrayBuffer): void {
    this.lent -= buf.byteLength;
    if (this.outPool.length < POOL_SIZE) this.outPool.push(buf);
  }

  /**
   * Bytes this executor holds now (the engine's memory accounting): input buffers, raw reads in progress, pooled
   * and lent output buffers, and the merge methods' scratch of this thread.
   */
  heldBytes(): number {
    let b = this.lent + this.reading + this.mappedBytes + scratchBytes();
    for (const x of this.buffers) if (x) b += x.byteLength;
    for (const x of this.outPool) b += x.byteLength;
    return b;
  }

  /** Gives a result's pooled buffer back once its bytes are written. */
  release(r: MergeResult): void {
    if (r.pooled) this.giveBack(r.pooled);
  }

  private open(): Promise<void> {
    this.opening ??= (async () => {
      if (this.basePath) this.base = await openCheckpoint(this.basePath);
      for (const p of this.modelPaths) this.models.push(await openCheckpoint(p));
    })();
    return this.opening;
  }

  /**
   * Reused input buffers, two sets (double buffering): set s uses slots s*(models+1) + (0 = base, 1.. = models).
   * While one tensor is being merged, the next one's inputs are read into the other set.
   */
  private buffers: Float32Array[] = [];
  /** Settles when every load started so far has (loads run concurrently, each once its buffer set is free). */
  private loadQueue: Promise<unknown> = Promise.resolve();
  private computeQueue: Promise<unknown> = Promise.resolve();
  private setFree: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
  private calls = 0;

  /** Runs `f` alone: after every pending load and merge, before any later one (uses buffer set 0). */
  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = Promise.all([this.loadQueue, this.computeQueue]).then(f, f);
    const settled = run.then(
      () => {},
      () => {},
    );
    this.loadQueue = settled;
    this.computeQueue = settled;
    this.setFree = [settled, settled];
    return run;
  }

  /** Where `src` is read from: model path `src.checkpoint` when set (sliced merges), else `fallback`. */
  private checkpointOf(src: SourceRef, fallback: Checkpoint | undefined): Checkpoint | undefined {
    return src.checkpoint !== undefined ? this.models[src.checkpoint] : fallback;
  }

  private buffer(slot: number, n: number): Float32Array {
    let b = this.buffers[slot];
    if (!b || b.length < n) {
      b = new Float32Array(n);
      this.buffers[slot] = b;
    }
    return b.subarray(0, n);
  }

  /** The mapped file that holds tensor `name` of `ck`, or undefined (no mapping: read() instead). */
  private mapOf(ck: Checkpoint, name: string): ArrayBuffer | undefined {
    if (!mapping) return undefined;
    const path = fileOf(ck, name);
    if (!this.maps.has(path)) this.maps.set(path, mapping.mapFile(path));
    return this.maps.get(path);
  }

  /**
   * Reads a 16-bit (or F64) `src` (elements from `start`, `n` of them) through its memory-mapped file: its pages
   * mapped in on libuv's pool, decoded from there into the slot's buffer, then dropped from the process. No raw
   * buffer per read (fresh ones cost page faults and garbage: ~30% of a BF16 merge's CPU). Float32 inputs are read
   * with read() into the reused buffers instead: on float32 files that measured faster than views of the mapping
   * (its page faults and the page drops cost more than read()'s copy). Undefined when the file is not mapped.
   */
  private async readMapped(
    ck: Checkpoint,
    src: SourceRef,
    slot: number,
    start: number,
    n: number,
  ): Promise<Float32Array | undefined> {
    if (src.dtype === "F32") return undefined;
    const map = this.mapOf(ck, src.name);
    if (!map) return undefined;
    const t = ck.tensor(src.name);
    const size = DTYPE_SIZE[src.dtype];
    const offset = t.offset + start * size;
    const bytes = n * size;
    if (offset + bytes > map.byteLength) return undefined;
    this.mappedBytes += bytes;
    try {
      await mapping!.populate(map, offset, bytes);
      return decodeFloat32(src.dtype as FloatDType, new Uint8Array(map, offset, bytes), this.buffer(slot, n));
    } finally {
      mapping!.release(map, offset, bytes);
      this.mappedBytes -= bytes;
    }
  }

  private async read(
    ck: Checkpoint,
    src: SourceRef,
    slot: number,
    range: TensorPlan["range"],
    /** The tensor's inputs (plan order), whose rows a row-mapped source's fills read. */
    inputs: readonly RowSource[] = [],
  ): Promise<Float32Array> {
    // (slot already includes the buffer set)
    if (src.rows) return permuteRows({ ck, src }, inputs, range, (n) => this.buffer(slot, n));
    // a submatrix of whole rows (a resized vocabulary) is the stored tensor's first rows: read by ranges
    if (src.submatrix && !isPrefix(src))
      return submatrix(await ck.readFloat32(src.name), src.shape, src.submatrix);
    const n = range ? range.count : numel(src.submatrix ?? src.shape);
    const mapped = await this.readMapped(ck, src, slot, range?.start ?? 0, n);
    if (mapped) return mapped;
    const raw = src.dtype === "F32" ? 0 : n * DTYPE_SIZE[src.dtype];
    this.reading += raw;
    try {
      return await ck.readFloat32(
        src.name,
        range ?? (src.submatrix ? { start: 0, count: n } : undefined),
        this.buffer(slot, n),
      );
    } finally {
      this.reading -= raw;
    }
  }

  /** Reads a tensor's inputs (loadUnchecked) and checks them at once. */
  private async load(
    plan: TensorPlan,
    stats?: unknown,
    set = 0,
    onWarning?: (w: string) => void,
  ): Promise<TensorMergeInput> {
    const [input, check] = await this.loadUnchecked(plan, stats, set, onWarning);
    check();
    return input;
  }

  /**
   * Reads a tensor's inputs into buffer set `set`; the check of the values (NaN / ±Inf, and the update counts when
   * `counts` is given) is returned to run later, so that a merge checks its inputs in its compute step while the
   * next tensor's reads are already under way.
   */
  private async loadUnchecked(
    plan: TensorPlan,
    stats: unknown,
    set: number,
    onWarning?: (w: string) => void,
    /** When given (models + 3 entries) and there is a base: the update counts (see updateCounts) are written here. */
    counts?: Float64Array,
  ): Promise<[TensorMergeInput, () => void]> {
    await this.open();
    const o = set * (plan.models.length + 1);
    const baseCk = plan.base && this.checkpointOf(plan.base, this.base);
    const modelCks = plan.models.map((src, i) => this.checkpointOf(src, this.models[i])!);
    const rowInputs = [
      ...(plan.base && baseCk ? [{ ck: baseCk, src: plan.base }] : []),
      ...plan.models.map((src, i) => ({ ck: modelCks[i], src })),
    ];
    // all inputs of this tensor are read concurrently (the file system's thread pool overlaps them)
    const [base, ...models] = await Promise.all([
      plan.base && baseCk ? this.read(baseCk, plan.base, o, plan.range, rowInputs) : undefined,
      ...plan.models.map((src, i) => this.read(modelCks[i], src, o + i + 1, plan.range, rowInputs)),
    ]);
    const inputs: [Float32Array, Checkpoint, SourceRef][] = models.map((x, i) => [
      x as Float32Array,
      modelCks[i],
      plan.models[i],
    ]);
    if (base) inputs.unshift([base, baseCk!, plan.base!]);
    const input: TensorMergeInput = {
      name: plan.name,
      shape: plan.shape,
      base,
      models: models as Float32Array[],
      params: plan.params,
      seed: this.seed,
      stats,
      offset: plan.range?.start ?? 0,
    };
    return [input, () => this.check(plan, inputs, counts, onWarning)];
  }

  /**
   * Every input chunk is checked for NaN / ±Inf before the method sees it, in the pass that counts the updates: a
   * CheckpointError naming the file, the tensor and the flat index, or with allowNonFinite a warning.
   */
  private check(
    plan: TensorPlan,
    inputs: readonly [Float32Array, Checkpoint, SourceRef][],
    counts: Float64Array | undefined,
    onWarning?: (w: string) => void,
  ): void {
    const base = plan.base && inputs.length > plan.models.length ? inputs[0][0] : undefined;
    const m = plan.models.length;
    const count = counts && base ? counts : undefined;
    const bad = scanInputs(
      inputs.map(([x]) => x),
      count?.subarray(0, m + 2),
    );
    if (count) count[m + 2] = base!.length;
    if (bad) {
      const [x, ck, src] = inputs[bad.which];
      // the index in the stored tensor, where the user will look for it
      const cols = src.submatrix && !isPrefix(src) ? src.submatrix[1] : undefined;
      const at = cols
        ? Math.floor(bad.index / cols) * src.shape[1] + (bad.index % cols)
        : (plan.range?.start ?? 0) + bad.index;
      const what = `non-finite input value ${x[bad.index]} at flat index ${at}`;
      if (!this.allowNonFinite)
        throw new CheckpointError(`${what} ${NONFINITE_HINT}`, {
          file: fileOf(ck, src.name),
          path: src.name,
        });
      onWarning?.(`${plan.name}: ${what} in ${fileOf(ck, src.name)} (${src.name}; kept: allowNonFinite)`);
    }
  }

  /**
   * Decoded inputs of a merge tensor, as the method sees them. They live in buffers this executor reuses: valid
   * until its next call.
   */
  input(plan: TensorPlan, stats?: unknown, onWarning?: (w: string) => void): Promise<TensorMergeInput> {
    return this.exclusive(() => this.load(plan, stats, 0, onWarning));
  }

  /**
   * Merges one tensor. Calls may overlap: merges run one at a time in call order, and the inputs of the next call
   * are read while the current one computes (two buffer sets). A load waits only for its buffer set (not for the
   * previous load, which it may overlap: measured ~15% faster on the 200 MB benchmark, where the reads of 1 MB
   * tensors are the bottleneck).
   */
  merge(plan: TensorPlan, stats: unknown, measure: boolean): Promise<MergeResult> {
    const set = this.calls++ % 2;
    const free = this.setFree[set];
    let warning: string | undefined;
    // update counts, measured while the inputs are checked (one pass over them)
    const counts = measure && plan.base ? new Float64Array(plan.models.length + 3) : undefined;
    const loaded = free.then(async () => {
      return plan.kind === "copy"
        ? undefined
        : this.loadUnchecked(
            plan,
            stats,
            set,
            (w) => {
              warning ??= w;
            },
            counts,
          );
    });
    this.loadQueue = Promise.allSettled([this.loadQueue, loaded]);
    const result = this.computeQueue.then(async (): Promise<MergeResult> => {
      await this.open();
      if (plan.kind === "copy") {
        const src = plan.base ?? plan.models[0];
        const ck = this.checkpointOf(src, this.base ?? this.models[0])!;
        // (a chunk of a large one when split: its element range)
        const raw = await ck.readRaw(src.name, plan.range);
        // a worker transfers the whole ArrayBuffer: it must hold exactly these bytes
        const whole = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength;
        return { id: plan.id, bytes: whole ? raw : raw.slice() };
      }
      const [loadedInput, check] = (await loaded)!;
      check();
      const out = this.takeOut(loadedInput.models[0].length);
      const input = out ? { ...loadedInput, out } : loadedInput;
      let merged = this.method.mergeTensor(input);
      // a result that aliases an input buffer (a pass-through method) must not leave with it
      if (this.buffers.some((b) => b.buffer === merged.buffer)) merged = merged.slice();
      const measured = input.base ? counts : undefined;
      if (out && plan.outDtype === "BF16" && encodeBf16 && merged.length > 0) {
        // encoded into a pooled buffer too (a fresh one per result would cost page faults and garbage)
        const buf = this.takeBytes(merged.length * 2);
        encodeBf16(merged, new Uint16Array(buf, 0, merged.length));
        this.giveBack(out.buffer as ArrayBuffer);
        const bytes = new Uint8Array(buf, 0, merged.length * 2);
        return { id: plan.id, bytes, counts: measured, pooled: buf, warning };
      }
      let bytes = encodeFloat32(plan.outDtype as FloatDType, merged);
      if (out) {
        // F32 output is a view of the pooled buffer until written; otherwise the buffer is free again now
        const pooled = bytes.buffer === out.buffer ? (out.buffer as ArrayBuffer) : undefined;
        if (!pooled) this.giveBack(out.buffer as ArrayBuffer);
        return { id: plan.id, bytes, counts: measured, pooled, warning };
      }
      // a worker transfers the whole ArrayBuffer: it must hold exactly these bytes
      if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
      return { id: plan.id, bytes, counts: measured, warning };
    });
    const settled = result.then(
      () => {},
      () => {},
    );
    this.computeQueue = settled;
    this.setFree[set] = settled;
    return result;
  }

  /** Accumulates the method's whole-model pre-pass (or its per-tensor statistics) over some tensors or chunks. */
  accumulate(
    plans: readonly TensorPlan[],
    pass: number,
    previous: unknown,
    kind: "global" | "tensor" = "global",
  ): Promise<unknown> {
    return this.exclusive(async () => {
      const g = (kind === "tensor" ? this.method.tensorStats : this.method.globalStats)!;
      const acc = g.create(pass, previous, this.modelPaths.length);
      for (const p of plans) if (p.kind === "merge") g.accumulate(acc, await this.load(p), pass, previous);
      return acc;
    });
  }

  async close(): Promise<void> {
    this.maps.clear();
    await this.opening?.catch(() => {});
    await this.base?.close();
    for (const m of this.models) await m.close();
  }
}
