/**
 * One definition of a merge method's parameters, three users: the JSON Schema derived from a method's declared
 * `parameters` is its registered `optionsSchema` (an experiment's `merge:<method>` arm), and what a mergekit YAML's
 * top-level and per-model `parameters:` are checked against (`m2rl merge`, and `m2rl run`'s merge arms).
 */
import { ConfigError } from "@m2rl/core/errors";
import { PluginHost } from "@m2rl/core/plugin";
import { describe, expect, it } from "vitest";
import {
  BUILTIN_METHODS,
  mergeMethodsPlugin,
  mergeParametersSchema,
  parseMergeConfig,
  resolveParams,
  slerp,
  ties,
} from "../src/index.ts";

const host = new PluginHost([mergeMethodsPlugin]);
const problems = (method: string, options: unknown) => {
  const info = host.registry.mergeMethods.find(method)!;
  return host
    .validateOptions("@m2rl/mergers", info.optionsSchema, options, ["parameters"])
    .map((p) => `${p.path.join(".")}: ${p.message}`);
};

function err(text: string): ConfigError {
  try {
    parseMergeConfig(text, "merge.yml");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

const TIES = "merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n";

describe("each built-in method's options schema is derived from its parameters", () => {
  it("is registered as optionsSchema, the same object the derivation returns", () => {
    for (const m of BUILTIN_METHODS) {
      expect(m.optionsSchema, m.name).toBeDefined();
      expect(m.optionsSchema).toBe(mergeParametersSchema(m.parameters));
      expect(host.registry.mergeMethods.find(m.name)?.optionsSchema).toBe(m.optionsSchema);
      const props = Object.keys((m.optionsSchema as { properties: object }).properties);
      expect(props).toEqual(expect.arrayContaining(m.parameters.map((d) => d.name)));
    }
  });

  it("refuses unknown keys, wrong types, out-of-range values and enum misses", () => {
    expect(problems("ties", { densty: 0.2 })).toEqual([
      "parameters.densty: unknown key 'densty' (did you mean 'density'?)",
    ]);
    expect(problems("ties", { density: "high" })).toEqual([
      'parameters.density: must be number (got string "high")',
    ]);
    expect(problems("ties", { density: 1.5 })).toEqual(["parameters.density: must be <= 1"]);
    expect(problems("ties", { trim_scope: "layer" })[0]).toMatch(
      /^parameters\.trim_scope: must be one of "tensor", "model"/,
    );
    expect(problems("karcher", { max_iter: 2.5 })).toEqual([
      "parameters.max_iter: must be integer (got number 2.5)",
    ]);
    // a parameter that cannot vary by tensor takes a single value
    expect(problems("ties", { normalize: [{ filter: "mlp", value: true }] })).toEqual([
      "parameters.normalize: must be boolean (got array)",
    ]);
    // slerp's t has no default: required
    expect(problems("slerp", {})).toEqual(["parameters: missing required key 't'"]);
  });

  it("accepts what mergekit accepts: scalars, layer gradients, {filter, value} lists, int8_mask", () => {
    expect(problems("ties", { density: 0.2, lambda: [1, 2], int8_mask: true })).toEqual([]);
    expect(problems("ties", { density: [0.1, 0.5] })).toEqual([]);
    expect(problems("ties", { density: [{ filter: "mlp", value: 0.3 }, { value: [0.1, 0.5] }] })).toEqual([]);
    expect(problems("slerp", { t: [{ filter: "self_attn", value: [0, 0.5, 1] }, { value: 0.5 }] })).toEqual(
      [],
    );
    // ranges hold inside gradients and filter lists too
    expect(problems("ties", { density: [0.1, 1.5] })).toEqual(["parameters.density.1: must be <= 1"]);
    expect(problems("ties", { density: [{ filter: "mlp", value: -0.3 }] })).toEqual([
      "parameters.density.0.value: must be >= 0",
    ]);
    expect(problems("ties", { density: [{ filter: "mlp" }] })).toEqual([
      "parameters.density.0: missing required key 'value'",
    ]);
    expect(problems("ties", { density: [0.1, { value: 0.3 }] })).toEqual([
      "parameters.density.0: must be object (got number 0.1)",
    ]);
  });

  it("the per-model schema holds the per-model parameters only", () => {
    const s = mergeParametersSchema(ties.parameters, "model") as { properties: object };
    expect(Object.keys(s.properties).sort()).toEqual(["density", "weight"]);
    expect(mergeParametersSchema(slerp.parameters, "model")).toBe(
      mergeParametersSchema(slerp.parameters, "model"),
    );
  });
});

describe("mergekit YAML parameters follow the same schema, with file and line", () => {
  it("values inside gradients and filter lists are checked (they were not)", () => {
    expect(err(`${TIES}parameters:\n  density: [0.1, 1.5]\n`).message).toMatch(
      /^merge\.yml:6 parameters\.density\.1: 'density' must be <= 1, got 1\.5/,
    );
    expect(
      err(`${TIES}    parameters:\n      density:\n        - filter: mlp\n          value: -1\n`).message,
    ).toMatch(/^merge\.yml:8 models\.0\.parameters\.density\.0\.value: 'density' must be >= 0, got -1/);
    expect(err(`${TIES}parameters:\n  density: [{filter: mlp}]\n`).message).toMatch(
      /:6 parameters\.density\.0: each \{filter, value\} entry of 'density' needs a 'value'/,
    );
    expect(err(`${TIES}parameters:\n  density: [0.1, {value: 0.2}]\n`).message).toMatch(
      /:6 parameters\.density\.0: 'density' takes a list of numbers \(a layer gradient\) or a list of \{filter, value\} entries/,
    );
    expect(err(`${TIES}parameters:\n  density: [{filter: mlp, value: 0.2, weight: 1}]\n`).message).toMatch(
      /:6 parameters\.density\.0\.weight: unknown field 'weight' in a \{filter, value\} entry of 'density'/,
    );
    expect(err(`${TIES}parameters:\n  int8_mask: 3\n`).message).toMatch(
      /'int8_mask' must be a boolean, got 3/,
    );
  });

  it("per-model gradients and filters stay accepted and resolve per tensor", () => {
    const c = parseMergeConfig(
      `${TIES}    parameters:\n      density: [0.2, 0.6]\n      weight: [{filter: mlp, value: [1, 3]}, {value: 0.5}]\n`,
      "m.yml",
    );
    const p = resolveParams(c, "model.layers.1.mlp.weight", 3);
    expect(p.perModel[0].density).toBeCloseTo(0.4);
    expect(p.perModel[0].weight).toBeCloseTo(2);
    expect(resolveParams(c, "model.layers.1.self_attn.weight", 3).perModel[0].weight).toBe(0.5);
  });
});
