import { ConfigError } from "@m2rl/core/errors";
import { describe, expect, it } from "vitest";
import {
  evaluateSetting,
  layerFraction,
  mergeConfigFromObject,
  parseMergeConfig,
  resolveParams,
} from "../src/index.ts";

function err(text: string): ConfigError {
  try {
    parseMergeConfig(text, "merge.yml");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("mergekit settings", () => {
  it("gradients interpolate over layers, filters pick the first matching entry", () => {
    expect(evaluateSetting("x", [0, 1], 0.25)).toBeCloseTo(0.25);
    expect(evaluateSetting("x", [0, 0.5, 1], 0.75)).toBeCloseTo(0.75);
    expect(evaluateSetting("x", [0, 0.5, 0.3, 0.7, 1], 0.5)).toBeCloseTo(0.3);
    const s = [{ filter: "self_attn", value: [0, 1] }, { filter: "mlp", value: 0.9 }, { value: 0.5 }];
    expect(evaluateSetting("model.layers.3.self_attn.q_proj.weight", s, 0.5)).toBeCloseTo(0.5);
    expect(evaluateSetting("model.layers.3.mlp.up_proj.weight", s, 0.5)).toBe(0.9);
    expect(evaluateSetting("model.norm.weight", s, 1)).toBe(0.5);
    expect(evaluateSetting("model.norm.weight", [{ filter: "mlp", value: 1 }], 1)).toBeUndefined();
  });
  it("layer fraction: first layer 0, last 1, embeddings 0, head 1", () => {
    expect(layerFraction("model.layers.0.mlp.weight", 5)).toBe(0);
    expect(layerFraction("model.layers.4.mlp.weight", 5)).toBe(1);
    expect(layerFraction("model.layers.2.mlp.weight", 5)).toBe(0.5);
    expect(layerFraction("model.embed_tokens.weight", 5)).toBe(0);
    // mergekit's plan_module plans the tensors around the layers at t = 0; a one-layer model's layer is at t = 1
    expect(layerFraction("lm_head.weight", 5)).toBe(0);
    expect(layerFraction("model.norm.weight", 5)).toBe(0);
    expect(layerFraction("model.layers.0.mlp.weight", 1)).toBe(1);
  });
  it("resolves per-model values, then global ones, then defaults, per tensor", () => {
    const c = parseMergeConfig(
      `merge_method: ties
base_model: base
models:
  - model: base
  - model: a
    parameters:
      density: [{filter: mlp, value: 0.3}, {value: 0.7}]
  - model: b
    parameters: {weight: 2}
parameters:
  density: 0.5
  lambda: [1, 2]
  int8_mask: true
dtype: bfloat16
seed: 9
`,
      "m.yml",
    );
    expect(c.models.map((m) => m.model)).toEqual(["a", "b"]); // base entry dropped
    expect(c.outDtype).toBe("BF16");
    expect(c.seed).toBe(9);
    const mlp = resolveParams(c, "model.layers.1.mlp.weight", 3);
    expect(mlp.perModel).toEqual([
      { weight: 1, density: 0.3 },
      { weight: 2, density: 0.5 },
    ]);
    expect(mlp.global).toEqual({ normalize: true, lambda: 1.5, trim_scope: "tensor" });
    expect(resolveParams(c, "model.layers.1.self_attn.weight", 3).perModel[0].density).toBe(0.7);
  });
});

describe("merge config errors name the file and line", () => {
  it("unknown method", () => {
    const e = err("models:\n  - model: a\nmerge_method: tie\n");
    expect(e.message).toMatch(
      /^merge\.yml:3 merge_method: unknown merge_method 'tie' \(did you mean 'ties'\?\) \(known: linear, /,
    );
  });
  it("unknown parameter, at the model and at the top", () => {
    const e = err(
      "merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n    parameters:\n      densty: 0.5\n",
    );
    expect(e.message).toMatch(
      /^merge\.yml:6 models\.0\.parameters\.densty: unknown parameter 'densty' for merge method 'ties'/,
    );
    expect(err("merge_method: linear\nmodels:\n  - model: a\nparameters:\n  t: 0.5\n").line).toBe(5);
  });
  it("wrong types and ranges", () => {
    expect(err("merge_method: linear\nmodels:\n  - model: a\nparameters:\n  normalize: 3\n").message).toMatch(
      /:5 parameters\.normalize: 'normalize' must be a boolean, got 3/,
    );
    expect(
      err("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n    parameters: {density: 1.5}\n")
        .message,
    ).toMatch(/:5 .*'density' must be <= 1, got 1\.5/);
    expect(
      err("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\nparameters:\n  trim_scope: layer\n")
        .message,
    ).toMatch(/must be one of tensor, model/);
  });
  it("schema violations, YAML syntax, unsupported features", () => {
    expect(err("merge_method: linear\nmodels:\n  - model: a\nmodel_typo: 1\n").message).toMatch(
      /merge\.yml:4 model_typo: unknown field 'model_typo'/,
    );
    expect(err("merge_method: linear\nmodels: []\n").message).toMatch(
      /models: must NOT have fewer than 1 items/,
    );
    expect(err("merge_method: linear\nmodels:\n  - model: a\n   bad: [\n").message).toMatch(
      /^merge\.yml:\d+: YAML syntax/,
    );
    expect(err("merge_method: linear\nmodules:\n  text: {}\n").message).toMatch(
      /:2 modules: 'modules' \(mergekit's per-module slices of multi-module models\) is not supported/,
    );
    expect(
      err(
        "merge_method: linear\nmodels:\n  - model: a\ntokenizer_source: union\ntokenizer:\n  source: base\n",
      ).message,
    ).toMatch(/:5 tokenizer: set tokenizer_source or the tokenizer block, not both/);
    expect(err("merge_method: linear\nmodels:\n  - model: a\ndtype: int8\n").message).toMatch(
      /unsupported dtype 'int8'/,
    );
  });
  it("method constraints: base needed, model counts, global parameters at model level, per-tensor values", () => {
    expect(err("merge_method: ties\nmodels:\n  - model: a\n").message).toMatch(/'ties' needs a base_model/);
    expect(
      err("merge_method: slerp\nbase_model: b\nmodels:\n  - model: a\n  - model: c\nparameters: {t: 0.5}\n")
        .message,
    ).toMatch(/'slerp' takes exactly 1 model\(s\) besides the base, got 2/);
    expect(err("merge_method: slerp\nbase_model: b\nmodels:\n  - model: a\n").message).toMatch(
      /parameter 't' of 'slerp' is required/,
    );
    expect(
      err("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n    parameters: {lambda: 2}\n").message,
    ).toMatch(/'lambda' is a global parameter/);
    expect(
      err(
        "merge_method: ties\nbase_model: b\nmodels:\n  - model: a\nparameters:\n  normalize: [{filter: mlp, value: true}]\n",
      ).message,
    ).toMatch(/'normalize' cannot vary by tensor/);
  });
});

describe("merge config resource limits", () => {
  it("an alias bomb is a ConfigError naming the file (never a raw yaml exception), quickly", () => {
    let text = 'a0: &a0 ["lol"]\n';
    for (let i = 1; i <= 10; i++)
      text += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(", ")}]\n`;
    text += "merge_method: linear\nmodels:\n  - model: a\n";
    const t0 = performance.now();
    const err = (() => {
      try {
        parseMergeConfig(text, "bomb.yml");
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^bomb\.yml:1: the document expands to more than 1,000,000 nodes/);
  });

  it("many references to one small anchor are fine (expanded size, not alias count)", () => {
    const models = Array.from(
      { length: 200 },
      (_, i) => `  - model: m${i}\n    parameters: { weight: ${i ? "*w" : "&w 0.5"} }\n`,
    );
    const text = `merge_method: linear\ndtype: float32\nmodels:\n${models.join("")}`;
    const c = parseMergeConfig(text, "many.yml");
    expect(c.models).toHaveLength(200);
  });
});

describe("mergeConfigFromObject", () => {
  it("resolves an object exactly as the YAML of the same config, and records that YAML", () => {
    const raw = {
      merge_method: "ties",
      base_model: "base",
      models: [
        { model: "a", parameters: { weight: 0.7 } },
        { model: "b", parameters: { weight: [0, 1] } },
      ],
      parameters: { density: 0.4 },
      dtype: "bfloat16",
      seed: 9,
    };
    const fromObject = mergeConfigFromObject(raw, { file: "arm merge:ties" });
    const fromText = parseMergeConfig(fromObject.text, "merge.yml");
    const { lineOf: _a, file: _f, text: _t, ...o } = fromObject;
    const { lineOf: _b, file: _g, text: _u, ...p } = fromText;
    expect(o).toEqual(p);
    expect(o.method.name).toBe("ties");
    expect(o.models.map((m) => m.model)).toEqual(["a", "b"]);
    expect(o.outDtype).toBe("BF16");
    expect(o.seed).toBe(9);
    expect(fromObject.file).toBe("arm merge:ties");
  });
  it("refuses a bad object with the path and no invented line", () => {
    const bad = (raw: Record<string, unknown>) => {
      try {
        mergeConfigFromObject(raw as never);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
      }
      throw new Error("expected a ConfigError");
    };
    const e = bad({
      merge_method: "ties",
      models: [{ model: "a" }, { model: "b" }],
      parameters: { density: 0.5 },
    });
    expect(e.message).toMatch(/needs a base_model/);
    expect(e.line).toBeUndefined();
    expect(
      bad({ merge_method: "linear", models: [{ model: "a" }], parameters: { dinsity: 1 } }).message,
    ).toMatch(/unknown parameter 'dinsity'/);
  });
});
