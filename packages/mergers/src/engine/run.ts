/**
 * The streaming merge: pre-pass (when the method has one), then one tensor at a time per worker, results written
 * in order into sharded safetensors inside a temp folder that is renamed into place only when complete.
 */
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { CheckpointWriter, type TensorSpec } from "@m2rl/core/checkpoint";
import { atomicDirectory, NodeFileStore } from "@m2rl/io-node";
import { METHODS } from "../methods/index.ts";
import { kernelInfo } from "../methods/kernels.ts";
import { type MergeResult, TensorExecutor, type TensorUpdateStats, updateStats } from "./executor.ts";
import type { MergePlan, TensorPlan } from "./plan.ts";
import { WorkerPool } from "./pool.ts";

export interface MergeProgress {
  phase: "prepass" | "merge";
  tensorsDone: number;
  tensorsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface RunOptions {
  outDir: string;
  /**
   * Worker threads; 0 runs inline. Default: 0 when the native merge kernels are loaded (the merge is then bound by
   * file reads and writes, which the main thread already overlaps on libuv's pool: workers measured ~1.8x slower
   * on linear / task_arithmetic with 2 cores), else min(4, cores). Methods not built in always run inline.
   */
  workers?: number;
  overwrite?: boolean;
  /** Measure per-tensor update density and sign agreement (default true). */
  measure?: boolean;
  onProgress?: (p: MergeProgress) => void;
}

export interface MergeReport {
  method: string;
  outDir: string;
  files: string[];
  tensors: number;
  inputBytes: number;
  outputBytes: number;
  seconds: number;
  workers: number;
  warnings: string[];
  /** Per tensor: update density per model and sign agreement (when there is a base). */
  updates: { name: string; density: number[]; signAgreement: number }[];
}

/** Files copied from the base (or tokenizer_source) folder into the output. */
export const AUX_FILES = [
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "vocab.json",
  "merges.txt",
  "added_tokens.json",
  "chat_template.jinja",
];

const TORCH_DTYPE: Record<string, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

interface Executor {
  merge(plan: TensorPlan, stats: unknown): Promise<MergeResult>;
  accumulate(plans: TensorPlan[], pass: number, previous: unknown): Promise<unknown>;
  close(): Promise<void>;
  size: number;
}

function makeExecutor(plan: MergePlan, workers: number, measure: boolean): Executor {
  const seed = plan.config.seed;
  if (workers > 0 && METHODS.get(plan.method.name) === plan.method) {
    const pool = new WorkerPool(workers, {
      method: plan.method.name,
      basePath: plan.basePath,
      modelPaths: plan.modelPaths,
      seed,
      measure,
    });
    return {
      size: workers,
      merge: (p, stats) => pool.run<MergeResult>({ kind: "merge", plan: p, stats }),
      accumulate: (plans, pass, previous) => pool.run({ kind: "accumulate", plans, pass, previous }),
      close: () => pool.close(),
    };
  }
  const ex = new TensorExecutor(plan.method, plan.basePath, plan.modelPaths, seed);
  return {
    size: 1,
    merge: (p, stats) => ex.merge(p, stats, measure),
    accumulate: (plans, pass, previous) => ex.accumulate(plans, pass, previous),
    close: () => ex.close(),
  };
}

/** See RunOptions.workers. */
export function defaultWorkers(): number {
  return kernelInfo.name === "native" ? 0 : Math.min(4, availableParallelism());
}

async function runPrepass(
  plan: MergePlan,
  ex: Executor,
  progress: (p: MergeProgress) => void,
): Promise<unknown> {
  const g = plan.method.globalStats!;
  const merged = plan.tensors.filter((t) => t.kind === "merge");
  const total = merged.reduce((s, t) => s + t.inputBytes, 0) * g.passes;
  let done = 0;
  let previous: unknown;
  for (let pass = 0; pass < g.passes; pass++) {
    // contiguous batches of about 64 MB of input each, spread over the workers
    const batches: TensorPlan[][] = [];
    let cur: TensorPlan[] = [];
    let bytes = 0;
    for (const t of merged) {
      cur.push(t);
      bytes += t.inputBytes;
      if (bytes >= 64e6) {
        batches.push(cur);
        cur = [];
        bytes = 0;
      }
    }
    if (cur.length) batches.push(cur);
    const accs = await Promise.all(
      batches.map(async (b) => {
        const a = await ex.accumulate(b, pass, previous);
        done += b.reduce((s, t) => s + t.inputBytes, 0);
        progress({
          phase: "prepass",
          tensorsDone: 0,
          tensorsTotal: plan.tensors.length,
          bytesDone: done,
          bytesTotal: total,
        });
        return a;
      }),
    );
    const acc = accs.length
      ? accs.reduce((a, b) => g.combine(a, b))
      : g.create(pass, previous, plan.modelPaths.length);
    previous = g.finish(acc, pass, previous);
  }
  return previous;
}

/** Runs a planned merge into `options.outDir` atomically. */
export async function runMerge(plan: MergePlan, options: RunOptions): Promise<MergeReport> {
  const t0 = performance.now();
  const measure = options.measure ?? true;
  const workers = Math.max(0, options.workers ?? defaultWorkers());
  const progress = options.onProgress ?? (() => {});
  const updates: MergeReport["updates"] = [];
  let files: string[] = [];
  await atomicDirectory(
    options.outDir,
    async (tmp) => {
      const ex = makeExecutor(plan, workers, measure);
      try {
        const stats = plan.globalStats ? await runPrepass(plan, ex, progress) : undefined;
        const store = new NodeFileStore(tmp);
        const specs: TensorSpec[] = plan.tensors.map((t) => ({
          name: t.name,
          dtype: t.outDtype,
          shape: t.shape,
        }));
        const writer = await CheckpointWriter.create(store, specs, {
          maxShardBytes: plan.config.maxShardBytes,
        });
        const window = 2 * ex.size + 1;
        const pending: (Promise<MergeResult> | undefined)[] = [];
        let scheduled = 0;
        let bytesDone = 0;
        const total = plan.tensors.length;
        try {
          for (let w = 0; w < total; w++) {
            while (scheduled < total && scheduled < w + window) {
              const p = ex.merge(plan.tensors[scheduled], stats);
              p.catch(() => {}); // awaited below, in order
              pending[scheduled++] = p;
            }
            const r = await pending[w]!;
            pending[w] = undefined;
            const t = plan.tensors[w];
            await writer.write(t.name, r.bytes);
            if (r.stats) updates.push({ name: t.name, ...r.stats });
            bytesDone += t.inputBytes;
            progress({
              phase: "merge",
              tensorsDone: w + 1,
              tensorsTotal: total,
              bytesDone,
              bytesTotal: plan.inputBytes,
            });
          }
          await writer.finish();
        } catch (err) {
          await writer.abort();
          throw err;
        }
        files = [...writer.fileNames()];
      } finally {
        await ex.close();
      }
      await copyAuxFiles(plan, tmp);
      await writeFile(join(tmp, "m2rl_merge_config.yml"), plan.config.text);
      const report = reportOf(plan, options, files, updates, workers, t0);
      await writeFile(join(tmp, "merge_report.json"), `${JSON.stringify(report, null, 2)}\n`);
    },
    { overwrite: options.overwrite },
  );
  return reportOf(plan, options, files, updates, workers, t0);
}

function reportOf(
  plan: MergePlan,
  options: RunOptions,
  files: string[],
  updates: MergeReport["updates"],
  workers: number,
  t0: number,
): MergeReport {
  return {
    method: plan.method.name,
    outDir: options.outDir,
    files,
    tensors: plan.tensors.length,
    inputBytes: plan.inputBytes,
    outputBytes: plan.outputBytes,
    seconds: (performance.now() - t0) / 1000,
    workers,
    warnings: plan.warnings,
    updates,
  };
}

async function copyAuxFiles(plan: MergePlan, dir: string): Promise<void> {
  const src = plan.config.tokenizerSource;
  const from =
    src && src !== "base" ? join(plan.config.file, "..", src) : (plan.basePath ?? plan.modelPaths[0]);
  const configFrom = plan.basePath ?? plan.modelPaths[0];
  for (const f of AUX_FILES) {
    const origin = f === "config.json" || f === "generation_config.json" ? configFrom : from;
    try {
      if (f === "config.json") {
        const cfg = JSON.parse(await readFile(join(origin, f), "utf8"));
        if (plan.config.outDtype) cfg.torch_dtype = TORCH_DTYPE[plan.config.outDtype];
        await writeFile(join(dir, f), `${JSON.stringify(cfg, null, 2)}\n`);
      } else {
        await copyFile(join(origin, f), join(dir, f));
      }
    } catch {
      // absent in the source folder (or the source is a single file): nothing to copy
    }
  }
}

/** Summary of update statistics for printing: mean density per model and mean sign agreement. */
export function summarizeUpdates(updates: readonly TensorUpdateStats[]): {
  density: number[];
  signAgreement: number;
} {
  if (updates.length === 0) return { density: [], signAgreement: Number.NaN };
  const m = updates[0].density.length;
  const density = Array.from(
    { length: m },
    (_, i) => updates.reduce((s, u) => s + u.density[i], 0) / updates.length,
  );
  const sa = updates.filter((u) => !Number.isNaN(u.signAgreement));
  return {
    density,
    signAgreement: sa.length ? sa.reduce((s, u) => s + u.signAgreement, 0) / sa.length : Number.NaN,
  };
}

/**
 * Reads every tensor once (inline, one at a time) and measures the task vectors' update density and sign
 * agreement, without merging: what `m2rl merge --analyze` prints before a merge. Needs a base.
 */
export async function analyzeUpdates(
  plan: MergePlan,
  onProgress?: (p: MergeProgress) => void,
): Promise<MergeReport["updates"]> {
  const ex = new TensorExecutor(plan.method, plan.basePath, plan.modelPaths, plan.config.seed);
  const out: MergeReport["updates"] = [];
  let bytesDone = 0;
  try {
    for (const [i, t] of plan.tensors.entries()) {
      if (t.kind === "merge" && t.base) {
        const inp = await ex.input(t);
        out.push({ name: t.name, ...updateStats(inp.base!, inp.models) });
      }
      bytesDone += t.inputBytes;
      onProgress?.({
        phase: "prepass",
        tensorsDone: i + 1,
        tensorsTotal: plan.tensors.length,
        bytesDone,
        bytesTotal: plan.inputBytes,
      });
    }
  } finally {
    await ex.close();
  }
  return out;
}
