/**
 * mergekit `slices:` (config.py OutputSliceDefinition / InputSliceDefinition, plan.py MergePlanner): parsing with
 * line-numbered refusals, per-slice layer gradients (t = i / (n − 1) within each slice, t = 0 for the non-layer
 * tensors), parameters looked up source → slice → top level, the output config's layer count and per-layer lists.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@m2rl/core/errors";
import { Rng } from "@m2rl/core/rng";
import { openCheckpoint } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkOutputConfig,
  evaluateSetting,
  mergeFromFile,
  parseMergeConfig,
  planMerge,
  slerpVectors,
} from "../src/index.ts";
import { type FixtureTensor, randn, tempDir, writeModel } from "./fixtures.ts";

/** A tiny Qwen2-shaped model: names and shapes as transformers writes them. */
function layout(layers: number, tied = false): [string, number[]][] {
  const h = 8;
  const out: [string, number[]][] = [["model.embed_tokens.weight", [16, h]]];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      [`${p}.input_layernorm.weight`, [h]],
      [`${p}.self_attn.q_proj.weight`, [h, h]],
      [`${p}.self_attn.q_proj.bias`, [h]],
      [`${p}.self_attn.k_proj.weight`, [4, h]],
      [`${p}.self_attn.k_proj.bias`, [4]],
      [`${p}.self_attn.v_proj.weight`, [4, h]],
      [`${p}.self_attn.v_proj.bias`, [4]],
      [`${p}.self_attn.o_proj.weight`, [h, h]],
      [`${p}.post_attention_layernorm.weight`, [h]],
      [`${p}.mlp.gate_proj.weight`, [12, h]],
      [`${p}.mlp.up_proj.weight`, [12, h]],
      [`${p}.mlp.down_proj.weight`, [h, 12]],
    );
  }
  out.push(["model.norm.weight", [h]]);
  if (!tied) out.push(["lm_head.weight", [16, h]]);
  return out;
}

function qwen2Config(layers: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    vocab_size: 16,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: layers,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    torch_dtype: "float32",
    layer_types: Array.from({ length: layers }, () => "full_attention"),
    ...extra,
  };
}

let root: string;
let cleanup: () => Promise<void>;
const weights = new Map<string, Map<string, Float32Array>>();

async function model(
  name: string,
  layers: number,
  seed: number,
  config: Record<string, unknown> = qwen2Config(layers),
): Promise<string> {
  const rng = new Rng(seed);
  const tensors: FixtureTensor[] = layout(layers).map(([n, shape]) => ({
    name: n,
    shape,
    data: randn(
      shape.reduce((a, b) => a * b, 1),
      rng,
      0.5,
    ),
  }));
  weights.set(name, new Map(tensors.map((t) => [t.name, t.data as Float32Array])));
  return writeModel(join(root, name), tensors, { config });
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("m2rl-slices-"));
  await model("a", 5, 1);
  await model("b", 5, 2);
  await model("c3", 3, 3);
});
afterAll(async () => cleanup?.());

function err(text: string): ConfigError {
  try {
    parseMergeConfig(text, join(root, "merge.yml"));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

async function merge(yml: string, name: string): Promise<{ out: string; t: Map<string, Float32Array> }> {
  const cfg = join(root, `${name}.yml`);
  await writeFile(cfg, yml);
  const out = join(root, `out-${name}`);
  await mergeFromFile(cfg, { outDir: out, durable: false, workers: 0 });
  const ck = await openCheckpoint(out);
  const t = new Map<string, Float32Array>();
  for (const n of ck.names) t.set(n, Float32Array.from(await ck.readFloat32(n)));
  await ck.close();
  return { out, t };
}

function close(actual: Float32Array | undefined, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual, "tensor present").toBeDefined();
  expect(actual!.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual![i] - expected[i]) <= tol))
      throw new Error(`index ${i}: got ${actual![i]}, expected ${expected[i]}`);
  }
}

const w = (model: string, name: string) => weights.get(model)!.get(name)!;

describe("slices: parsing", () => {
  it("reads sources, layer ranges, per-slice and per-source parameters; models lists each model once", () => {
    const c = parseMergeConfig(
      `slices:
  - sources:
      - model: a
        layer_range: [0, 3]
        parameters: {weight: 2}
      - model: b
        layer_range: [2, 5]
    parameters: {weight: 0.5}
  - sources:
      - model: a
        layer_range: [1, 2]
merge_method: linear
parameters: {normalize: false}
`,
      "m.yml",
    );
    expect(c.slices).toHaveLength(2);
    expect(c.slices![0]).toMatchObject({ layers: 3, offset: 0, parameters: { weight: 0.5 } });
    expect(c.slices![0].sources.map((s) => [s.model, s.layerRange, s.parameters])).toEqual([
      ["a", [0, 3], { weight: 2 }],
      ["b", [2, 5], {}],
    ]);
    expect(c.slices![1]).toMatchObject({ layers: 1, offset: 3 });
    expect(c.models.map((m) => m.model)).toEqual(["a", "b"]);
    // a base-using method's models are the others (as with models:), e.g. gradient-slerp's one model
    const g = parseMergeConfig(
      "merge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: b\n        layer_range: [0, 2]\n",
      "m.yml",
    );
    expect(g.models.map((m) => m.model)).toEqual(["b"]);
  });

  it("refuses what cannot work, naming the file and line", () => {
    // sources of one slice spanning different numbers of layers
    let e = err(
      "merge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 4]\n      - model: b\n        layer_range: [0, 3]\n",
    );
    expect(e.message).toMatch(
      /merge\.yml:9 slices\.0\.sources\.1\.layer_range: all sources of a slice must span the same number of layers .*a \[0, 4\] has 4, b \[0, 3\] has 3/,
    );
    // both models and slices (mergekit: exactly one of models, slices, modules)
    e = err(
      "merge_method: passthrough\nmodels:\n  - model: a\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n",
    );
    expect(e.message).toMatch(/merge\.yml:4 slices: give either 'models' .* or 'slices' .*, not both/);
    e = err("merge_method: passthrough\n");
    expect(e.message).toMatch(/merge\.yml:1 models: needs 'models' .* or 'slices'/);
    // modules
    e = err("merge_method: passthrough\nmodules:\n  text_decoder:\n    slices: []\n");
    expect(e.message).toMatch(/merge\.yml:2 modules: 'modules' .* is not supported/);
    // an empty or reversed range
    e = err(
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [3, 3]\n",
    );
    expect(e.message).toMatch(
      /merge\.yml:5 slices\.0\.sources\.0\.layer_range: layer_range \[3, 3\] of a is empty/,
    );
    // not a pair of non-negative integers
    e = err(
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [-1, 2]\n",
    );
    expect(e.message).toMatch(/merge\.yml:5 slices\.0\.sources\.0\.layer_range\.0: must be >= 0/);
    e = err(
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2, 4]\n",
    );
    expect(e.message).toMatch(
      /merge\.yml:5 slices\.0\.sources\.0\.layer_range: must NOT have more than 2 items/,
    );
    // passthrough copies one source per slice
    e = err(
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: b\n        layer_range: [0, 2]\n",
    );
    expect(e.message).toMatch(
      /merge\.yml:3 slices\.0\.sources: merge method 'passthrough' takes exactly 1 source\(s\) per slice, this slice has 2/,
    );
    // a model twice in one slice
    e = err(
      "merge_method: linear\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: a\n        layer_range: [2, 4]\n",
    );
    expect(e.message).toMatch(/merge\.yml:6 slices\.0\.sources\.1\.model: a is a source of this slice twice/);
    // slerp's base must be one of the slice's sources
    e = err(
      "merge_method: slerp\nbase_model: c\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: b\n        layer_range: [0, 2]\n",
    );
    expect(e.message).toMatch(
      /merge\.yml:5 slices\.0\.sources: .*needs its base_model among the slice's sources: c/,
    );
    // a required parameter set in neither the top level nor a slice
    e = err(
      "merge_method: slerp\nbase_model: a\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: b\n        layer_range: [0, 2]\n    parameters: {t: 0.3}\n  - sources:\n      - model: a\n        layer_range: [2, 3]\n      - model: b\n        layer_range: [2, 3]\n",
    );
    expect(e.message).toMatch(/merge\.yml:10 slices\.1: parameter 't' of 'slerp' is required/);
    // unknown fields and parameters, at their lines
    e = err("merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layers: [0, 2]\n");
    expect(e.message).toMatch(
      /merge\.yml:4 slices\.0\.sources\.0: must have required property 'layer_range'/,
    );
    e = err(
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n        parameters: {scal: 2}\n",
    );
    expect(e.message).toMatch(
      /merge\.yml:6 slices\.0\.sources\.0\.parameters\.scal: unknown parameter 'scal'/,
    );
    e = err(
      "merge_method: slerp\nbase_model: a\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: b\n        layer_range: [0, 2]\n        parameters: {t: 0.5}\n",
    );
    expect(e.message).toMatch(/merge\.yml:9 .*'t' is a global parameter of 'slerp'/);
  });

  it("refuses a layer_range past a model's last layer when the checkpoints are opened, at its line", async () => {
    const c = parseMergeConfig(
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n  - sources:\n      - model: c3\n        layer_range: [1, 4]\n",
      join(root, "m.yml"),
    );
    await expect(planMerge(c, { skipDiskCheck: true })).rejects.toThrow(
      /m\.yml:8 slices\.1\.sources\.0\.layer_range: layer_range \[1, 4\] reaches past the last layer of c3: it has 3 layers \(0 … 2\)/,
    );
  });

  it("tokenizer_source that keeps the vocabulary is accepted; one that changes it is refused at its line", async () => {
    const folder = await model("tk", 2, 9);
    const vocab = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, i]));
    await writeFile(
      join(folder, "tokenizer.json"),
      JSON.stringify({ model: { type: "BPE", vocab }, added_tokens: [] }),
    );
    const head =
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: tk\n        layer_range: [0, 2]\n";
    const same = await planMerge(parseMergeConfig(`${head}tokenizer_source: base\n`, join(root, "m.yml")), {
      skipDiskCheck: true,
    });
    expect(same.tokenizerPath).toBe(folder);
    expect(same.configUpdates).toEqual({
      num_hidden_layers: 2,
      layer_types: ["full_attention", "full_attention"],
    });
    const c = parseMergeConfig(
      `${head}tokenizer:\n  source: base\n  tokens:\n    new_token: {}\n`,
      join(root, "m.yml"),
    );
    await expect(planMerge(c, { skipDiskCheck: true })).rejects.toThrow(
      /m\.yml:7 tokenizer\.source: .*not supported with slices/,
    );
  });

  it("refuses a whole-model pre-pass (ties trim_scope: model) over slices", async () => {
    const c = parseMergeConfig(
      "merge_method: ties\nbase_model: a\nparameters: {trim_scope: model, density: 0.5}\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: b\n        layer_range: [0, 2]\n",
      join(root, "m.yml"),
    );
    await expect(planMerge(c, { skipDiskCheck: true })).rejects.toThrow(
      /m\.yml:4 slices: .*whole-model pre-pass/,
    );
  });
});

describe("slices: merging", () => {
  it("gradient-slerp.yml's shape: t per layer from the filtered gradients, t = 0 for the non-layer tensors", async () => {
    const { out, t } = await merge(
      `slices:
  - sources:
      - model: a
        layer_range: [0, 5]
      - model: b
        layer_range: [0, 5]
merge_method: slerp
base_model: a
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - filter: model.norm
      value: [0.2, 0.9]
    - value: 0.5
`,
      "gradient-slerp",
    );
    const attn = [0, 0.5, 0.3, 0.7, 1];
    const mlp = [1, 0.5, 0.7, 0.3, 0];
    for (let i = 0; i < 5; i++) {
      // 5 layers: layer i at t = i / 4, where the 5-point gradients sit exactly on their points
      expect(evaluateSetting("self_attn", attn, i / 4)).toBeCloseTo(attn[i], 12);
      for (const [n, tv] of [
        [`model.layers.${i}.self_attn.o_proj.weight`, attn[i]],
        [`model.layers.${i}.self_attn.q_proj.bias`, attn[i]],
        [`model.layers.${i}.mlp.down_proj.weight`, mlp[i]],
        [`model.layers.${i}.input_layernorm.weight`, 0.5],
      ] as const) {
        close(t.get(n), slerpVectors(tv, w("a", n), w("b", n)), 1e-6);
      }
    }
    // the final norm is merged at t = 0 (mergekit's post_weights), not at the last layer's t = 1
    close(
      t.get("model.norm.weight"),
      slerpVectors(0.2, w("a", "model.norm.weight"), w("b", "model.norm.weight")),
    );
    for (const n of ["model.embed_tokens.weight", "lm_head.weight"])
      close(t.get(n), slerpVectors(0.5, w("a", n), w("b", n)));
    const cfg = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
    expect(cfg.num_hidden_layers).toBe(5);
    expect(cfg.layer_types).toHaveLength(5);
  });

  it("each slice runs its own gradient; parameters come from the source, else the slice, else the top level", async () => {
    const { t } = await merge(
      `merge_method: linear
parameters:
  normalize: false
  weight: 0.25
slices:
  - sources:
      - model: a
        layer_range: [0, 3]
        parameters:
          weight: [0, 1]
      - model: b
        layer_range: [1, 4]
    parameters:
      weight: 2
  - sources:
      - model: b
        layer_range: [4, 5]
      - model: a
        layer_range: [4, 5]
        parameters:
          weight: [{filter: layers.4., value: 3}, {value: 5}]
`,
      "params",
    );
    const n = (i: number, rest = "mlp.up_proj.weight") => `model.layers.${i}.${rest}`;
    // slice 0: output layer i from a's layer i (weight i / 2: t = 0, 0.5, 1) and b's layer i + 1 (slice weight 2)
    for (let i = 0; i < 3; i++) {
      const wa = i / 2;
      close(
        t.get(n(i)),
        w("a", n(i)).map((x, k) => wa * x + 2 * w("b", n(i + 1))[k]),
        1e-5,
      );
    }
    // slice 1 (one layer, t = 1): b's layer 4 at the top-level weight 0.25; a's per-model filter matches the
    // source tensor's name (layers.4.), not the output's (layers.3.), as mergekit's plan_tensor reads it
    close(
      t.get(n(3)),
      w("b", n(4)).map((x, k) => 0.25 * x + 3 * w("a", n(4))[k]),
      1e-5,
    );
    // non-layer tensors: embeddings over the first slice's sources, norm and head over the last slice's, t = 0
    const e = "model.embed_tokens.weight";
    close(
      t.get(e),
      w("a", e).map((x, k) => 0 * x + 2 * w("b", e)[k]),
      1e-5,
    );
    const h = "lm_head.weight";
    close(
      t.get(h),
      w("b", h).map((x, k) => 0.25 * x + 5 * w("a", h)[k]),
      1e-5,
    );
  });

  it("a slice's own base_model overrides the top-level one", async () => {
    const { t } = await merge(
      `merge_method: slerp
base_model: a
parameters: {t: 0.25}
slices:
  - sources:
      - model: a
        layer_range: [0, 1]
      - model: b
        layer_range: [0, 1]
  - sources:
      - model: a
        layer_range: [1, 2]
      - model: b
        layer_range: [1, 2]
    base_model: b
`,
      "slice-base",
    );
    const n0 = "model.layers.0.mlp.gate_proj.weight";
    const n1 = "model.layers.1.mlp.gate_proj.weight";
    close(t.get(n0), slerpVectors(0.25, w("a", n0), w("b", n0)));
    close(t.get(n1), slerpVectors(0.25, w("b", n1), w("a", n1)));
  });
});

describe("slices: the output's config.json", () => {
  it("num_hidden_layers, layer_types, mlp_only_layers and max_window_layers follow the new layers", async () => {
    const types = ["full_attention", "full_attention", "sliding_attention", "sliding_attention"];
    await model(
      "sw",
      4,
      7,
      qwen2Config(4, {
        layer_types: types,
        use_sliding_window: true,
        sliding_window: 4,
        max_window_layers: 2,
        mlp_only_layers: [1, 3],
      }),
    );
    const { out } = await merge(
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: sw\n        layer_range: [0, 3]\n  - sources:\n      - model: sw\n        layer_range: [2, 4]\n",
      "config-lists",
    );
    const cfg = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
    expect(cfg.num_hidden_layers).toBe(5);
    // output layers come from sw's layers 0, 1, 2, 2, 3
    expect(cfg.layer_types).toEqual([types[0], types[1], types[2], types[2], types[3]]);
    expect(cfg.mlp_only_layers).toEqual([1, 4]);
    expect(cfg.max_window_layers).toBe(2);
    // a stack whose sliding layers come before full ones: layer_types says it, max_window_layers cannot
    const cfgPath = join(root, "sw-swap.yml");
    await writeFile(
      cfgPath,
      "merge_method: passthrough\nslices:\n  - sources:\n      - model: sw\n        layer_range: [2, 4]\n  - sources:\n      - model: sw\n        layer_range: [0, 2]\n",
    );
    const plan = await planMerge(parseMergeConfig(await readFile(cfgPath, "utf8"), cfgPath), {
      skipDiskCheck: true,
    });
    expect(plan.configUpdates?.layer_types).toEqual([types[2], types[3], types[0], types[1]]);
    expect(plan.warnings.join("\n")).toMatch(/max_window_layers cannot say/);
  });

  it("checkOutputConfig refuses a per-layer list of the wrong length and a layer index past the last layer", async () => {
    const shapes = new Map<string, number[]>([
      ["model.layers.0.mlp.up_proj.weight", [2, 2]],
      ["model.layers.1.mlp.up_proj.weight", [2, 2]],
    ]);
    await expect(
      checkOutputConfig({ num_hidden_layers: 2, layer_types: ["full_attention"] }, shapes, "config.json"),
    ).rejects.toThrow(
      /config\.json layer_types: has 1 entries \(one per layer\), but num_hidden_layers is 2/,
    );
    await expect(
      checkOutputConfig({ num_hidden_layers: 2, mlp_only_layers: [2] }, shapes, "config.json"),
    ).rejects.toThrow(/mlp_only_layers: holds 2, not a layer index below num_hidden_layers 2/);
    await checkOutputConfig(
      { num_hidden_layers: 2, layer_types: ["full_attention", "full_attention"], mlp_only_layers: [1] },
      shapes,
      "config.json",
    );
  });
});
