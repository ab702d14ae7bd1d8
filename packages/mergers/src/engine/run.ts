/**
 * The streaming merge: pre-pass (when the method has one), then one tensor at a time per worker, results written
 * in order into sharded safetensors inside a temp folder that is renamed into place only when complete.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { CheckpointWriter, numel, planShards, shardFileName, type TensorSpec } from "@m2rl/core/checkpoint";
import { CheckpointError } from "@m2rl/core/errors";
import type { MergeGlobalStats, ResolvedMergeParams } from "@m2rl/core/merge";
import { atomicDirectory, NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import { METHODS } from "../methods/index.ts";
import { kernelInfo } from "../methods/kernels.ts";
import {
  DEFAULT_CHUNK_ELEMENTS,
  DEFAULT_MEMORY_BUDGET,
  type MemoryPlan,
  memoryPlan,
  mergeUnits,
  mergeWindow,
} from "./budget.ts";
import {
  type MergeResult,
  NONFINITE_HINT,
  statsFromCounts,
  TensorExecutor,
  type TensorUpdateStats,
  updateCounts,
} from "./executor.ts";
import { firstNonFiniteStored } from "./finite.ts";
import { checkOutputConfig, readConfigJson } from "./output-config.ts";
import type { MergePlan, TensorPlan } from "./plan.ts";

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
   * on linear / task_arithmetic with 2 cores), else min(4, cores). A method not built in runs in workers only
   * when `plugins` names the modules that register it; without them it runs inline (the report says 0 workers).
   */
  workers?: number;
  /**
   * Plugin modules that register the plan's method when it is not built in: absolute file URLs (or package names
   * resolvable from this package). Each worker thread imports them, applies their plugins to a host with the
   * built-in methods and looks the method up by name (a clear error when it is not there). Inline runs use
   * `plan.method` itself and ignore this.
   */
  plugins?: readonly string[];
  overwrite?: boolean;
  /** Measure per-tensor update density and sign agreement (default true). */
  measure?: boolean;
  /**
   * fsync every output file and folder before the output appears (default true). False skips the fsyncs (the
   * reference merger and mergekit do not sync): the output folder still appears only when complete, and a killed
   * process leaves nothing behind, but after an operating-system crash or power loss it may hold files with missing
   * data. Measured cost at 200 MB: ~10–25% of a linear merge.
   */
  durable?: boolean;
  /**
   * The most bytes the engine's buffers may hold at once (default DEFAULT_MEMORY_BUDGET, 512 MB): input buffers,
   * the methods' scratch, results waiting to be written, for every worker (see budget.ts). Pre-flight derives the
   * chunk size from it, the number of inputs and of workers, and refuses, before reading any weight, a tensor that
   * cannot fit (a method that is not chunkable and a tensor too large for it): a ConfigError naming the tensor,
   * the bytes needed and the budget. The report says what was planned and used (`memory`).
   */
  memoryBudget?: number;
  /**
   * Largest chunk: tensors with more elements are merged in chunks when the method allows it
   * (MergeMethod.chunkable; row-aligned methods in chunks of whole rows), so memory stays bounded whatever a
   * tensor's size. A multiple of RANDOM_BLOCK; default DEFAULT_CHUNK_ELEMENTS (2^21: 8 MB of float32 per input).
   * The memory budget may make chunks smaller.
   */
  chunkElements?: number;
  /**
   * Accept NaN / ±Inf weights (default false). Every input chunk is checked as it is read and every output chunk
   * before it is written; by default the first non-finite value fails the merge (a CheckpointError naming the file,
   * the tensor and the flat index) and no output appears. With true the values are merged as they are and each
   * tensor that holds one gets one warning (`onWarning`, and the report's warnings).
   */
  allowNonFinite?: boolean;
  /** Warnings found while merging (non-finite values with allowNonFinite), as they happen. */
  onWarning?: (warning: string) => void;
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
  /** Which element-wise kernels ran: the native SIMD ones or the TypeScript loops (see kernelInfo). */
  kernels: "native" | "js";
  warnings: string[];
  /** Per tensor: update density per model and sign agreement (when there is a base). */
  updates: { name: string; density: number[]; signAgreement: number }[];
  /** Memory: the budget, the chunk size it gave, and the peaks planned and seen. */
  memory: MergeMemory;
}

export interface MergeMemory {
  /** RunOptions.memoryBudget (bytes). */
  budgetBytes: number;
  /** Elements per chunk of a split tensor. */
  chunkElements: number;
  /** Pre-flight's plan: the most the engine's buffers hold, for its largest unit (`largestUnit`). */
  plannedPeakBytes: number;
  largestUnit: string;
  /**
   * The most the engine's buffers held at once, as counted while merging: input buffers and reads in progress, the
   * methods' scratch and output buffers (per worker thread), results waiting to be written.
   */
  accountedPeakBytes: number;
  /** Peak resident memory of the whole process so far (process.resourceUsage().maxRSS). */
  rssPeakBytes: number;
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

export {
  bytesPerElement,
  DEFAULT_CHUNK_ELEMENTS,
  DEFAULT_MEMORY_BUDGET,
  formatBytes,
  type MemoryPlan,
  memoryPlan,
  mergeUnits,
} from "./budget.ts";

/** Whether `u` is the last unit of its tensor. */
const lastOfTensor = (u: TensorPlan) => !u.range || u.range.start + u.range.count === numel(u.shape);

type StatsKind = "global" | "tensor";

interface Executor {
  merge(plan: TensorPlan, stats: unknown): Promise<MergeResult>;
  /** Called once a result's bytes are written (inline: its buffer is reused). */
  release(r: MergeResult): void;
  accumulate(plans: TensorPlan[], pass: number, previous: unknown, kind?: StatsKind): Promise<unknown>;
  close(): Promise<void>;
  size: number;
  /** Bytes the executors' buffers hold now (worker threads: as each last reported with a result). */
  held(): number;
}

/** How many worker threads run `plan`'s method: 0 (inline) for a method not built in without plugin modules. */
export function workerCount(plan: MergePlan, workers: number, plugins: readonly string[]): number {
  const builtin = METHODS.get(plan.method.name) === plan.method;
  return builtin || plugins.length > 0 ? workers : 0;
}

async function makeExecutor(
  plan: MergePlan,
  workers: number,
  measure: boolean,
  chunkElements: number,
  plugins: readonly string[],
  allowNonFinite: boolean,
): Promise<Executor> {
  const seed = plan.config.seed;
  if (workers > 0) {
    // loaded only for worker threads (with node:worker_threads): an inline merge, the default, needs neither
    const { WorkerPool } = await import("./pool.ts");
    const builtin = METHODS.get(plan.method.name) === plan.method;
    const pool = new WorkerPool(workers, {
      method: plan.method.name,
      basePath: plan.basePath,
      modelPaths: plan.modelPaths,
      seed,
      measure,
      allowNonFinite,
      // a built-in method is the workers' own: no plugin module is imported for it
      plugins: builtin ? [] : [...plugins],
    });
    // each worker reports what its executor holds with every result
    const heldBy = new Map<number, number>();
    return {
      size: workers,
      merge: async (p, stats) => {
        const r = await pool.run<MergeResult>({ kind: "merge", plan: p, stats });
        if (r.thread !== undefined) heldBy.set(r.thread, r.held ?? 0);
        return r;
      },
      held: () => {
        let b = 0;
        for (const x of heldBy.values()) b += x;
        return b;
      },
      release: () => {},
      accumulate: (plans, pass, previous, stats = "global") =>
        pool.run({ kind: "accumulate", plans, pass, previous, stats }),
      close: () => pool.close(),
    };
  }
  // inline: result buffers of up to one chunk are reused
  const ex = new TensorExecutor(
    plan.method,
    plan.basePath,
    plan.modelPaths,
    seed,
    chunkElements,
    allowNonFinite,
  );
  return {
    size: 1,
    held: () => ex.heldBytes(),
    merge: (p, stats) => ex.merge(p, stats, measure),
    release: (r) => ex.release(r),
    accumulate: (plans, pass, previous, stats = "global") => ex.accumulate(plans, pass, previous, stats),
    close: () => ex.close(),
  };
}

/** See RunOptions.workers. */
export function defaultWorkers(): number {
  return kernelInfo.name === "native" ? 0 : Math.min(4, availableParallelism());
}

/**
 * Runs a statistics protocol over `units` (the method's whole-model pre-pass, or its per-tensor statistics over
 * one tensor's chunks): per pass, contiguous batches of about 64 MB of input spread over the workers (as many at a
 * time as there are workers), their accumulators combined in order as they complete, so that only a few are alive
 * at once whatever the model's size.
 */
async function runStats(
  g: MergeGlobalStats,
  kind: StatsKind,
  units: readonly TensorPlan[],
  ex: Executor,
  modelCount: number,
  onBytes: (done: number, total: number) => void = () => {},
): Promise<unknown> {
  const merged = units.filter((t) => t.kind === "merge");
  const passes = passCount(g, merged[0]?.params);
  const total = merged.reduce((s, t) => s + t.inputBytes, 0) * passes;
  let done = 0;
  let previous: unknown;
  for (let pass = 0; pass < passes; pass++) {
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
    const running: Promise<unknown>[] = [];
    let acc: unknown;
    let folded = 0;
    const prev = previous;
    for (let b = 0; b < batches.length || running.length > 0; ) {
      while (b < batches.length && running.length < Math.max(1, ex.size)) {
        const batch = batches[b++];
        const p = ex.accumulate(batch, pass, prev, kind).then((a) => {
          done += batch.reduce((s, t) => s + t.inputBytes, 0);
          onBytes(done, total);
          return a;
        });
        p.catch(() => {}); // awaited below, in order
        running.push(p);
      }
      const a = await running.shift()!;
      acc = folded++ === 0 ? a : g.combine(acc, a);
    }
    previous = g.finish(folded > 0 ? acc : g.create(pass, previous, modelCount), pass, previous);
  }
  return previous;
}

/** How many passes a statistics protocol needs under these parameters. */
function passCount(g: MergeGlobalStats, params: ResolvedMergeParams | undefined): number {
  return typeof g.passes === "number" ? g.passes : params ? g.passes(params) : 0;
}

/** Runs a planned merge into `options.outDir` atomically. */
export async function runMerge(plan: MergePlan, options: RunOptions): Promise<MergeReport> {
  const t0 = performance.now();
  const measure = options.measure ?? true;
  const durable = options.durable ?? true;
  const plugins = options.plugins ?? [];
  const workers = workerCount(plan, Math.max(0, options.workers ?? defaultWorkers()), plugins);
  // pre-flight, from the headers: the chunk size the budget allows, or a refusal before any weight is read
  const mem = memoryPlan(plan, {
    budget: options.memoryBudget ?? DEFAULT_MEMORY_BUDGET,
    workers,
    maxChunk: options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS,
  });
  const chunkElements = mem.chunkElements;
  let accountedPeak = 0;
  const progress = options.onProgress ?? (() => {});
  const allowNonFinite = options.allowNonFinite ?? false;
  const updates: MergeReport["updates"] = [];
  // warnings found while merging: one per tensor
  const warnings: string[] = [];
  const warned = new Set<string>();
  const warn = (tensor: string, w: string) => {
    if (warned.has(tensor)) return;
    warned.add(tensor);
    warnings.push(w);
    options.onWarning?.(w);
  };
  let files: string[] = [];
  await atomicDirectory(
    options.outDir,
    async (tmp) => {
      const ex = await makeExecutor(plan, workers, measure, chunkElements, plugins, allowNonFinite);
      try {
        const units = mem.units;
        const m = plan.modelPaths.length;
        const stats = plan.globalStats
          ? await runStats(plan.method.globalStats!, "global", units, ex, m, (bytesDone, bytesTotal) =>
              progress({
                phase: "prepass",
                tensorsDone: 0,
                tensorsTotal: plan.tensors.length,
                bytesDone,
                bytesTotal,
              }),
            )
          : undefined;
        const store = new NodeFileStore(tmp, { durable });
        const specs: TensorSpec[] = plan.tensors.map((t) => ({
          name: t.name,
          dtype: t.outDtype,
          shape: t.shape,
        }));
        const writer = await CheckpointWriter.create(store, specs, {
          maxShardBytes: plan.config.maxShardBytes,
        });
        /** The output file that holds `name` (where it will be once the output appears), for messages. */
        const outputFile = (name: string): string => {
          const shards = planShards(specs, plan.config.maxShardBytes ?? 5e9);
          const k = shards.findIndex((sh) => sh.some((t) => t.name === name));
          return join(
            options.outDir,
            shards.length === 1 ? "model.safetensors" : shardFileName(k, shards.length),
          );
        };
        // per-tensor statistics of split tensors (when the whole-model pre-pass is off), by tensor id
        const needsTensorStats = !!plan.method.tensorStats && !plan.globalStats;
        const tensorStats = new Map<number, unknown>();
        const statsFor = async (u: TensorPlan): Promise<unknown> => {
          if (!u.range || !needsTensorStats || u.kind !== "merge") return stats;
          // (not needed for this tensor: its chunks need nothing beyond themselves)
          if (!plan.method.tensorStats!.enabled(u.params, u.shape)) return stats;
          if (!tensorStats.has(u.id)) {
            const chunks = units.filter((c) => c.id === u.id);
            tensorStats.set(u.id, await runStats(plan.method.tensorStats!, "tensor", chunks, ex, m));
          }
          const s = tensorStats.get(u.id);
          if (lastOfTensor(u)) tensorStats.delete(u.id);
          return s;
        };
        const window = mergeWindow(workers);
        const pending: (Promise<MergeResult> | undefined)[] = [];
        // bytes of results merged and not yet written, outside the executors' own buffers (encoded, transferred)
        let inFlight = 0;
        const sample = () => {
          accountedPeak = Math.max(accountedPeak, ex.held() + inFlight);
        };
        const counts = new Map<number, Float64Array>();
        let scheduled = 0;
        let bytesDone = 0;
        let tensorsDone = 0;
        const total = units.length;
        try {
          for (let w = 0; w < total; w++) {
            while (scheduled < total && scheduled < w + window) {
              const u = units[scheduled];
              const p = ex.merge(u, await statsFor(u)).then((r) => {
                if (!r.pooled) inFlight += r.bytes.byteLength;
                sample();
                return r;
              });
              p.catch(() => {}); // awaited below, in order
              pending[scheduled++] = p;
            }
            const r = await pending[w]!;
            pending[w] = undefined;
            const u = units[w];
            if (r.warning) warn(u.name, r.warning);
            const bad = u.kind === "merge" ? firstNonFiniteStored(r.bytes, u.outDtype) : undefined;
            if (bad) {
              const what = `non-finite output value ${bad.value} at flat index ${(u.range?.start ?? 0) + bad.index}`;
              if (!allowNonFinite)
                throw new CheckpointError(`${what} ${NONFINITE_HINT}`, {
                  file: outputFile(u.name),
                  path: u.name,
                });
              warn(u.name, `${u.name}: ${what} (kept: allowNonFinite)`);
            }
            if (u.range) await writer.writePart(u.name, r.bytes);
            else await writer.write(u.name, r.bytes);
            if (!r.pooled) inFlight -= r.bytes.byteLength;
            ex.release(r);
            if (r.counts) {
              const c = counts.get(u.id);
              if (c) for (let i = 0; i < c.length; i++) c[i] += r.counts[i];
              else counts.set(u.id, r.counts);
            }
            bytesDone += u.inputBytes;
            if (lastOfTensor(u)) {
              tensorsDone++;
              const c = counts.get(u.id);
              if (c) updates.push({ name: u.name, ...statsFromCounts(c) });
              counts.delete(u.id);
            }
            progress({
              phase: "merge",
              tensorsDone,
              tensorsTotal: plan.tensors.length,
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
      const aux = new NodeFileStore(tmp, { durable });
      await copyAuxFiles(plan, aux);
      await checkWritten(tmp, options.outDir);
      await aux.writeText("m2rl_merge_config.yml", plan.config.text);
      const report = reportOf(
        plan,
        options,
        files,
        updates,
        workers,
        t0,
        warnings,
        memoryOf(mem, accountedPeak),
      );
      await aux.writeText("merge_report.json", `${JSON.stringify(report, null, 2)}\n`);
    },
    { overwrite: options.overwrite, durable },
  );
  return reportOf(plan, options, files, updates, workers, t0, warnings, memoryOf(mem, accountedPeak));
}

/** The report's memory section: the plan, the accounted peak, the process's peak RSS so far. */
function memoryOf(mem: MemoryPlan, accountedPeak: number): MergeMemory {
  return {
    budgetBytes: mem.budget,
    chunkElements: mem.chunkElements,
    plannedPeakBytes: mem.peakBytes,
    largestUnit: mem.largest.name,
    accountedPeakBytes: accountedPeak,
    rssPeakBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/**
 * The written output (in its temp folder `tmp`) against its config.json, as pre-flight checked the planned one:
 * its tensors as stored, its config.json as copied. Messages name the folder the output is for.
 */
async function checkWritten(tmp: string, outDir: string): Promise<void> {
  const config = await readConfigJson(join(tmp, "config.json"));
  if (!config) return;
  const ck = await openCheckpoint(tmp);
  try {
    const shapes = new Map(ck.tensors().map((t) => [t.name, t.shape] as const));
    await checkOutputConfig(config, shapes, join(outDir, "config.json"));
  } finally {
    await ck.close();
  }
}

function reportOf(
  plan: MergePlan,
  options: RunOptions,
  files: string[],
  updates: MergeReport["updates"],
  workers: number,
  t0: number,
  runWarnings: readonly string[],
  memory: MergeMemory,
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
    kernels: kernelInfo.name,
    warnings: [...plan.warnings, ...runWarnings],
    updates,
    memory,
  };
}

/** Copies config / tokenizer files into the output through `store` (so they are as durable as the weights). */
async function copyAuxFiles(plan: MergePlan, store: NodeFileStore): Promise<void> {
  const configFrom = plan.basePath ?? plan.modelPaths[0];
  const from = plan.tokenizerPath ?? configFrom;
  for (const f of AUX_FILES) {
    // a chat template chosen by chat_template goes into tokenizer_config.json; a copied .jinja would override it
    if (f === "chat_template.jinja" && plan.chatTemplate !== undefined) continue;
    const origin = f === "config.json" || f === "generation_config.json" ? configFrom : from;
    // a changed vocabulary's tokenizer files are written (a file describing the old one is left out), not copied
    const written = plan.tokenizerFiles?.[f];
    if (written !== undefined) {
      if (written !== null) await store.writeText(f, written);
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(origin, f));
    } catch {
      continue; // absent in the source folder (or the source is a single file): nothing to copy
    }
    if (f === "config.json") {
      const cfg = JSON.parse(new TextDecoder().decode(bytes));
      Object.assign(cfg, plan.configUpdates);
      if (plan.config.outDtype) cfg.torch_dtype = TORCH_DTYPE[plan.config.outDtype];
      await store.writeText(f, `${JSON.stringify(cfg, null, 2)}\n`);
    } else if (f === "tokenizer_config.json" && plan.chatTemplate !== undefined) {
      const cfg = JSON.parse(new TextDecoder().decode(bytes));
      cfg.chat_template = plan.chatTemplate;
      await store.writeText(f, `${JSON.stringify(cfg, null, 2)}\n`);
    } else {
      const sink = await store.sink(f);
      try {
        await sink.write(bytes);
      } catch (err) {
        await sink.abort();
        throw err;
      }
      await sink.commit();
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
  chunkElements = DEFAULT_CHUNK_ELEMENTS,
  options: Pick<RunOptions, "allowNonFinite" | "onWarning"> = {},
): Promise<MergeReport["updates"]> {
  const ex = new TensorExecutor(
    plan.method,
    plan.basePath,
    plan.modelPaths,
    plan.config.seed,
    0,
    options.allowNonFinite ?? false,
  );
  const warned = new Set<string>();
  const out: MergeReport["updates"] = [];
  let bytesDone = 0;
  let tensorsDone = 0;
  let sum: Float64Array | undefined;
  try {
    // the counts are element-wise: every large tensor is read in chunks, whatever the method
    for (const u of mergeUnits(plan, chunkElements, true)) {
      if (u.kind === "merge" && u.base) {
        const inp = await ex.input(u, undefined, (w) => {
          if (!warned.has(u.name)) options.onWarning?.(w);
          warned.add(u.name);
        });
        const c = updateCounts(inp.base!, inp.models);
        if (sum) for (let i = 0; i < c.length; i++) sum[i] += c[i];
        else sum = c;
      }
      bytesDone += u.inputBytes;
      if (lastOfTensor(u)) {
        tensorsDone++;
        if (sum) out.push({ name: u.name, ...statsFromCounts(sum) });
        sum = undefined;
      }
      onProgress?.({
        phase: "prepass",
        tensorsDone,
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
