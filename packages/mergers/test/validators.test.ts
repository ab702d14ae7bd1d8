/**
 * The precompiled validators (src/config/validators.generated.ts, from scripts/merge-validators.ts): the file is
 * what the generator writes today (a changed schema, parameter list or ajv fails here until it is regenerated),
 * every built-in schema is found in it, and each precompiled validator judges inputs exactly as ajv compiling the
 * same schema at run time does: same verdict, same errors (keyword, instancePath, params, message, data).
 */
import { readFileSync } from "node:fs";
import type { MergeParamDef } from "@m2rl/core/merge";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { GENERATED_PATH, generateValidators } from "../../../scripts/merge-validators.ts";
import { mergeParametersSchema } from "../src/config/params-schema.ts";
import {
  CONFIG_AJV_OPTIONS,
  PARAMS_AJV_OPTIONS,
  precompiledConfigSchemas,
  precompiledParamsSchemas,
  schemaKey,
} from "../src/config/precompile.ts";
import { mergeConfigSchema } from "../src/config/schema.ts";
import { relaxedMethod } from "../src/config/slices.ts";
import { PRECOMPILED } from "../src/config/validators.generated.ts";
import { configValidator, paramsValidator } from "../src/config/validators.ts";
import { BUILTIN_METHODS } from "../src/index.ts";

const precompiled = PRECOMPILED as {
  config: Record<string, ValidateFunction>;
  params: Record<string, ValidateFunction>;
};

/** The parts of an error checkParameters and parseMergeConfig read (schemaPath and the schemas may differ). */
function shape(errors: readonly ErrorObject[] | null | undefined) {
  return (errors ?? []).map((e) => ({
    keyword: e.keyword,
    instancePath: e.instancePath,
    params: e.params,
    message: e.message,
    data: e.data,
  }));
}

function expectSameVerdicts(pre: ValidateFunction, fresh: ValidateFunction, inputs: unknown[]): void {
  for (const input of inputs) {
    const a = pre(structuredClone(input));
    const b = fresh(structuredClone(input));
    expect({ input, valid: a, errors: shape(pre.errors) }).toEqual({
      input,
      valid: b,
      errors: shape(fresh.errors),
    });
  }
}

/** Values that probe every rule of one parameter's schema: type, enum, bounds, gradients, filter lists. */
function probes(d: MergeParamDef): unknown[] {
  const good = d.type === "boolean" ? true : d.type === "string" ? (d.enum?.[0] ?? "x") : (d.minimum ?? 0.5);
  const out: unknown[] = [good, null, {}, "text", 1.5, -3, 7, 0, true, [], [good], [good, good]];
  if (d.minimum !== undefined) out.push(d.minimum - 1, [d.minimum - 1], [{ value: d.minimum - 1 }]);
  if (d.maximum !== undefined)
    out.push(d.maximum + 1, [0, d.maximum + 1], [{ filter: "a", value: [d.maximum + 1] }]);
  if (d.enum) out.push("not-a-choice", [{ value: "not-a-choice" }]);
  out.push(
    [{ filter: "self_attn", value: good }, { value: good }],
    [{ filter: 3, value: good }],
    [{ filter: "a" }],
    [{ value: good, extra: 1 }],
    [{ value: [] }],
    [{ value: [good, "x"] }],
    [good, { value: good }],
    [{ value: good }, good],
    [[good]],
  );
  return out;
}

describe("precompiled merge-config validators", () => {
  it("the generated file is what scripts/merge-validators.ts writes now (else: npm run validators -w @m2rl/mergers)", () => {
    expect(readFileSync(GENERATED_PATH, "utf8")).toBe(generateValidators());
  });

  it("every built-in schema is precompiled and found by its key", () => {
    for (const schema of precompiledConfigSchemas()) {
      expect(configValidator(schema)).toBe(precompiled.config[schemaKey(schema)]);
    }
    const params = precompiledParamsSchemas();
    expect(params.length).toBe(Object.keys(precompiled.params).length);
    for (const m of BUILTIN_METHODS) {
      for (const schema of [
        mergeParametersSchema(m.parameters, "global"),
        mergeParametersSchema(m.parameters, "model"),
        mergeParametersSchema(relaxedMethod(m).parameters, "global"),
      ]) {
        expect(paramsValidator(schema), `${m.name}`).toBe(precompiled.params[schemaKey(schema)]);
      }
    }
  });

  it("a schema that is not precompiled (a plugin method's) is compiled at run time, with the same options", () => {
    const schema = mergeParametersSchema([
      {
        name: "alpha",
        type: "number",
        scope: "global",
        perTensor: true,
        minimum: 0,
        description: "plugin's",
      },
    ]);
    const validate = paramsValidator(schema);
    expect(Object.values(precompiled.params)).not.toContain(validate);
    expect(validate({ alpha: [0.1, 0.2] })).toBe(true);
    expect(validate({ alpha: [{ value: -1 }] })).toBe(false);
    expect(shape(validate.errors)[0]).toMatchObject({
      keyword: "minimum",
      instancePath: "/alpha/0/value",
      data: -1,
    });
  });

  it("each built-in method's parameters validators judge like ajv compiling the schema now", () => {
    const ajv = new Ajv(PARAMS_AJV_OPTIONS);
    for (const m of BUILTIN_METHODS) {
      for (const [level, schema] of [
        ["global", mergeParametersSchema(m.parameters, "global")],
        ["model", mergeParametersSchema(m.parameters, "model")],
        ["relaxed", mergeParametersSchema(relaxedMethod(m).parameters, "global")],
      ] as const) {
        const defs = m.parameters.filter((d) => level !== "model" || d.scope === "model");
        const inputs: unknown[] = [
          {},
          null,
          [],
          "x",
          { unknown_key: 1 },
          { int8_mask: true },
          { int8_mask: 1 },
        ];
        const all: Record<string, unknown> = {};
        for (const d of defs) {
          for (const v of probes(d)) inputs.push({ [d.name]: v });
          all[d.name] = probes(d)[0];
        }
        inputs.push(all, { ...all, unknown_key: 1 });
        // two bad parameters at once: which one is reported first
        if (defs.length >= 2) inputs.push({ [defs[0].name]: null, [defs[1].name]: null });
        expectSameVerdicts(paramsValidator(schema), ajv.compile(schema as object), inputs);
      }
    }
  });

  it("the config validator judges like ajv compiling mergeConfigSchema now", () => {
    const fresh = new Ajv(CONFIG_AJV_OPTIONS).compile(mergeConfigSchema as object);
    const model = { model: "a" };
    expectSameVerdicts(configValidator(mergeConfigSchema), fresh, [
      { merge_method: "ties", base_model: "b", models: [model, { model: "c", parameters: { weight: 1 } }] },
      {},
      { merge_method: "" },
      { merge_method: 3 },
      { merge_method: "linear", models: [] },
      { merge_method: "linear", models: [{}] },
      { merge_method: "linear", models: [{ model: "" }] },
      { merge_method: "linear", models: [{ model: "a", extra: 1 }] },
      { merge_method: "linear", models: [{ model: "a", parameters: [] }] },
      { merge_method: "linear", models: [model], typo: 1 },
      { merge_method: "linear", models: [model], dtype: 16 },
      { merge_method: "linear", models: [model], seed: -1 },
      { merge_method: "linear", models: [model], seed: 1.5 },
      { merge_method: "linear", models: [model], out_shard_size: 0 },
      { merge_method: "linear", models: [model], out_shard_size: "5B" },
      { merge_method: "linear", models: [model], out_shard_size: [] },
      { merge_method: "linear", models: [model], tokenizer_source: "" },
      { merge_method: "linear", models: [model], tokenizer_source: "\u{1F600}" },
      { merge_method: "linear", models: [model], tokenizer: { source: "union", pad_to_multiple_of: 64 } },
      { merge_method: "linear", models: [model], tokenizer: { tokens: { "<x>": { source: 3 } } } },
      { merge_method: "linear", models: [model], tokenizer: { tokens: { "<x>": { force: "yes" } } } },
      { merge_method: "linear", models: [model], tokenizer: { extra: true } },
      { merge_method: "passthrough", slices: [{ sources: [{ model: "a", layer_range: [0, 4] }] }] },
      { merge_method: "passthrough", slices: [{ sources: [] }] },
      { merge_method: "passthrough", slices: [{ sources: [{ model: "a", layer_range: [0] }] }] },
      { merge_method: "passthrough", slices: [{ sources: [{ model: "a", layer_range: [0, -1] }] }] },
      { merge_method: "passthrough", slices: [{ sources: [{ model: "a" }] }] },
      {
        merge_method: "passthrough",
        slices: [{ sources: [{ model: "a", layer_range: [0, 1] }], residual_weight: "x" }],
      },
      { merge_method: "passthrough", slices: [{ sources: [{ model: "a", layer_range: [0, 1] }], x: 1 }] },
    ]);
  });
});
