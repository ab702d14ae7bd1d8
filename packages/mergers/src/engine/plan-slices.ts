/**
 * Pre-flight of a sliced merge (mergekit `slices:`), into the TensorPlan list the engine runs. As mergekit/plan.py
 * MergePlanner.plan_module does for a single-module model:
 * - the tensors before the layers (embeddings) are merged over the first slice's sources, those after them (final
 *   norm, lm_head) over the last slice's sources (`pre_weights` / `post_weights`);
 * - slice by slice, output layer `offset + i` is merged from layer `start + i` of each of the slice's sources
 *   (plan_slice / plan_layer), its tensors renamed to the output index;
 * - parameters are looked up source → slice → top level (ConfigReader.parameter): a global one under the output
 *   tensor's name, a per-model one under the source tensor's name (plan_tensor's `for_tensor(weight_in.name)`);
 * - gradients are evaluated at t = i / (n − 1) for layer i of an n-layer slice (t = 1 when n = 1), each slice
 *   running its own gradient from start to end, and at t = 0 for the non-layer tensors.
 * Each source is read from its own checkpoint (SourceRef.checkpoint indexes the plan's modelPaths). The output's
 * config.json is the base_model's, else the first slice's first model's (merge.py `_model_out_config`), with the
 * layer count set to the output's and, unlike mergekit, the per-layer lists (`layer_types`, ...) rebuilt from the
 * source layers (MergePlan.configUpdates).
 */
import { join } from "node:path";
import { type Checkpoint, isFloatDType } from "@m2rl/core/checkpoint";
import { CheckpointError, ConfigError } from "@m2rl/core/errors";
import type { MergeParamValue } from "@m2rl/core/merge";
import { type MergeConfig, pickSetting } from "../config/mergekit.ts";
import type { MergeSlice, SliceSource } from "../config/slices.ts";
import { checkOutputConfig, LAYER_INDEX_FIELDS, PER_LAYER_FIELDS, readConfigJson } from "./output-config.ts";
import {
  checkFreeDisk,
  type MergePlan,
  type PlanOptions,
  resolvePath,
  type SourceRef,
  TensorList,
  tryOpen,
} from "./plan.ts";
import { planTokenizer } from "./tokenizer.ts";

/** A decoder-layer tensor: prefix (`model.layers.`), layer index, rest (`.mlp.up_proj.weight`). */
const LAYER_NAME = /^((?:.*?\.)?(?:layers|h|blocks|layer)\.)(\d+)(\..+)$/;
/** Non-layer tensors merged over the first slice (mergekit's pre_weights); the others go after the layers. */
const PRE_LAYER = /(?:^|\.)(?:embed_tokens|wte|wpe|embed_in|word_embeddings)\./;

/** One opened input checkpoint. */
interface Input {
  model: string;
  label: string;
  ck: Checkpoint;
  config?: Record<string, unknown>;
  /** Its decoder layers (num_hidden_layers, else as stored). */
  layers: number;
  /** Decoder tensor names by layer index. */
  byLayer: Map<number, string[]>;
  /** Where the config names it (for messages). */
  at: (string | number)[];
}

/** Plans a config with `slices` (see the module comment). */
export async function planSlices(
  config: MergeConfig,
  slices: readonly MergeSlice[],
  options: PlanOptions,
): Promise<MergePlan> {
  const method = config.method;
  const file = config.file;
  const warnings: string[] = [];
  // the checkpoint whose config.json (and by default tokenizer) the output gets comes first
  const outFrom = config.baseModel ?? slices[0].sources[0].model;
  const models = [outFrom, ...config.models.map((m) => m.model).filter((m) => m !== outFrom)];
  const modelPaths = models.map((m) => resolvePath(m, file));
  // a tokenizer setting that would map the embeddings into another vocabulary is refused there with slices
  const tokenizer = planTokenizer(config, {
    models: modelPaths,
    resolve: (p) => resolvePath(p, file),
    warn: (w) => warnings.push(w),
  });
  const firstUse = (model: string): (string | number)[] => {
    for (const s of slices) {
      const src = s.sources.find((x) => x.model === model);
      if (src) return ["slices", s.index, "sources", src.index, "model"];
    }
    return ["base_model"];
  };
  for (const s of slices) {
    if (s.residualWeight !== undefined)
      warnings.push(
        `slice ${s.index}: residual_weight has no effect (mergekit declares it and never reads it)`,
      );
    const declared = config.raw.slices?.[s.index]?.base_model ?? config.baseModel;
    if (method.base === "optional" && declared !== undefined && s.baseModel === undefined)
      warnings.push(
        `slice ${s.index}: base_model ${declared} is not one of its sources, so '${method.name}' merges it without a base`,
      );
  }

  const inputs: Input[] = [];
  try {
    for (const [k, model] of models.entries()) {
      const at = firstUse(model);
      const label = at[0] === "base_model" ? `base_model ${model}` : `model ${model}`;
      const ck = await tryOpen(modelPaths[k], label.split(" ")[0], config, at);
      inputs.push(await layout(ck, model, label, at, join(modelPaths[k], "config.json")));
    }
    const input = (m: string) => inputs[models.indexOf(m)];

    // every layer_range within its model
    for (const s of slices) {
      for (const src of s.sources) {
        const n = input(src.model).layers;
        if (src.layerRange[1] > n) {
          throw new ConfigError(
            `layer_range [${src.layerRange.join(", ")}] reaches past the last layer of ${src.model}: it has ${n} layers (0 … ${n - 1}), so the end (exclusive) can be at most ${n}`,
            {
              file,
              line: config.lineOf(["slices", s.index, "sources", src.index, "layer_range"]),
              path: `slices.${s.index}.sources.${src.index}.layer_range`,
            },
          );
        }
      }
    }

    const list = new TensorList();
    /** One output tensor: `slice`'s sources, source j's tensor `inName(j)`, at gradient position `t`. */
    const plan = (
      name: string,
      slice: MergeSlice,
      inName: (src: SliceSource) => string,
      t: number,
      refLabel: string,
    ) => {
      const refs = slice.sources.map((src): SourceRef => {
        const inp = input(src.model);
        return {
          ...sourceOf(inp, inName(src), refLabel, warnings),
          checkpoint: models.indexOf(src.model),
        };
      });
      const baseAt = slice.sources.findIndex((src) => src.model === slice.baseModel);
      const base = baseAt >= 0 ? refs[baseAt] : undefined;
      const modelSources = slice.sources.filter((_, j) => j !== baseAt);
      const modelRefs = refs.filter((_, j) => j !== baseAt);
      const all = [...(base ? [base] : []), ...modelRefs];
      const allSources = [...(baseAt >= 0 ? [slice.sources[baseAt]] : []), ...modelSources];
      const shape = all[0].shape;
      if (all.some((r) => r.shape.length !== shape.length || r.shape.some((d, k) => d !== shape[k]))) {
        throw new CheckpointError(
          `shape mismatch between the sources of slice ${slice.index}: ${all.map((r, k) => `${input(allSources[k].model).label} ${r.name} [${r.shape.join(", ")}]`).join(", ")}`,
          { path: name },
        );
      }
      const float = all.every((r) => isFloatDType(r.dtype));
      const first = base ?? modelRefs[0];
      if (!float)
        warnings.push(
          `${name}: dtype ${first.dtype} is not a float type; copied from ${input(allSources[0].model).label}`,
        );
      const outDtype = float && config.outDtype ? config.outDtype : first.dtype;
      const global: Record<string, MergeParamValue> = {};
      const perModel: Record<string, MergeParamValue>[] = modelSources.map(() => ({}));
      for (const def of method.parameters) {
        if (def.scope === "global") {
          global[def.name] = pickSetting(
            def,
            [slice.parameters[def.name], config.parameters[def.name]],
            name,
            t,
            file,
          );
        } else {
          modelSources.forEach((src, j) => {
            perModel[j][def.name] = pickSetting(
              def,
              [src.parameters[def.name], slice.parameters[def.name], config.parameters[def.name]],
              inName(src),
              t,
              file,
            );
          });
        }
      }
      list.add({
        name,
        shape,
        outDtype,
        kind: float ? "merge" : "copy",
        base,
        models: modelRefs,
        params: { global, perModel },
      });
    };

    const out = inputs[0];
    const nonLayer = out.ck.names.filter((n) => !LAYER_NAME.test(n));
    for (const n of nonLayer.filter((x) => PRE_LAYER.test(x))) plan(n, slices[0], () => n, 0, out.label);
    /** Per output layer: the source layer it comes from (the slice's first source). */
    const origins: { input: Input; layer: number }[] = [];
    for (const s of slices) {
      const src0 = s.sources[0];
      for (let i = 0; i < s.layers; i++) {
        const t = s.layers > 1 ? i / (s.layers - 1) : 1;
        const j = s.offset + i;
        const from = input(src0.model);
        origins.push({ input: from, layer: src0.layerRange[0] + i });
        for (const n0 of from.byLayer.get(src0.layerRange[0] + i)!) {
          const [, prefix, , rest] = LAYER_NAME.exec(n0)!;
          const inName = (src: SliceSource) => {
            const own = input(src.model).byLayer.get(src.layerRange[0] + i)![0];
            return `${LAYER_NAME.exec(own)![1]}${src.layerRange[0] + i}${rest}`;
          };
          plan(`${prefix}${j}${rest}`, s, inName, t, `${from.label} (layer ${src0.layerRange[0] + i})`);
        }
      }
    }
    for (const n of nonLayer.filter((x) => !PRE_LAYER.test(x)))
      plan(n, slices.at(-1)!, () => n, 0, out.label);

    const first = list.tensors.find((x) => x.kind === "merge");
    if (method.globalStats && first && method.globalStats.enabled(first.params)) {
      throw new ConfigError(
        `'${method.name}' with these parameters needs a whole-model pre-pass (e.g. ties trim_scope: model), which ranks one set of models over every tensor; the slices of a sliced merge each merge their own sources, so it is not supported (use the per-tensor setting)`,
        { file, line: config.lineOf(["slices"], "key"), path: "slices" },
      );
    }

    const configFile = join(modelPaths[0], "config.json");
    const configUpdates = out.config ? outputConfigUpdates(out, origins, warnings, configFile) : undefined;
    if (out.config)
      await checkOutputConfig(
        { ...out.config, ...configUpdates },
        new Map(list.tensors.map((x) => [x.name, x.shape])),
        configFile,
      );
    if (options.outDir && !options.skipDiskCheck) await checkFreeDisk(options.outDir, list.outputBytes);
    return {
      config,
      method,
      modelPaths,
      tensors: list.tensors,
      inputBytes: list.inputBytes,
      outputBytes: list.outputBytes,
      warnings,
      globalStats: false,
      configUpdates,
      ...tokenizer,
    };
  } finally {
    for (const x of inputs) await x.ck.close();
  }
}

/**
 * Tensor `name` of `inp`; a tied model's missing lm_head.weight is its embed_tokens (with a warning, as planMerge
 * reads it); else a CheckpointError (the tensor is in `refLabel`).
 */
function sourceOf(inp: Input, name: string, refLabel: string, warnings: string[]): SourceRef {
  const tied = "model.embed_tokens.weight";
  const stored = inp.ck.has(name) ? name : name === "lm_head.weight" && inp.ck.has(tied) ? tied : undefined;
  if (stored === undefined)
    throw new CheckpointError(`tensor is missing from ${inp.label} (present in ${refLabel})`, {
      file: inp.ck.name,
      path: name,
    });
  if (stored !== name)
    warnings.push(`${inp.label} has no lm_head.weight (tied embeddings): using its ${tied}`);
  const t = inp.ck.tensor(stored);
  return { name: stored, shape: [...t.shape], dtype: t.dtype };
}

/** An opened checkpoint's decoder layers, checked: one layer prefix (a single module), every layer stored. */
async function layout(
  ck: Checkpoint,
  model: string,
  label: string,
  at: (string | number)[],
  configFile: string,
): Promise<Input> {
  const byLayer = new Map<number, string[]>();
  const prefixes = new Set<string>();
  for (const name of ck.names) {
    const m = LAYER_NAME.exec(name);
    if (!m) continue;
    prefixes.add(m[1]);
    const i = Number(m[2]);
    const list = byLayer.get(i);
    if (list) list.push(name);
    else byLayer.set(i, [name]);
  }
  if (prefixes.size > 1) {
    throw new CheckpointError(
      `holds numbered layers under several prefixes (${[...prefixes].join(", ")}): slices apply to a single-module model; a multi-module one (e.g. with a vision tower) needs mergekit's 'modules:', which M2RL does not support`,
      { file: ck.name },
    );
  }
  const config = await readConfigJson(configFile);
  const stated = config?.num_hidden_layers;
  const layers =
    typeof stated === "number" && Number.isInteger(stated) ? stated : Math.max(-1, ...byLayer.keys()) + 1;
  for (let i = 0; i < layers; i++) {
    if (!byLayer.has(i))
      throw new CheckpointError(`layer ${i} is missing (${layers} layers expected)`, { file: ck.name });
  }
  return { model, label, ck, config, layers, byLayer, at };
}

/**
 * The output config.json's changes: the layer count, and each per-layer list rebuilt from the layers the output's
 * come from (`origins`, per output layer its source's config and layer). mergekit sets only the layer count
 * (merge.py `_model_out_config`); a `layer_types` left at the old length is refused by transformers.
 */
function outputConfigUpdates(
  out: Input,
  origins: readonly { input: Input; layer: number }[],
  warnings: string[],
  configFile: string,
): Record<string, unknown> {
  const cfg = out.config!;
  const n = origins.length;
  const updates: Record<string, unknown> = {};
  const countKey = "n_layer" in cfg && !("num_hidden_layers" in cfg) ? "n_layer" : "num_hidden_layers";
  updates[countKey] = n;
  for (const k of PER_LAYER_FIELDS) {
    if (!Array.isArray(cfg[k])) continue;
    updates[k] = origins.map(({ input, layer }) => {
      const list = input.config?.[k];
      if (Array.isArray(list) && list.length === input.layers) return list[layer];
      if (k === "layer_types") return derivedLayerType(input.config ?? {}, layer);
      throw new CheckpointError(
        `the output's config.json has a per-layer '${k}', ${input.label}'s config.json none with an entry per layer: it cannot be rebuilt for the output's layers`,
        { file: configFile, path: k },
      );
    });
  }
  for (const k of LAYER_INDEX_FIELDS) {
    if (!Array.isArray(cfg[k])) continue;
    updates[k] = origins.flatMap(({ input, layer }, j) => {
      const list = input.config?.[k];
      return Array.isArray(list) && list.includes(layer) ? [j] : [];
    });
  }
  // Qwen2's sliding window covers layers >= max_window_layers: keep it true of the new layers when it can be
  if (cfg.use_sliding_window === true && typeof cfg.max_window_layers === "number") {
    const types =
      (updates.layer_types as unknown[] | undefined) ??
      origins.map(({ input, layer }) => derivedLayerType(input.config ?? {}, layer));
    const firstSliding = types.indexOf("sliding_attention");
    const m = firstSliding < 0 ? n : firstSliding;
    if (types.every((x, j) => j < m === (x !== "sliding_attention"))) updates.max_window_layers = m;
    else
      warnings.push(
        "config.json: the output's sliding-window layers are not all after its full-attention ones, which max_window_layers cannot say; layer_types says it (transformers versions that ignore layer_types will differ)",
      );
  }
  const known = new Set<string>([...PER_LAYER_FIELDS, ...LAYER_INDEX_FIELDS]);
  for (const [k, v] of Object.entries(cfg)) {
    if (Array.isArray(v) && v.length === out.layers && out.layers > 1 && !known.has(k))
      warnings.push(
        `config.json: '${k}' has one entry per layer (${out.layers}) and is copied as is, not rebuilt for the output's ${n} layers: check it`,
      );
  }
  return updates;
}

/** transformers' Qwen2Config default layer_types: sliding attention from max_window_layers on, when enabled. */
function derivedLayerType(cfg: Record<string, unknown>, layer: number): string {
  const sliding =
    cfg.use_sliding_window === true &&
    cfg.sliding_window !== null &&
    layer >= (typeof cfg.max_window_layers === "number" ? cfg.max_window_layers : 28);
  return sliding ? "sliding_attention" : "full_attention";
}
