/**
 * Bad weights are refused: a NaN / ±Inf in any input chunk, or produced in an output chunk, fails the merge naming
 * the file, the tensor and the first flat index (unless allowNonFinite, which warns once per tensor); an embedding
 * whose hidden size differs is an error, not a submatrix; and the output's config.json must describe its tensors
 * (vocab_size, hidden_size, num_hidden_layers, the whole layout of a supported architecture), else no output.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeFloat32 } from "@m2rl/core/checkpoint";
import { CheckpointError } from "@m2rl/core/errors";
import { Rng } from "@m2rl/core/rng";
import { openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkOutputConfig,
  firstNonFiniteIn,
  firstNonFiniteJs,
  firstNonFiniteStored,
  mergeFromFile,
  parseMergeConfig,
  planMerge,
  runMerge,
} from "../src/index.ts";
import { type FixtureTensor, makeFamily, randn, tempDir, writeModel } from "./fixtures.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("m2rl-merge-safety-"));
});
afterEach(async () => cleanup());

async function yml(text: string): Promise<string> {
  const p = join(dir, "merge.yml");
  await writeFile(p, text);
  return p;
}

async function expectNoOutput(): Promise<void> {
  expect((await readdir(dir)).filter((f) => f.startsWith("out") || f.includes(".tmp"))).toEqual([]);
}

const BIG = "model.layers.0.mlp.down_proj.weight";
const CHUNK = 1 << 16;

/** The family with ft1's big tensor (160000 elements: three chunks of CHUNK) altered by `edit`. */
async function familyWith(edit: (big: Float32Array) => void): Promise<FixtureTensor[][]> {
  const f = await makeFamily(dir, 2, { big: [400, 400] });
  const ft1 = f.tensors[2].map((t) => (t.name === BIG ? { ...t, data: Float32Array.from(t.data) } : t));
  edit(ft1.find((t) => t.name === BIG)!.data as Float32Array);
  await writeModel(join(dir, "ft1"), ft1);
  return f.tensors;
}

describe("non-finite weights", () => {
  it("the scans find the first NaN / ±Inf of several arrays, across blocks, and in stored F32 / BF16 / F16", () => {
    const n = 200_003; // three blocks of 2^16 and a tail
    const xs = [0, 1, 2].map((k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + k) * 1e30));
    expect(firstNonFiniteIn(xs)).toBeUndefined();
    for (const [which, index, v] of [
      [1, 131_072, Number.NaN],
      [2, 200_002, Number.NEGATIVE_INFINITY],
      [0, 65_535, Number.POSITIVE_INFINITY],
    ] as const) {
      const ys = xs.map((x) => x.slice());
      ys[which][index] = v;
      ys[2][index + 1 < n ? index + 1 : 0] = Number.NaN; // a later one (or another array's, later in order)
      expect(firstNonFiniteIn(ys)).toEqual({
        which: which === 2 ? 2 : which,
        index: which === 2 ? 0 : index,
      });
      expect(firstNonFiniteJs(ys[which])).toBe(which === 2 ? 0 : index);
    }
    const x = Float32Array.from({ length: n }, (_, i) => i % 1000);
    for (const dt of ["F32", "BF16", "F16"] as const)
      expect(firstNonFiniteStored(encodeFloat32(dt, x), dt)).toBeUndefined();
    x[150_000] = 1e5; // finite in F32 and BF16, Infinity in F16
    x[170_000] = Number.NaN;
    expect(firstNonFiniteStored(encodeFloat32("F16", x), "F16")).toEqual({ index: 150_000, value: Infinity });
    expect(firstNonFiniteStored(encodeFloat32("BF16", x), "BF16")?.index).toBe(170_000);
    expect(firstNonFiniteStored(encodeFloat32("F32", x), "F32")?.index).toBe(170_000);
  });

  const ta = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\n";

  for (const workers of [0, 2]) {
    it(`an input NaN fails the merge: file, tensor, first flat index (whole-tensor index in a chunk; ${workers} workers)`, async () => {
      await familyWith((x) => {
        x[100_000] = Number.NaN; // in the second chunk
        x[150_000] = Number.POSITIVE_INFINITY;
      });
      const cfg = await yml(ta);
      const e = await mergeFromFile(cfg, { outDir: join(dir, "out"), workers, chunkElements: CHUNK }).catch(
        (x) => x,
      );
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toMatch(
        /ft1\/model\.safetensors model\.layers\.0\.mlp\.down_proj\.weight: non-finite input value NaN at flat index 100000 /,
      );
      expect(e.message).toMatch(/--allow-nonfinite/);
      await expectNoOutput();
    });
  }

  it("an Inf in a base tensor merged whole is found too", async () => {
    const f = await makeFamily(dir, 1);
    const base = f.tensors[0].map((t) =>
      t.name === "model.norm.weight"
        ? { ...t, data: Float32Array.from([1, 2, 3, -Infinity, 5, 6, 7, 8]) }
        : t,
    );
    await writeModel(join(dir, "base"), base);
    const cfg = await yml("merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n");
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 })).rejects.toThrow(
      /base\/model\.safetensors model\.norm\.weight: non-finite input value -Infinity at flat index 3 /,
    );
    await expectNoOutput();
  });

  it("an output value that is not finite once stored (float16 overflow) fails, naming the output file", async () => {
    const big = (v: number) => [
      { name: "model.layers.0.mlp.up_proj.weight", shape: [2, 2], data: new Float32Array(4).fill(v) },
    ];
    await writeModel(join(dir, "a"), big(1e5));
    await writeModel(join(dir, "b"), big(2e5)); // the mean, 1.5e5, is finite in F32; float16's largest is 65504
    const cfg = await yml("merge_method: linear\nmodels:\n  - model: a\n  - model: b\ndtype: float16\n");
    const e = await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 }).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(
      /out\/model\.safetensors model\.layers\.0\.mlp\.up_proj\.weight: non-finite output value Infinity at flat index 0 /,
    );
    await expectNoOutput();
  });

  it("allowNonFinite: the merge completes with the NaN in place and warns once per tensor", async () => {
    await familyWith((x) => {
      x[7] = Number.NaN;
      x[100_000] = Number.NaN;
    });
    const cfg = await yml(ta);
    const seen: string[] = [];
    const report = await mergeFromFile(cfg, {
      outDir: join(dir, "out"),
      workers: 0,
      chunkElements: CHUNK,
      allowNonFinite: true,
      onWarning: (w) => seen.push(w),
    });
    const mine = report.warnings.filter((w) => /non-finite/.test(w));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(
      /model\.layers\.0\.mlp\.down_proj\.weight: non-finite input value NaN at flat index 7 .*ft1/,
    );
    expect(seen).toEqual(mine);
    const ck = await openCheckpoint(join(dir, "out"));
    const out = await ck.readFloat32(BIG);
    await ck.close();
    expect(Number.isNaN(out[7])).toBe(true);
    expect(Number.isNaN(out[100_000])).toBe(true);
    expect(Number.isNaN(out[8])).toBe(false);
  });
});

describe("embedding shapes and the output config", () => {
  it("an embedding whose hidden size differs ([8, 16] vs [16, 8]) is an error naming the model, tensor, shapes", async () => {
    const f = await makeFamily(dir, 2);
    const ft1 = f.tensors[2].map((t) =>
      t.name === "model.embed_tokens.weight" ? { ...t, shape: [8, 16] } : t,
    );
    await writeModel(join(dir, "ft1"), ft1);
    const cfg = await yml(
      "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\n",
    );
    const e = await mergeFromFile(cfg, { outDir: join(dir, "out") }).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(
      /model\.embed_tokens\.weight: model ft1 has \[8, 16\], base \[16, 8\]: only the row count \(the vocabulary\) may differ/,
    );
    await expectNoOutput();
  });

  it("rows may differ, but not from the vocab_size of the config.json that goes with the output", async () => {
    const rng = new Rng(3);
    const cfgJson = { model_type: "custom", vocab_size: 6, hidden_size: 2, torch_dtype: "float32" };
    const embed = (rows: number) => [
      { name: "model.embed_tokens.weight", shape: [rows, 2], data: randn(rows * 2, rng) },
    ];
    await writeModel(join(dir, "base"), embed(6), { config: cfgJson });
    await writeModel(join(dir, "a"), embed(5), { config: { ...cfgJson, vocab_size: 5 } });
    const cfg = await yml("merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n");
    const e = await mergeFromFile(cfg, { outDir: join(dir, "out") }).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(
      /config\.json vocab_size: is 6, but the output's model\.embed_tokens\.weight has 5 rows/,
    );
    await expectNoOutput();
  });

  it("hidden_size and num_hidden_layers must match the tensors", async () => {
    await makeFamily(dir, 1); // embed [16, 8], layers 0 and 1
    const base = join(dir, "base", "config.json");
    const cfg = await yml("merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n");
    await writeFile(base, JSON.stringify({ model_type: "custom", vocab_size: 16, hidden_size: 6 }));
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
      /config\.json hidden_size: is 6, but the output's model\.embed_tokens\.weight has 8 columns/,
    );
    await writeFile(base, JSON.stringify({ model_type: "custom", vocab_size: 16, num_hidden_layers: 3 }));
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
      /config\.json num_hidden_layers: is 3, but the output holds layers 0\.\.1 \(2\)/,
    );
    await writeFile(base, JSON.stringify({ model_type: "custom", vocab_size: 16, num_hidden_layers: 2 }));
    await mergeFromFile(cfg, { outDir: join(dir, "out") });
  });

  describe("a supported architecture: every tensor its config implies, with its shape", () => {
    const llama = {
      model_type: "llama",
      vocab_size: 6,
      hidden_size: 4,
      intermediate_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      tie_word_embeddings: true,
      torch_dtype: "float32",
    };
    const layout: [string, number[]][] = [
      ["model.embed_tokens.weight", [6, 4]],
      ["model.layers.0.input_layernorm.weight", [4]],
      ["model.layers.0.self_attn.q_proj.weight", [4, 4]],
      ["model.layers.0.self_attn.k_proj.weight", [2, 4]],
      ["model.layers.0.self_attn.v_proj.weight", [2, 4]],
      ["model.layers.0.self_attn.o_proj.weight", [4, 4]],
      ["model.layers.0.post_attention_layernorm.weight", [4]],
      ["model.layers.0.mlp.gate_proj.weight", [8, 4]],
      ["model.layers.0.mlp.up_proj.weight", [8, 4]],
      ["model.layers.0.mlp.down_proj.weight", [4, 8]],
      ["model.norm.weight", [4]],
    ];
    async function models(config: Record<string, unknown>, keep: (name: string) => boolean): Promise<string> {
      const rng = new Rng(5);
      for (const m of ["base", "ft0"]) {
        const ts = layout
          .filter(([n]) => keep(n))
          .map(([name, shape]) => ({
            name,
            shape,
            data: randn(
              shape.reduce((a, b) => a * b, 1),
              rng,
            ),
          }));
        await writeModel(join(dir, m), ts, { config });
      }
      return yml("merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n");
    }

    it("the complete layout merges", async () => {
      const cfg = await models(llama, () => true);
      await mergeFromFile(cfg, { outDir: join(dir, "out") });
      expect(JSON.parse(await readFile(join(dir, "out", "config.json"), "utf8")).vocab_size).toBe(6);
    });
    it("a tensor the config implies is missing", async () => {
      const cfg = await models(llama, (n) => !n.includes("k_proj"));
      await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
        /config\.json: the config implies model\.layers\.0\.self_attn\.k_proj\.weight \[2, 4\], which the output lacks/,
      );
      await expectNoOutput();
    });
    it("a tensor with another shape than the config implies", async () => {
      const cfg = await models({ ...llama, intermediate_size: 6 }, () => true);
      await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
        /config\.json: the config implies model\.layers\.0\.mlp\.gate_proj\.weight \[6, 4\], the output has \[8, 4\]/,
      );
      await expectNoOutput();
    });
  });

  it("the check runs again on the written output: a config.json changed after planning leaves no output", async () => {
    await makeFamily(dir, 1);
    const good = { model_type: "custom", vocab_size: 16, hidden_size: 8, num_hidden_layers: 2 };
    await writeFile(join(dir, "base", "config.json"), JSON.stringify(good));
    const text = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n";
    const plan = await planMerge(parseMergeConfig(text, join(dir, "m.yml")), { outDir: join(dir, "out") });
    await writeFile(join(dir, "base", "config.json"), JSON.stringify({ ...good, vocab_size: 17 }));
    await expect(runMerge(plan, { outDir: join(dir, "out"), workers: 0 })).rejects.toThrow(
      /out\/config\.json vocab_size: is 17, but the output's model\.embed_tokens\.weight has 16 rows/,
    );
    await expectNoOutput();
  });

  it("checkOutputConfig: lm_head rows, layer gaps; configs of other architectures get the field checks only", async () => {
    const t = (entries: [string, number[]][]) => new Map(entries);
    const ok = t([
      ["model.embed_tokens.weight", [10, 4]],
      ["model.layers.0.w", [4]],
      ["model.layers.1.w", [4]],
      ["lm_head.weight", [10, 4]],
    ]);
    await checkOutputConfig(
      { model_type: "mistral", vocab_size: 10, hidden_size: 4, num_hidden_layers: 2 },
      ok,
      "c.json",
    );
    await expect(
      checkOutputConfig({ vocab_size: 10 }, t([...ok, ["lm_head.weight", [9, 4]]]), "c.json"),
    ).rejects.toThrow(/c\.json vocab_size: is 10, but the output's lm_head\.weight has 9 rows/);
    await expect(
      checkOutputConfig(
        { num_hidden_layers: 3 },
        t(
          [...ok, ["model.layers.2.w", [4]]].filter(([n]) => n !== "model.layers.1.w") as [
            string,
            number[],
          ][],
        ),
        "c.json",
      ),
    ).rejects.toThrow(/c\.json num_hidden_layers: layer 1 is missing from the output/);
  });
});
