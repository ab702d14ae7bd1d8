/**
 * mergekit's `slices:` (mergekit/config.py: OutputSliceDefinition, InputSliceDefinition), checked without reading
 * any checkpoint. Each output slice lists `sources` (a model and a `layer_range: [start, end)`, end exclusive) and
 * contributes end − start layers to the output, stacked in order; its method runs per output layer over the layer
 * of each source at the same position (mergekit/plan.py MergePlanner.plan_slice / plan_layer). Parameters are
 * looked up source → slice → top level (ConfigReader.parameter). What cannot work is a ConfigError at its line:
 * sources of one slice spanning different numbers of layers, an empty or reversed range, a model given twice in a
 * slice, a method's base or model count that a slice does not satisfy. Layer ranges past a model's last layer are
 * found when its checkpoint is opened (engine/plan-slices.ts).
 */
import { ConfigError } from "@m2rl/core/errors";
import type { MergeMethod, MergeParamDef, MergeParamValue } from "@m2rl/core/merge";
import type { ParamSetting } from "./mergekit.ts";
import type { ParamsLevel } from "./params-schema.ts";

/** A source of `slices:` as written. */
export interface RawSliceSource {
  model: string;
  layer_range: [number, number];
  parameters?: Record<string, ParamSetting>;
}

/** An output slice as written. */
export interface RawSlice {
  sources: RawSliceSource[];
  base_model?: string;
  /** Declared by mergekit's OutputSliceDefinition and read nowhere there: accepted, no effect (a warning). */
  residual_weight?: number;
  parameters?: Record<string, ParamSetting>;
}

export interface SliceSource {
  /** Path as written in the config. */
  model: string;
  /** Layers start … end − 1 of `model`. */
  layerRange: [number, number];
  parameters: Record<string, ParamSetting>;
  /** Position in its slice's `sources` (for error locations). */
  index: number;
}

export interface MergeSlice {
  sources: SliceSource[];
  /**
   * The base of this slice's merges: its own `base_model`, else the top-level one (ConfigReader.base_model), when
   * the method uses a base and it is one of `sources` (else undefined).
   */
  baseModel?: string;
  parameters: Record<string, ParamSetting>;
  /** Position in `slices` (for error locations). */
  index: number;
  /** Output layers this slice contributes (end − start of each of its sources). */
  layers: number;
  /** Output index of its first layer (the layers of the slices before it). */
  offset: number;
  residualWeight?: number;
}

/** What parseSlices needs from the config parser. */
export interface SliceContext {
  file: string;
  lineOf(path: readonly (string | number)[], at?: "key" | "value"): number | undefined;
  /** The config's top-level base_model and parameters. */
  baseModel?: string;
  parameters: Record<string, ParamSetting>;
  /** Checks one parameters block against a method's parameters (a ConfigError at the offending line). */
  checkParameters(
    method: MergeMethod,
    params: Record<string, ParamSetting>,
    level: ParamsLevel,
    path: (string | number)[],
  ): void;
}

const relaxedCache = new WeakMap<MergeMethod, MergeMethod>();

/**
 * `method` with a default on every parameter, for checking a parameters block of a sliced config: there a required
 * parameter (slerp's `t`) may be set at the top level or in each slice, so no single block must hold it (parseSlices
 * checks that every slice gets one). The defaults are placeholders, never used as values.
 */
export function relaxedMethod(method: MergeMethod): MergeMethod {
  let r = relaxedCache.get(method);
  if (!r) {
    const placeholder = (d: MergeParamDef): MergeParamValue =>
      d.type === "boolean" ? false : d.type === "string" ? (d.enum?.[0] ?? "") : 0;
    r = {
      ...method,
      parameters: method.parameters.map((d) => ({ ...d, default: d.default ?? placeholder(d) })),
    };
    relaxedCache.set(method, r);
  }
  return r;
}

const rangeText = ([a, b]: readonly number[]) => `[${a}, ${b}]`;

/** Checks and normalises `slices:` (see the module comment); `method` is the config's merge method. */
export function parseSlices(raw: readonly RawSlice[], method: MergeMethod, ctx: SliceContext): MergeSlice[] {
  const where = (path: (string | number)[], at: "key" | "value" = "value") => ({
    file: ctx.file,
    line: ctx.lineOf(path, at),
    path: path.join("."),
  });
  const out: MergeSlice[] = [];
  let offset = 0;
  for (const [i, s] of raw.entries()) {
    const at = (...p: (string | number)[]) => ["slices", i, ...p];
    const sources: SliceSource[] = s.sources.map((src, j) => {
      const [a, b] = src.layer_range;
      if (!(a < b)) {
        throw new ConfigError(
          `layer_range ${rangeText(src.layer_range)} of ${src.model} is empty or reversed: it is [start, end) with end exclusive (layers start … end − 1), so end must be greater than start`,
          where(at("sources", j, "layer_range")),
        );
      }
      return { model: src.model, layerRange: [a, b], parameters: src.parameters ?? {}, index: j };
    });
    const layers = sources[0].layerRange[1] - sources[0].layerRange[0];
    for (const src of sources.slice(1)) {
      const n = src.layerRange[1] - src.layerRange[0];
      if (n !== layers) {
        const first = sources[0];
        throw new ConfigError(
          `all sources of a slice must span the same number of layers (mergekit merges them layer by layer): ${first.model} ${rangeText(first.layerRange)} has ${layers}, ${src.model} ${rangeText(src.layerRange)} has ${n}`,
          where(at("sources", src.index, "layer_range")),
        );
      }
    }
    const seen = new Map<string, number>();
    for (const src of sources) {
      const prev = seen.get(src.model);
      if (prev !== undefined) {
        throw new ConfigError(
          `${src.model} is a source of this slice twice (sources ${prev} and ${src.index}): mergekit keys a slice's inputs by model, so one of them would be dropped; stack the two ranges as separate slices instead`,
          where(at("sources", src.index, "model")),
        );
      }
      seen.set(src.model, src.index);
    }
    ctx.checkParameters(relaxedMethod(method), s.parameters ?? {}, "global", at("parameters"));
    for (const src of sources) {
      if (Object.keys(src.parameters).length > 0)
        ctx.checkParameters(method, src.parameters, "model", at("sources", src.index, "parameters"));
    }
    // the base: the slice's own, else the top-level one; mergekit merges only a slice's sources, so a base that
    // is not one of them is never read
    const declaredBase = s.base_model ?? ctx.baseModel;
    let baseModel: string | undefined;
    if (method.base !== "none" && declaredBase !== undefined && seen.has(declaredBase))
      baseModel = declaredBase;
    if (method.base === "required" && baseModel === undefined) {
      throw new ConfigError(
        declaredBase === undefined
          ? `merge method '${method.name}' needs a base_model (top level, or this slice's base_model)`
          : `merge method '${method.name}' needs its base_model among the slice's sources: ${declaredBase} is not one of them (add it with the layer_range to take, as in mergekit's gradient-slerp.yml)`,
        where(s.base_model !== undefined ? at("base_model") : at("sources"), "key"),
      );
    }
    const models = sources.filter((src) => src.model !== baseModel);
    if (
      models.length < method.minModels ||
      (method.maxModels !== undefined && models.length > method.maxModels)
    ) {
      const want =
        method.maxModels === method.minModels
          ? `exactly ${method.minModels}`
          : `at least ${method.minModels}${method.maxModels ? ` and at most ${method.maxModels}` : ""}`;
      throw new ConfigError(
        `merge method '${method.name}' takes ${want} source(s) per slice${baseModel ? " besides the base" : ""}, this slice has ${models.length}${method.name === "passthrough" ? " (passthrough copies one source: stack models as separate slices)" : ""}`,
        where(at("sources"), "key"),
      );
    }
    // required parameters (no default): set at the top level, in the slice, or (per model) in every source
    const sliceParams = s.parameters ?? {};
    for (const def of method.parameters) {
      if (def.default !== undefined) continue;
      if (ctx.parameters[def.name] !== undefined || sliceParams[def.name] !== undefined) continue;
      if (def.scope === "model" && models.every((src) => src.parameters[def.name] !== undefined)) continue;
      throw new ConfigError(
        `parameter '${def.name}' of '${method.name}' is required: set it under the top-level parameters, this slice's parameters${def.scope === "model" ? " or every source's" : ""}`,
        where(at(), "key"),
      );
    }
    out.push({
      sources,
      baseModel,
      parameters: sliceParams,
      index: i,
      layers,
      offset,
      residualWeight: s.residual_weight,
    });
    offset += layers;
  }
  return out;
}
