/**
 * `merge_method: passthrough` (mergekit/merge_methods/passthrough.py) with `slices:`: layer stacking
 * (frankenmerges) with repeated and overlapping ranges, copied bit for bit, renumbered; the embeddings from the
 * first slice's model and the final norm and head from the last slice's (mergekit/plan.py pre_weights /
 * post_weights); `scale`; worker threads reading each slice's own checkpoint. The logits of a stacked Qwen2
 * against an independent NumPy forward pass are in packages/cli/test/frankenmerge.test.ts.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Rng } from "@m2rl/core/rng";
import { openCheckpoint } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeFromFile } from "../src/index.ts";
import { type FixtureTensor, randn, tempDir, writeModel } from "./fixtures.ts";

const LAYER_TENSORS = [
  ["input_layernorm.weight", [8]],
  ["self_attn.q_proj.weight", [8, 8]],
  ["self_attn.o_proj.weight", [8, 8]],
  ["mlp.up_proj.weight", [12, 8]],
  ["mlp.down_proj.weight", [8, 12]],
] as const;

let root: string;
let cleanup: () => Promise<void>;
/** model → tensor → raw stored bytes */
const stored = new Map<string, Map<string, Uint8Array>>();

async function model(
  name: string,
  layers: number,
  seed: number,
  opts: { tied?: boolean; dtype?: "BF16" } = {},
) {
  const rng = new Rng(seed);
  const spec: [string, number[]][] = [["model.embed_tokens.weight", [16, 8]]];
  for (let i = 0; i < layers; i++)
    for (const [n, s] of LAYER_TENSORS) spec.push([`model.layers.${i}.${n}`, [...s]]);
  spec.push(["model.norm.weight", [8]]);
  if (!opts.tied) spec.push(["lm_head.weight", [16, 8]]);
  const tensors: FixtureTensor[] = spec.map(([n, shape]) => ({
    name: n,
    shape,
    dtype: opts.dtype,
    data: randn(
      shape.reduce((a, b) => a * b, 1),
      rng,
    ),
  }));
  const dir = await writeModel(join(root, name), tensors, {
    config: {
      model_type: "llama",
      num_hidden_layers: layers,
      hidden_size: 8,
      vocab_size: 16,
      tie_word_embeddings: !!opts.tied,
      torch_dtype: opts.dtype === "BF16" ? "bfloat16" : "float32",
    },
    tokenizer: `{"from":"${name}"}`,
  });
  const ck = await openCheckpoint(dir);
  stored.set(
    name,
    new Map(await Promise.all(ck.names.map(async (n) => [n, (await ck.readRaw(n)).slice()] as const))),
  );
  await ck.close();
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("m2rl-franken-"));
  await model("m3", 3, 1);
  await model("p4", 4, 2);
  await model("tied", 3, 3, { tied: true });
  await model("bf", 3, 4, { dtype: "BF16" });
});
afterAll(async () => cleanup?.());

async function merge(
  yml: string,
  name: string,
  workers = 0,
): Promise<{
  out: string;
  raw: Map<string, Uint8Array>;
  f32: Map<string, Float32Array>;
  cfg: Record<string, unknown>;
}> {
  const cfgFile = join(root, `${name}.yml`);
  await writeFile(cfgFile, yml);
  const out = join(root, `out-${name}`);
  await mergeFromFile(cfgFile, { outDir: out, durable: false, workers });
  const ck = await openCheckpoint(out);
  const raw = new Map<string, Uint8Array>();
  const f32 = new Map<string, Float32Array>();
  for (const n of ck.names) {
    raw.set(n, (await ck.readRaw(n)).slice());
    f32.set(n, Float32Array.from(await ck.readFloat32(n)));
  }
  await ck.close();
  return { out, raw, f32, cfg: JSON.parse(await readFile(join(out, "config.json"), "utf8")) };
}

const slice = (model: string, a: number, b: number) =>
  `  - sources:\n      - model: ${model}\n        layer_range: [${a}, ${b}]\n`;

/** Output layer → [model, source layer], checked tensor by tensor, bit for bit. */
function expectStack(raw: Map<string, Uint8Array>, origins: [string, number][]): void {
  const layerNames = [...raw.keys()].filter((n) => n.includes(".layers."));
  expect(layerNames).toHaveLength(origins.length * LAYER_TENSORS.length);
  origins.forEach(([m, l], j) => {
    for (const [n] of LAYER_TENSORS) {
      expect(raw.get(`model.layers.${j}.${n}`), `layer ${j} ${n} = ${m} layer ${l}`).toEqual(
        stored.get(m)!.get(`model.layers.${l}.${n}`),
      );
    }
  });
}

describe("passthrough frankenmerges", () => {
  it("[0, 2) + [1, 3) of a 3-layer model: 4 layers, the middle one twice, bit for bit", async () => {
    const r = await merge(
      `merge_method: passthrough\nslices:\n${slice("m3", 0, 2)}${slice("m3", 1, 3)}`,
      "overlap",
    );
    expectStack(r.raw, [
      ["m3", 0],
      ["m3", 1],
      ["m3", 1],
      ["m3", 2],
    ]);
    for (const n of ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"])
      expect(r.raw.get(n)).toEqual(stored.get("m3")!.get(n));
    expect(r.cfg.num_hidden_layers).toBe(4);
    expect(r.raw.size).toBe(4 * LAYER_TENSORS.length + 3);
  });

  it("a range repeated, and ranges of two models (orcamini-platy style): embeddings from the first slice's model, norm and head from the last's, config and tokenizer from the first", async () => {
    const r = await merge(
      `merge_method: passthrough\ndtype: float32\nslices:\n${slice("p4", 1, 3)}${slice("m3", 0, 3)}${slice("p4", 1, 3)}`,
      "two-models",
      2,
    );
    expectStack(r.raw, [
      ["p4", 1],
      ["p4", 2],
      ["m3", 0],
      ["m3", 1],
      ["m3", 2],
      ["p4", 1],
      ["p4", 2],
    ]);
    expect(r.raw.get("model.embed_tokens.weight")).toEqual(
      stored.get("p4")!.get("model.embed_tokens.weight"),
    );
    expect(r.raw.get("model.norm.weight")).toEqual(stored.get("p4")!.get("model.norm.weight"));
    expect(r.cfg.num_hidden_layers).toBe(7);
    expect(await readFile(join(r.out, "tokenizer.json"), "utf8")).toBe('{"from":"p4"}');
    // the last slice's model is m3 here: norm and head from it, config from base_model
    const r2 = await merge(
      `merge_method: passthrough\nbase_model: m3\nslices:\n${slice("p4", 0, 1)}${slice("m3", 2, 3)}`,
      "two-models-base",
    );
    expect(r2.raw.get("model.embed_tokens.weight")).toEqual(
      stored.get("p4")!.get("model.embed_tokens.weight"),
    );
    expect(r2.raw.get("model.norm.weight")).toEqual(stored.get("m3")!.get("model.norm.weight"));
    expect(r2.raw.get("lm_head.weight")).toEqual(stored.get("m3")!.get("lm_head.weight"));
    expect(await readFile(join(r2.out, "tokenizer.json"), "utf8")).toBe('{"from":"m3"}');
    expect(r2.cfg.num_hidden_layers).toBe(2);
  });

  it("scale multiplies, per source and by filter (mergekit's passthrough scale)", async () => {
    const r = await merge(
      `merge_method: passthrough
slices:
  - sources:
      - model: m3
        layer_range: [0, 2]
        parameters:
          scale:
            - filter: o_proj
              value: 0
            - filter: down_proj
              value: 0.5
            - value: 1
  - sources:
      - model: m3
        layer_range: [0, 1]
    parameters:
      scale: [2]
`,
      "scale",
    );
    const f = (m: string, n: string) => {
      const b = stored.get(m)!.get(n)!;
      return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    };
    expect([...r.f32.get("model.layers.1.self_attn.o_proj.weight")!].every((x) => x === 0)).toBe(true);
    expect([...r.f32.get("model.layers.1.mlp.down_proj.weight")!]).toEqual(
      [...f("m3", "model.layers.1.mlp.down_proj.weight")].map((x) => Math.fround(x * 0.5)),
    );
    expect(r.raw.get("model.layers.1.mlp.up_proj.weight")).toEqual(
      stored.get("m3")!.get("model.layers.1.mlp.up_proj.weight"),
    );
    expect([...r.f32.get("model.layers.2.mlp.up_proj.weight")!]).toEqual(
      [...f("m3", "model.layers.0.mlp.up_proj.weight")].map((x) => Math.fround(x * 2)),
    );
    // the embeddings take the first slice's settings at t = 0 (the catch-all 1), the head the last slice's (2)
    expect(r.raw.get("model.embed_tokens.weight")).toEqual(
      stored.get("m3")!.get("model.embed_tokens.weight"),
    );
    expect([...r.f32.get("lm_head.weight")!]).toEqual(
      [...f("m3", "lm_head.weight")].map((x) => Math.fround(x * 2)),
    );
  });

  it("a tied model stays tied (no lm_head written), bfloat16 stays bit for bit", async () => {
    const r = await merge(
      `merge_method: passthrough\nslices:\n${slice("tied", 0, 3)}${slice("tied", 2, 3)}`,
      "tied",
    );
    expect(r.raw.has("lm_head.weight")).toBe(false);
    expect(r.cfg.tie_word_embeddings).toBe(true);
    expect(r.cfg.num_hidden_layers).toBe(4);
    const b = await merge(
      `merge_method: passthrough\nslices:\n${slice("bf", 2, 3)}${slice("bf", 0, 3)}`,
      "bf16",
      2,
    );
    expectStack(b.raw, [
      ["bf", 2],
      ["bf", 0],
      ["bf", 1],
      ["bf", 2],
    ]);
    const ck = await openCheckpoint(b.out);
    expect(new Set(ck.tensors().map((t) => t.dtype))).toEqual(new Set(["BF16"]));
    await ck.close();
  });

  it("with models: one model is copied as is (mergekit turns models into one full-range slice)", async () => {
    const r = await merge("merge_method: passthrough\nmodels:\n  - model: m3\n", "models-copy");
    for (const [n, bytes] of stored.get("m3")!) expect(r.raw.get(n), n).toEqual(bytes);
    expect(r.cfg.num_hidden_layers).toBe(3);
  });
});
