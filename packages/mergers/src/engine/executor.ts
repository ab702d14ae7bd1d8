/**
 * Runs one tensor's work: read the inputs (one tensor each), merge, measure, encode. The same code runs inline and
 * inside worker threads.
 */
import { type Checkpoint, encodeFloat32, type FloatDType } from "@m2rl/core/checkpoint";
import type { MergeMethod, TensorMergeInput } from "@m2rl/core/merge";
import { openCheckpoint } from "@m2rl/io-node";
import type { SourceRef, TensorPlan } from "./plan.ts";

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
  stats?: TensorUpdateStats;
}

export function updateStats(base: Float32Array, models: readonly Float32Array[]): TensorUpdateStats {
  const n = base.length;
  const m = models.length;
  const nonzero = new Array(m).fill(0);
  let multi = 0;
  let agree = 0;
  for (let j = 0; j < n; j++) {
    let pos = 0;
    let neg = 0;
    const b = base[j];
    for (let i = 0; i < m; i++) {
      const d = models[i][j] - b;
      if (d > 0) {
        pos++;
        nonzero[i]++;
      } else if (d < 0) {
        neg++;
        nonzero[i]++;
      }
    }
    if (pos + neg >= 2) {
      multi++;
      if (pos === 0 || neg === 0) agree++;
    }
  }
  return { density: nonzero.map((c) => (n ? c / n : 0)), signAgreement: multi ? agree / multi : Number.NaN };
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

  constructor(
    private readonly method: MergeMethod,
    private readonly basePath: string | undefined,
    private readonly modelPaths: readonly string[],
    private readonly seed: number,
  ) {}

  private open(): Promise<void> {
    this.opening ??= (async () => {
      if (this.basePath) this.base = await openCheckpoint(this.basePath);
      for (const p of this.modelPaths) this.models.push(await openCheckpoint(p));
    })();
    return this.opening;
  }

  private async read(ck: Checkpoint, src: SourceRef): Promise<Float32Array> {
    const x = await ck.readFloat32(src.name);
    return src.submatrix ? submatrix(x, src.shape, src.submatrix) : x;
  }

  /** Decoded inputs of a merge tensor, as the method sees them. */
  async input(plan: TensorPlan, stats?: unknown): Promise<TensorMergeInput> {
    await this.open();
    // all inputs of this tensor are read concurrently (the file system's thread pool overlaps them)
    const [base, ...models] = await Promise.all([
      plan.base && this.base ? this.read(this.base, plan.base) : undefined,
      ...plan.models.map((src, i) => this.read(this.models[i], src)),
    ]);
    return {
      name: plan.name,
      shape: plan.shape,
      base,
      models: models as Float32Array[],
      params: plan.params,
      seed: this.seed,
      stats,
    };
  }

  async merge(plan: TensorPlan, stats: unknown, measure: boolean): Promise<MergeResult> {
    await this.open();
    if (plan.kind === "copy") {
      const ck = this.base ?? this.models[0];
      const src = plan.base ?? plan.models[0];
      return { id: plan.id, bytes: (await ck.readRaw(src.name)).slice() };
    }
    const input = await this.input(plan, stats);
    const merged = this.method.mergeTensor(input);
    const s = measure && input.base ? updateStats(input.base, input.models) : undefined;
    let bytes = encodeFloat32(plan.outDtype as FloatDType, merged);
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
    return { id: plan.id, bytes, stats: s };
  }

  /** Accumulates the method's pre-pass over some tensors. */
  async accumulate(plans: readonly TensorPlan[], pass: number, previous: unknown): Promise<unknown> {
    const g = this.method.globalStats!;
    const acc = g.create(pass, previous, this.modelPaths.length);
    for (const p of plans) if (p.kind === "merge") g.accumulate(acc, await this.input(p), pass, previous);
    return acc;
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => {});
    await this.base?.close();
    for (const m of this.models) await m.close();
  }
}
