/**
 * The JSON Schema of a merge method's parameters, derived from its declared `parameters` (MergeParamDef list).
 * One definition, three users: it is a built-in method's registered `optionsSchema` (an experiment's
 * `merge:<method>` arm `parameters:`, checked by `m2rl validate` and `m2rl run`), and what a mergekit YAML's
 * top-level and per-model `parameters:` are checked against (`m2rl merge`, and the config `m2rl run` writes for a
 * merge arm).
 */
import type { MergeParamDef } from "@m2rl/core/merge";
import type { JSONSchema } from "@m2rl/core/plugin";

/**
 * Parameters mergekit accepts on its task-arithmetic methods that change nothing here (int8_mask only saves
 * memory there; masks are exact here). Accepted at the top level, as booleans.
 */
export const NO_EFFECT_PARAMS: Readonly<Record<string, JSONSchema>> = {
  int8_mask: {
    type: "boolean",
    description: "mergekit's int8 masks (memory only); accepted, no effect here: masks are always exact.",
  },
};

/** Where a parameters block sits: mergekit's top-level `parameters:` (and an arm's), or a model's. */
export type ParamsLevel = "global" | "model";

const cache = new WeakMap<readonly MergeParamDef[], Partial<Record<ParamsLevel, JSONSchema>>>();

/**
 * The schema of a parameters block for a method declaring `parameters` (cached: one object per list and level).
 * "global": every parameter (a per-model one set there applies to every model), plus the no-effect ones; the
 * global parameters without default are required. "model": the per-model parameters only.
 * A per-tensor parameter takes a value, a layer gradient (a list of numbers, number types only) or a list of
 * `{filter, value}` entries whose value is a value or a gradient (mergekit's `evaluate_setting`); any other takes a
 * single value. Types, `enum`, `minimum` and `maximum` hold for every value, inside lists too.
 */
export function mergeParametersSchema(
  parameters: readonly MergeParamDef[],
  level: ParamsLevel = "global",
): JSONSchema {
  let byLevel = cache.get(parameters);
  if (!byLevel) {
    byLevel = {};
    cache.set(parameters, byLevel);
  }
  const found = byLevel[level];
  if (found) return found;
  const defs = parameters.filter((d) => level === "global" || d.scope === "model");
  const properties: Record<string, JSONSchema> = {};
  for (const d of defs) properties[d.name] = settingSchema(d);
  if (level === "global") Object.assign(properties, NO_EFFECT_PARAMS);
  const required = level === "global" ? defs.filter((d) => d.default === undefined).map((d) => d.name) : [];
  const schema: JSONSchema = {
    type: "object",
    additionalProperties: false,
    properties,
    ...(required.length ? { required } : {}),
  };
  byLevel[level] = schema;
  return schema;
}

function valueSchema(d: MergeParamDef): JSONSchema {
  const s: JSONSchema = { type: d.type };
  if (d.enum) s.enum = [...d.enum];
  if (d.minimum !== undefined) s.minimum = d.minimum;
  if (d.maximum !== undefined) s.maximum = d.maximum;
  return s;
}

function describe(d: MergeParamDef): string {
  const scope = d.scope === "model" ? "per model" : "global";
  const def = d.default === undefined ? "required" : `default ${JSON.stringify(d.default)}`;
  const varies = d.perTensor ? "; may vary by tensor (layer gradient or {filter, value} list)" : "";
  return `${d.description} (${scope}, ${def}${varies})`;
}

/**
 * Lists are told apart with if/then/else rather than anyOf, so that a bad value gets one precise error (its path
 * and the broken rule) instead of one per alternative.
 */
function settingSchema(d: MergeParamDef): JSONSchema {
  const value = valueSchema(d);
  if (!d.perTensor) return { ...value, description: describe(d) };
  const numeric = d.type === "number" || d.type === "integer";
  const gradient: JSONSchema = { type: "array", minItems: 1, items: value };
  const valueOrGradient: JSONSchema = numeric ? ifThenElse({ type: "array" }, gradient, value) : value;
  const entry: JSONSchema = {
    type: "object",
    required: ["value"],
    additionalProperties: false,
    properties: { filter: { type: "string" }, value: valueOrGradient },
  };
  const entries: JSONSchema = { type: "array", minItems: 1, items: entry };
  const list: JSONSchema = numeric
    ? {
        type: "array",
        minItems: 1,
        // no object among the items: a layer gradient; else every item is a {filter, value} entry
        ...ifThenElse({ items: { not: { type: "object" } } }, gradient, entries),
      }
    : entries;
  return { description: describe(d), ...ifThenElse({ type: "array" }, list, value) };
}

/** JSON Schema's if / then / else. */
function ifThenElse(cond: JSONSchema, yes: JSONSchema, no: JSONSchema): JSONSchema {
  // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword here
  return { if: cond, then: yes, else: no };
}
