/**
 * Pre-flight: reads only headers and the config (names, shapes, dtypes, method parameters, free disk) and turns
 * them into a plan, one entry per output tensor, before any tensor data is read.
 */
import { existsSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { type Checkpoint, DTYPE_SIZE, type DType, isFloatDType, numel } from "@m2rl/core/checkpoint";
import { CheckpointError, ConfigError } from "@m2rl/core/errors";
import type { MergeMethod, ResolvedMergeParams } from "@m2rl/core/merge";
import { openCheckpoint } from "@m2rl/io-node";
import { type MergeConfig, resolveParams } from "../config/mergekit.ts";
import { layerIndex } from "../methods/common.ts";
import { checkOutputConfig, readConfigJson } from "./output-config.ts";
import { planTokenizer } from "./tokenizer.ts";
import { planVocabTensor, type RowMap } from "./vocab.ts";

/** Where one input's data for an output tensor comes from. */
export interface SourceRef {
  /** Tensor name in that checkpoint (differs for a tied lm_head read from embed_tokens). */
  name: string;
  shape: number[];
  dtype: DType;
  /** Take the leading [rows, cols] submatrix (resized embeddings). */
  submatrix?: [number, number];
  /** Read row by row into the output vocabulary (tokenizer_source / tokenizer block; vocab.ts permuteRows). */
  rows?: RowMap;
  /**
   * Index in the plan's `modelPaths` of the checkpoint it is read from: set by sliced merges (plan-slices.ts), whose
   * tensors each read their own slice's sources. Absent: `base` is read from the base, `models[i]` from model i.
   */
  checkpoint?: number;
}

export interface TensorPlan {
  id: number;
  name: string;
  shape: number[];
  outDtype: DType;
  /** "merge": run the method; "copy": copy the base (or first model) raw (non-float tensors). */
  kind: "merge" | "copy";
  base?: SourceRef;
  models: SourceRef[];
  params: ResolvedMergeParams;
  /** Bytes read for this tensor (all inputs). */
  inputBytes: number;
  /** Set on a chunk of a tensor the engine split (elements [start, start + count) of the whole tensor). */
  range?: { start: number; count: number };
}

/** The tensors of a plan being built, with the bytes they read and write (one accounting for every planner). */
export class TensorList {
  readonly tensors: TensorPlan[] = [];
  inputBytes = 0;
  outputBytes = 0;

  /** Appends a tensor (its id is its position); its input bytes are the sizes of all its sources. */
  add(t: Omit<TensorPlan, "id" | "inputBytes">): void {
    const sources = [...(t.base ? [t.base] : []), ...t.models];
    const bytes = sources.reduce((sum, x) => sum + numel(x.shape) * DTYPE_SIZE[x.dtype], 0);
    this.inputBytes += bytes;
    this.outputBytes += numel(t.shape) * DTYPE_SIZE[t.outDtype];
    this.tensors.push({ ...t, id: this.tensors.length, inputBytes: bytes });
  }
}

export interface MergePlan {
  config: MergeConfig;
  method: MergeMethod;
  /** Resolved paths. */
  basePath?: string;
  modelPaths: string[];
  tensors: TensorPlan[];
  inputBytes: number;
  outputBytes: number;
  warnings: string[];
  /** Whether the method's whole-model pre-pass runs. */
  globalStats: boolean;
  /** Folder the tokenizer files are copied from (tokenizer_source, else the base or first model). */
  tokenizerPath?: string;
  /** Chat template written into the output's tokenizer_config.json (chat_template resolved). */
  chatTemplate?: string;
  /** Tokenizer files written for a changed vocabulary instead of copied (null: not copied; see TokenizerPlan). */
  tokenizerFiles?: Record<string, string | null>;
  /** Fields set in the output's config.json over the copied one (a sliced merge's layer count and per-layer lists). */
  configUpdates?: Record<string, unknown>;
}

const EMBED_RE = /(embed_tokens|lm_head|wte|embed_out|word_embeddings|output\.weight)/;

export function resolvePath(p: string, configFile: string): string {
  return isAbsolute(p) ? p : resolve(dirname(configFile), p);
}

export async function tryOpen(
  path: string,
  label: string,
  config: MergeConfig,
  where: (string | number)[],
): Promise<Checkpoint> {
  try {
    return await openCheckpoint(path);
  } catch (err) {
    const e = err as Error;
    if (e instanceof CheckpointError && /no such file or folder/.test(e.message)) {
      throw new ConfigError(`${label} '${path}' does not exist (local folders or .safetensors files only)`, {
        file: config.file,
        line: config.lineOf(where),
        path: where.join("."),
      });
    }
    throw err;
  }
}

export interface PlanOptions {
  /** Output folder: its file system must have room for the result. */
  outDir?: string;
  /** Skip the free-disk check (tests). */
  skipDiskCheck?: boolean;
  /** When false (default), an existing `outDir` is an error found here, before any data is read. */
  overwrite?: boolean;
}

/** Opens the inputs (headers only), matches their tensors and resolves parameters per tensor. */
export async function planMerge(config: MergeConfig, options: PlanOptions = {}): Promise<MergePlan> {
  if (options.outDir && !options.overwrite && existsSync(options.outDir)) {
    throw new ConfigError("output folder already exists (choose another one or allow overwriting)", {
      file: options.outDir,
    });
  }
  // a sliced config's planner is loaded only for one
  if (config.slices) return (await import("./plan-slices.ts")).planSlices(config, config.slices, options);
  const method = config.method;
  const warnings: string[] = [];
  const usesBase = method.base !== "none" && config.baseModel !== undefined;
  if (
    method.base === "none" &&
    config.baseModel !== undefined &&
    !config.raw.models?.some((m) => m.model === config.baseModel)
  ) {
    warnings.push(`base_model is not used by '${method.name}' (it is not in models); ignored`);
  }
  const basePath = usesBase ? resolvePath(config.baseModel!, config.file) : undefined;
  const modelPaths = config.models.map((m) => resolvePath(m.model, config.file));
  const { vocab, vocabSize, ...tokenizer } = planTokenizer(config, {
    base: basePath,
    models: modelPaths,
    resolve: (p) => resolvePath(p, config.file),
    warn: (w) => warnings.push(w),
  });
  const configUpdates = vocabSize !== undefined ? { vocab_size: vocabSize } : undefined;
  const opened: Checkpoint[] = [];
  try {
    const base = basePath ? await tryOpen(basePath, "base_model", config, ["base_model"]) : undefined;
    if (base) opened.push(base);
    const models: Checkpoint[] = [];
    for (const [i, p] of modelPaths.entries()) {
      const ck = await tryOpen(p, "model", config, ["models", config.models[i].index, "model"]);
      opened.push(ck);
      models.push(ck);
    }
    const ref = base ?? models[0];
    const refLabel = base ? `base_model ${config.baseModel}` : `model ${config.models[0].model}`;
    let numLayers = 0;
    for (const n of ref.names) numLayers = Math.max(numLayers, (layerIndex(n) ?? -1) + 1);

    const sourceFor = (ck: Checkpoint, label: string, name: string): SourceRef => {
      if (ck.has(name)) {
        const t = ck.tensor(name);
        return { name, shape: [...t.shape], dtype: t.dtype };
      }
      if (name === "lm_head.weight" && ck.has("model.embed_tokens.weight")) {
        warnings.push(
          `${label} has no lm_head.weight (tied embeddings): using its model.embed_tokens.weight`,
        );
        const t = ck.tensor("model.embed_tokens.weight");
        return { name: "model.embed_tokens.weight", shape: [...t.shape], dtype: t.dtype };
      }
      throw new CheckpointError(`tensor is missing from ${label} (present in ${refLabel})`, {
        file: ck.name,
        path: name,
      });
    };

    const list = new TensorList();
    for (const name of ref.names) {
      const refT = ref.tensor(name);
      const srcBase = base ? sourceFor(base, `base_model ${config.baseModel}`, name) : undefined;
      const srcModels = models.map((ck, i) => sourceFor(ck, `model ${config.models[i].model}`, name));
      const all = [...(srcBase ? [srcBase] : []), ...srcModels];
      const float = all.every((s) => isFloatDType(s.dtype));
      const vocabShape = vocab && float ? planVocabTensor(vocab, name, all) : undefined;
      let shape = vocabShape ?? [...refT.shape];
      const same =
        !!vocabShape ||
        all.every((s) => s.shape.length === shape.length && s.shape.every((d, k) => d === shape[k]));
      if (!same) {
        if (float && EMBED_RE.test(name) && all.every((s) => s.shape.length === 2)) {
          // [vocabulary, hidden]: only the vocabulary may differ (a resized tokenizer); another hidden size (or a
          // transposed matrix) is not the same model, and its common submatrix would not load
          const label = (k: number) =>
            k === 0 && srcBase ? "base" : `model ${config.models[srcBase ? k - 1 : k].model}`;
          const odd = all.findIndex((s) => s.shape[1] !== all[0].shape[1]);
          if (odd >= 0) {
            throw new CheckpointError(
              `${label(odd)} has [${all[odd].shape.join(", ")}], ${label(0)} [${all[0].shape.join(", ")}]: only the row count (the vocabulary) may differ`,
              { path: name },
            );
          }
          const rows = Math.min(...all.map((s) => s.shape[0]));
          const cols = all[0].shape[1];
          shape = [rows, cols];
          for (const s of all) if (s.shape[0] !== rows) s.submatrix = [rows, cols];
          warnings.push(
            `${name}: shapes differ (${all.map((s) => `[${s.shape.join(", ")}]`).join(" vs ")}); using the common submatrix [${rows}, ${cols}] (the first ${rows} rows of each) as mergekit does; the output's config.json must say vocab_size ${rows}`,
          );
        } else {
          throw new CheckpointError(
            `shape mismatch: ${all.map((s, k) => `${k === 0 && srcBase ? "base" : `model ${config.models[srcBase ? k - 1 : k].model}`} [${s.shape.join(", ")}]`).join(", ")}`,
            { path: name },
          );
        }
      }
      const kind = float ? "merge" : "copy";
      if (!float) warnings.push(`${name}: dtype ${refT.dtype} is not a float type; copied from ${refLabel}`);
      const outDtype = float && config.outDtype ? config.outDtype : refT.dtype;
      const params = resolveParams(config, name, numLayers);
      list.add({ name, shape, outDtype, kind, base: srcBase, models: srcModels, params });
    }
    // Tensors that exist in inputs but not in the reference are not written.
    for (const [i, ck] of models.entries()) {
      const extra = ck.names.filter((n) => !ref.has(n));
      if (extra.length > 0 && ck !== ref) {
        warnings.push(
          `model ${config.models[i].model}: ${extra.length} tensor(s) not in ${refLabel} are ignored (${extra.slice(0, 3).join(", ")}${extra.length > 3 ? ", ..." : ""})`,
        );
      }
    }
    // the output gets the base's (or first model's) config.json: it must describe the merged tensors
    const configFile = join(basePath ?? modelPaths[0], "config.json");
    const configJson = await readConfigJson(configFile);
    if (configJson)
      await checkOutputConfig(
        { ...configJson, ...configUpdates },
        new Map(list.tensors.map((t) => [t.name, t.shape])),
        configFile,
      );
    if (options.outDir && !options.skipDiskCheck) await checkFreeDisk(options.outDir, list.outputBytes);
    const first = list.tensors.find((t) => t.kind === "merge");
    const globalStats = !!method.globalStats && !!first && method.globalStats.enabled(first.params);
    return {
      config,
      method,
      basePath,
      modelPaths,
      tensors: list.tensors,
      inputBytes: list.inputBytes,
      outputBytes: list.outputBytes,
      warnings,
      globalStats,
      configUpdates,
      ...tokenizer,
    };
  } finally {
    for (const ck of opened) await ck.close();
  }
}

export async function checkFreeDisk(outDir: string, bytes: number): Promise<void> {
  let dir = resolve(outDir);
  // the output folder does not exist yet: ask its nearest existing parent
  for (;;) {
    try {
      const s = await statfs(dir);
      const free = s.bavail * s.bsize;
      if (free < bytes * 1.02 + 1e6) {
        throw new ConfigError(
          `not enough free disk for the output: need ${(bytes / 1e9).toFixed(2)} GB, ${(free / 1e9).toFixed(2)} GB free at ${dir}`,
        );
      }
      return;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const parent = dirname(dir);
      if (parent === dir) return;
      dir = parent;
    }
  }
}
