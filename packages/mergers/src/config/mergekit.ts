/**
 * mergekit YAML configs: parsed with positions (`yaml`), validated with ajv against `mergeConfigSchema`, checked
 * against the chosen method's declared parameters, and resolved per tensor (filter lists and layer gradients, as
 * mergekit's `evaluate_setting`). Every error is a ConfigError with file and line.
 */
import type { DType } from "@m2rl/core/checkpoint";
import { ConfigError } from "@m2rl/core/errors";
import {
  isMergeMethod,
  type MergeMethod,
  type MergeMethodInfo,
  type MergeParamDef,
  type MergeParamValue,
  type ResolvedMergeParams,
  yamlExpansionProblem,
  yamlSizeProblem,
} from "@m2rl/core/merge";
// the plugin helpers without options validation: a merge config is checked by ./validators.ts, not ajv at start-up
import { didYouMean } from "@m2rl/core/plugin/lite";
import type { ValidateFunction } from "ajv";
import { isMap, isSeq, LineCounter, type Node, parseDocument, stringify as stringifyYaml } from "yaml";
import { NAMED_CHAT_TEMPLATES } from "../engine/chat-templates.ts";
import { layerIndex } from "../methods/common.ts";
import { METHODS } from "../methods/index.ts";
import { mergeParametersSchema, NO_EFFECT_PARAMS, type ParamsLevel } from "./params-schema.ts";
import { mergeConfigSchema } from "./schema.ts";
import { type MergeSlice, parseSlices, type RawSlice, relaxedMethod } from "./slices.ts";
import {
  parseTokenizerSettings,
  type RawTokenizerBlock,
  type TokenizerSettings,
} from "./tokenizer-config.ts";
import { configValidator, paramsValidator } from "./validators.ts";

export type ParamSetting =
  | MergeParamValue
  | number[]
  | { filter?: string; value: MergeParamValue | number[] }[];

/** The YAML as written (mergekit field names). */
export interface RawMergeConfig {
  merge_method: string;
  base_model?: string;
  /** Exactly one of `models` and `slices` is given. */
  models?: { model: string; parameters?: Record<string, ParamSetting> }[];
  slices?: RawSlice[];
  parameters?: Record<string, ParamSetting>;
  dtype?: string;
  out_dtype?: string;
  tokenizer_source?: string;
  tokenizer?: RawTokenizerBlock;
  chat_template?: string;
  seed?: number;
  out_shard_size?: number | string;
  name?: string;
}

export interface MergeModelRef {
  /** Path as written in the config. */
  model: string;
  parameters: Record<string, ParamSetting>;
  /** Position in the config's `models` list (for error locations). */
  index: number;
}

export interface MergeConfig {
  file: string;
  text: string;
  raw: RawMergeConfig;
  method: MergeMethod;
  baseModel?: string;
  /**
   * Input models (for base-using methods, an entry equal to base_model is dropped, as mergekit does). With
   * `slices:`, every model the slices read (the same base_model dropped), first appearance first, without
   * parameters (those are per source).
   */
  models: MergeModelRef[];
  /** `slices:` (layer ranges stacked into the output), checked; planned by engine/plan-slices.ts. */
  slices?: MergeSlice[];
  parameters: Record<string, ParamSetting>;
  outDtype?: DType;
  tokenizerSource?: string;
  /** The output vocabulary (`tokenizer_source` or the `tokenizer` block), when either is set. */
  tokenizer?: TokenizerSettings;
  /** `auto` (the template most inputs share) or a Jinja template; checked here, resolved by planMerge. */
  chatTemplate?: string;
  seed: number;
  maxShardBytes: number;
  /** Line of a JSON path in the file (1-based), for error messages. */
  lineOf(path: readonly (string | number)[], at?: "key" | "value"): number | undefined;
}

const DTYPES: Record<string, DType> = {
  float32: "F32",
  fp32: "F32",
  f32: "F32",
  float: "F32",
  float16: "F16",
  fp16: "F16",
  f16: "F16",
  half: "F16",
  bfloat16: "BF16",
  bf16: "BF16",
};

export function parseDtypeName(name: string, where: { file: string; line?: number; path: string }): DType {
  const d = DTYPES[name.toLowerCase()];
  if (!d) {
    throw new ConfigError(`unsupported dtype '${name}' (use float32, float16 or bfloat16)`, where);
  }
  return d;
}

/** "5B", "500M", "2GB", 1000000 -> bytes. */
export function parseSize(v: number | string, where: { file: string; line?: number; path: string }): number {
  if (typeof v === "number") return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(v);
  if (!m) throw new ConfigError(`cannot read size '${v}' (e.g. 5B, 500M)`, where);
  const mult: Record<string, number> = { "": 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.floor(Number(m[1]) * mult[m[2].toUpperCase()]);
}

function nodeAt(root: unknown, path: readonly (string | number)[], at: "key" | "value"): Node | undefined {
  let node = root as Node | undefined;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown })?.value === seg);
      if (!pair) return keyNode ?? node;
      keyNode = pair.key as Node;
      node = pair.value as Node;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg] as Node | undefined;
      if (!item) return node;
      keyNode = item;
      node = item;
    } else {
      return node;
    }
  }
  return at === "key" && keyNode ? keyNode : node;
}

let validator: ValidateFunction | undefined;

/**
 * Where a config's `merge_method` is looked up when not among the built-ins only: a registry such as a plugin
 * host's `host.registry.mergeMethods` (its names are listed when a name is unknown), or a lookup function.
 */
export type MethodLookup = ((name: string) => MergeMethodInfo | undefined) | MethodSource;

/** A registry of merge methods (`Registry<MergeMethodInfo>` is one). */
export interface MethodSource {
  find(name: string): MergeMethodInfo | undefined;
  /** Registered names, for the unknown-method message. */
  names(): string[];
  /** The plugin that registered `name`, for messages. */
  owner?(name: string): string | undefined;
}

/** The method `name` from `lookup` (default: the built-ins), or a ConfigError saying what is registered. */
export function findMergeMethod(
  name: string,
  lookup: MethodLookup | undefined,
  where: { file: string; line?: number; path: string },
): MergeMethod {
  const source: MethodSource =
    lookup === undefined
      ? { find: (n) => METHODS.get(n), names: () => [...METHODS.keys()] }
      : typeof lookup === "function"
        ? { find: lookup, names: () => [] }
        : lookup;
  const found = source.find(name);
  if (!found) {
    const names = source.names();
    const known = names.length ? ` (known: ${names.join(", ")})` : "";
    throw new ConfigError(`unknown merge_method '${name}'${didYouMean(name, names)}${known}`, where);
  }
  if (!isMergeMethod(found)) {
    const owner = source.owner?.(name);
    throw new ConfigError(
      `merge method '${name}'${owner ? ` (registered by plugin '${owner}')` : ""} cannot run: its registry entry ` +
        "has no mergeTensor function and parameters list (see the MergeMethod contract)",
      where,
    );
  }
  return found;
}

/**
 * Parses and validates a mergekit YAML config. Nothing is read from disk. The method is looked up in `lookup`
 * (e.g. a plugin host's `registry.mergeMethods`), else among the built-ins; parameters are checked against the
 * method's declared `parameters`.
 */
export function parseMergeConfig(text: string, file: string, lookup?: MethodLookup): MergeConfig {
  const tooLarge = yamlSizeProblem(text, "a merge config, not data");
  if (tooLarge) throw new ConfigError(tooLarge, { file });
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(`YAML syntax: ${e.message.split("\n")[0]}`, {
      file,
      line: counter.linePos(e.pos[0]).line,
    });
  }
  const lineOf = (path: readonly (string | number)[], at: "key" | "value" = "value") => {
    const n = nodeAt(doc.contents, path, at);
    return n?.range ? counter.linePos(n.range[0]).line : undefined;
  };
  // Aliases are bounded by what they expand to (a bomb is refused), not by how many there are.
  const bomb = yamlExpansionProblem(doc);
  if (bomb) throw new ConfigError(bomb, { file, line: 1 });
  const data = doc.toJS({ maxAliasCount: -1 }) as unknown;
  return resolveMergeConfig(data, { file, text, lineOf, top: 1 }, lookup);
}

/**
 * A mergekit config given as an object (an embedding program's, or the merge arm of an experiment), checked and
 * resolved exactly as a parsed file is; `text` is its YAML (what `m2rl_merge_config.yml` records). Errors carry
 * `file` and the path, without lines.
 */
export function mergeConfigFromObject(
  raw: RawMergeConfig,
  options: { file?: string; lookup?: MethodLookup } = {},
): MergeConfig {
  const file = options.file ?? "<merge config>";
  return resolveMergeConfig(
    raw,
    { file, text: stringifyYaml(raw), lineOf: () => undefined, top: undefined },
    options.lookup,
  );
}

/** Validates the config's data (from YAML or an object) and resolves it; `lineOf` places errors in the text. */
function resolveMergeConfig(
  data: unknown,
  source: {
    file: string;
    text: string;
    lineOf: MergeConfig["lineOf"];
    /** Line of the config's top level: 1 in a file, none for an object. */
    top: number | undefined;
  },
  lookup: MethodLookup | undefined,
): MergeConfig {
  const { file, text, lineOf, top } = source;
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    if ("modules" in data) {
      throw new ConfigError(
        "'modules' (mergekit's per-module slices of multi-module models) is not supported by M2RL's merger (use 'models', or 'slices' for a single-module model)",
        { file, line: lineOf(["modules"], "key"), path: "modules" },
      );
    }
    // mergekit's MergeConfiguration.validate_inputs: exactly one of models, slices (modules is refused above)
    if ("models" in data && "slices" in data) {
      throw new ConfigError(
        "give either 'models' (whole models) or 'slices' (layer ranges), not both (mergekit: exactly one of 'models', 'slices' or 'modules')",
        { file, line: lineOf(["slices"], "key"), path: "slices" },
      );
    }
    if (!("models" in data) && !("slices" in data)) {
      throw new ConfigError(
        "needs 'models' (one entry per input model) or 'slices' (layer ranges to stack)",
        {
          file,
          line: top,
          path: "models",
        },
      );
    }
  }
  validator ??= configValidator(mergeConfigSchema);
  const validate = validator;
  if (!validate(data)) {
    const err = validate.errors![0];
    const path = err.instancePath
      .split("/")
      .slice(1)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, "/").replace(/~0/g, "~")));
    let msg = err.message ?? "invalid";
    if (err.keyword === "additionalProperties") {
      const extra = (err.params as { additionalProperty: string }).additionalProperty;
      path.push(extra);
      msg = `unknown field '${extra}'`;
    }
    throw new ConfigError(msg, {
      file,
      line: lineOf(path, err.keyword === "additionalProperties" ? "key" : "value"),
      path: path.join(".") || "(root)",
    });
  }
  const raw = data as RawMergeConfig;
  const method = findMergeMethod(raw.merge_method, lookup, {
    file,
    line: lineOf(["merge_method"]),
    path: "merge_method",
  });
  // with slices, a required parameter may be set per slice instead of at the top level (checked per slice)
  const topMethod = raw.slices ? relaxedMethod(method) : method;
  checkParameters(topMethod, raw.parameters ?? {}, "global", ["parameters"], file, lineOf);
  for (const [i, m] of (raw.models ?? []).entries()) {
    if (m.parameters)
      checkParameters(method, m.parameters, "model", ["models", i, "parameters"], file, lineOf);
  }
  const slices = raw.slices
    ? parseSlices(raw.slices, method, {
        file,
        lineOf,
        baseModel: raw.base_model,
        parameters: raw.parameters ?? {},
        checkParameters: (m, params, level, path) => checkParameters(m, params, level, path, file, lineOf),
      })
    : undefined;
  let models: MergeModelRef[] = slices
    ? [...new Set(slices.flatMap((s) => s.sources.map((src) => src.model)))]
        .filter((m) => method.base === "none" || m !== raw.base_model)
        .map((model, index) => ({ model, parameters: {}, index }))
    : raw.models!.map((m, index) => ({ model: m.model, parameters: m.parameters ?? {}, index }));
  // base, model counts and required parameters of a sliced config are checked per slice (parseSlices)
  if (!slices && method.base !== "none" && raw.base_model)
    models = models.filter((m) => m.model !== raw.base_model);
  if (!slices && method.base === "required" && !raw.base_model) {
    throw new ConfigError(`merge method '${method.name}' needs a base_model`, {
      file,
      line: top,
      path: "base_model",
    });
  }
  if (
    !slices &&
    (models.length < method.minModels || (method.maxModels !== undefined && models.length > method.maxModels))
  ) {
    const want =
      method.maxModels === method.minModels
        ? `exactly ${method.minModels}`
        : `at least ${method.minModels}${method.maxModels ? ` and at most ${method.maxModels}` : ""}`;
    throw new ConfigError(
      `merge method '${method.name}' takes ${want} model(s) besides the base, got ${models.length}`,
      { file, line: lineOf(["models"], "key"), path: "models" },
    );
  }
  // Required parameters (no default) must be set somewhere.
  for (const def of slices ? [] : method.parameters) {
    if (def.default !== undefined) continue;
    const globalSet = raw.parameters?.[def.name] !== undefined;
    const modelsSet = def.scope === "model" && models.every((m) => m.parameters[def.name] !== undefined);
    if (!globalSet && !modelsSet) {
      throw new ConfigError(`parameter '${def.name}' of '${method.name}' is required`, {
        file,
        line: lineOf(["parameters"], "key") ?? top,
        path: "parameters",
      });
    }
  }
  const dt = raw.out_dtype ?? raw.dtype;
  const outDtype = dt
    ? parseDtypeName(dt, { file, line: lineOf([raw.out_dtype ? "out_dtype" : "dtype"]), path: "dtype" })
    : undefined;
  const tokenizer = parseTokenizerSettings(raw, file, lineOf);
  if (raw.chat_template !== undefined) checkChatTemplate(raw.chat_template, file, lineOf(["chat_template"]));
  return {
    file,
    text,
    raw,
    method,
    baseModel: raw.base_model,
    models,
    slices,
    parameters: raw.parameters ?? {},
    outDtype,
    tokenizerSource: raw.tokenizer_source,
    tokenizer,
    chatTemplate: raw.chat_template,
    seed: raw.seed ?? 0,
    maxShardBytes:
      raw.out_shard_size !== undefined
        ? parseSize(raw.out_shard_size, { file, line: lineOf(["out_shard_size"]), path: "out_shard_size" })
        : 5e9,
    lineOf,
  };
}

/** The validator of each parameters schema (./validators.ts: precompiled for the built-in methods). */
const paramsValidators = new WeakMap<object, ValidateFunction>();

/**
 * Checks a `parameters:` block against the method's parameter schema (mergeParametersSchema: the schema an
 * experiment's merge arm is validated with); the first problem is a ConfigError at its line.
 */
function checkParameters(
  method: MergeMethod,
  params: Record<string, ParamSetting>,
  level: ParamsLevel,
  base: (string | number)[],
  file: string,
  lineOf: MergeConfig["lineOf"],
): void {
  const schema = mergeParametersSchema(method.parameters, level);
  let validate = paramsValidators.get(schema);
  if (!validate) {
    validate = paramsValidator(schema);
    paramsValidators.set(schema, validate);
  }
  if (validate(params)) return;
  // an if/then/else reports its branch's precise error first, then "must match then/else schema"
  const e = validate.errors!.find((x) => x.keyword !== "if") ?? validate.errors![0];
  const rel = e.instancePath
    .split("/")
    .slice(1)
    .map((x) => (/^\d+$/.test(x) ? Number(x) : x.replace(/~1/g, "/").replace(/~0/g, "~")));
  const name = String(rel[0] ?? "");
  const def = method.parameters.find((d) => d.name === name);
  const where = (path: (string | number)[], at: "key" | "value" = "value") => ({
    file,
    line: lineOf([...base, ...path], at) ?? lineOf(base, "key"),
    path: [...base, ...path].join("."),
  });
  const got = JSON.stringify(e.data);
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      if (rel.length > 0) {
        throw new ConfigError(
          `unknown field '${key}' in a {filter, value} entry of '${name}'`,
          where([...rel, key], "key"),
        );
      }
      const other = method.parameters.find((d) => d.name === key);
      if (level === "model" && other?.scope === "global") {
        throw new ConfigError(
          `'${key}' is a global parameter of '${method.name}'; set it under top-level parameters`,
          where([key], "key"),
        );
      }
      const known = Object.keys((schema as { properties: object }).properties).filter(
        (k) => !(k in NO_EFFECT_PARAMS),
      );
      throw new ConfigError(
        `unknown parameter '${key}' for merge method '${method.name}' (known: ${known.join(", ") || "none"})`,
        where([key], "key"),
      );
    }
    case "required":
      if (rel.length === 0) {
        const missing = String((e.params as { missingProperty: string }).missingProperty);
        throw new ConfigError(`parameter '${missing}' of '${method.name}' is required`, {
          file,
          line: lineOf(base, "key") ?? 1,
          path: base.join("."),
        });
      }
      throw new ConfigError(`each {filter, value} entry of '${name}' needs a 'value'`, where(rel));
    case "type": {
      const want = (e.params as { type: string }).type;
      const data = params[name];
      if (def && !def.perTensor && rel.length === 1 && typeof data === "object" && data !== null) {
        throw new ConfigError(`'${name}' cannot vary by tensor; give a single value`, where(rel));
      }
      if (want === "object" || want === "array") {
        throw new ConfigError(
          `'${name}' takes a list of numbers (a layer gradient) or a list of {filter, value} entries, not both; got ${JSON.stringify(data)}`,
          where(rel),
        );
      }
      if (rel.at(-1) === "filter")
        throw new ConfigError(`a filter of '${name}' must be a string, got ${got}`, where(rel));
      const what = want === "integer" ? "an integer" : `a ${want}`;
      throw new ConfigError(`'${name}' must be ${what}, got ${got}`, where(rel));
    }
    case "minimum":
    case "maximum": {
      const p = e.params as { comparison: string; limit: number };
      throw new ConfigError(`'${name}' must be ${p.comparison} ${p.limit}, got ${got}`, where(rel));
    }
    case "enum":
      throw new ConfigError(
        `'${name}' must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(", ")}, got ${got}`,
        where(rel),
      );
    case "minItems":
      throw new ConfigError(`'${name}' must not be an empty list`, where(rel));
    default:
      throw new ConfigError(`'${name}': ${e.message ?? e.keyword}`, where(rel));
  }
}

/**
 * mergekit's `chat_template` (merge.py _set_chat_template): `auto` (the template most inputs share), the name of
 * one of its templates (chatml, llama3, alpaca, mistral, exaone: engine/chat-templates.ts), or a Jinja template
 * (text with `{`, 20 characters or more).
 */
function checkChatTemplate(value: string, file: string, line: number | undefined): void {
  if (value === "auto" || Object.hasOwn(NAMED_CHAT_TEMPLATES, value)) return;
  if (value.length >= 20 && value.includes("{")) return;
  throw new ConfigError(
    `chat_template '${value}' is neither 'auto', a template name (${Object.keys(NAMED_CHAT_TEMPLATES).join(", ")}) ` +
      "nor a Jinja template",
    { file, line, path: "chat_template" },
  );
}

/**
 * mergekit's `evaluate_setting`: a scalar as is; a list of numbers is a gradient interpolated at `t` (0 at the
 * first layer, 1 at the last); a list of {filter, value} takes the first entry whose filter is absent, "*", or a
 * substring of the tensor name. Undefined when no entry matches.
 */
export function evaluateSetting(
  tensorName: string,
  setting: ParamSetting,
  t: number,
): MergeParamValue | undefined {
  if (!Array.isArray(setting)) return setting;
  if (setting.every((e) => typeof e === "number")) {
    const s = setting as number[];
    const scaled = t * (s.length - 1);
    const i0 = Math.floor(scaled);
    const i1 = Math.min(s.length - 1, i0 + 1);
    const frac = scaled - i0;
    return (1 - frac) * s[i0] + frac * s[i1];
  }
  for (const cond of setting as { filter?: string; value: MergeParamValue | number[] }[]) {
    if (cond.filter === undefined || cond.filter === "*" || tensorName.includes(cond.filter)) {
      return evaluateSetting(tensorName, cond.value as ParamSetting, t);
    }
  }
  return undefined;
}

/**
 * Layer fraction t for gradients, as mergekit's planner (plan.py plan_slice / plan_module, since its multi-module
 * rewrite): layer / (layers - 1), and 1 for a one-layer model; every non-layer tensor (embeddings, final norm, head)
 * t = 0. Older mergekit gave the tensors after the layers t = 1.
 */
export function layerFraction(name: string, numLayers: number): number {
  const l = layerIndex(name);
  if (l === undefined) return 0;
  return numLayers > 1 ? l / (numLayers - 1) : 1;
}

/**
 * The value of parameter `def` for `tensorName` at layer fraction `t`: the first of `settings` (most specific
 * first) that applies (integers rounded), else the default; a ConfigError naming the tensor when none applies.
 */
export function pickSetting(
  def: MergeParamDef,
  settings: readonly (ParamSetting | undefined)[],
  tensorName: string,
  t: number,
  file: string,
): MergeParamValue {
  for (const s of settings) {
    if (s === undefined) continue;
    const v = evaluateSetting(tensorName, s, t);
    if (v !== undefined) return def.type === "integer" && typeof v === "number" ? Math.round(v) : v;
  }
  if (def.default !== undefined) return def.default;
  throw new ConfigError(`no value of '${def.name}' applies to this tensor (add an entry without filter)`, {
    file,
    path: tensorName,
  });
}

/** Resolves every declared parameter of the method for one tensor (model value, then global, then default). */
export function resolveParams(
  config: MergeConfig,
  tensorName: string,
  numLayers: number,
): ResolvedMergeParams {
  const t = layerFraction(tensorName, numLayers);
  const global: Record<string, MergeParamValue> = {};
  const perModel: Record<string, MergeParamValue>[] = config.models.map(() => ({}));
  const pick = (def: MergeParamDef, settings: (ParamSetting | undefined)[]): MergeParamValue =>
    pickSetting(def, settings, tensorName, t, config.file);
  for (const def of config.method.parameters) {
    if (def.scope === "global") global[def.name] = pick(def, [config.parameters[def.name]]);
    else {
      config.models.forEach((m, i) => {
        perModel[i][def.name] = pick(def, [m.parameters[def.name], config.parameters[def.name]]);
      });
    }
  }
  return { global, perModel };
}
