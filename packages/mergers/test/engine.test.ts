import { readdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError, ConfigError } from "@m2rl/core/errors";
import { openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  analyzeUpdates,
  METHODS,
  mergeFromFile,
  parseMergeConfig,
  planMerge,
  ties,
  updateStats,
} from "../src/index.ts";
import { makeFamily, tempDir, writeModel } from "./fixtures.ts";
import { input } from "./helpers.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

async function yml(text: string): Promise<string> {
  const p = join(dir, "merge.yml");
  await writeFile(p, text);
  return p;
}

async function readAll(path: string): Promise<Map<string, Float32Array>> {
  const ck = await openCheckpoint(path);
  const out = new Map<string, Float32Array>();
  for (const n of ck.names) out.set(n, Float32Array.from(await ck.readFloat32(n)));
  await ck.close();
  return out;
}

/** Leaves in `dir`: no output folder and no temp folder. */
async function expectNoOutput(): Promise<void> {
  const left = (await readdir(dir)).filter((f) => f.startsWith("out"));
  expect(left).toEqual([]);
}

describe("update statistics", () => {
  it("density per model and sign agreement among entries changed by two or more models (hand-computed)", () => {
    const f = (xs: number[]) => Float32Array.from(xs);
    const base = f([0, 0, 0, 0, 0]);
    const [a, b, c, d] = [f([1, 0, -1, 2, 0]), f([1, 0, 1, 0, 0]), f([0, 0, -1, 3, 0]), f([0, 0, 0, -1, 1])];
    // three models (unrolled path): multi-changed entries 0 (+,+), 2 (-,+,-), 3 (+,+) -> 2 of 3 agree
    const s3 = updateStats(base, [a, b, c]);
    expect(s3.density).toEqual([3 / 5, 2 / 5, 2 / 5]);
    expect(s3.signAgreement).toBeCloseTo(2 / 3);
    // four models (tally path): entry 3 becomes (+,+,-) -> 1 of 3 agree
    const s4 = updateStats(base, [a, b, c, d]);
    expect(s4.density).toEqual([3 / 5, 2 / 5, 2 / 5, 2 / 5]);
    expect(s4.signAgreement).toBeCloseTo(1 / 3);
    // two models: entries 0 (+,+) and 2 (-,+) -> 1 of 2
    expect(updateStats(base, [a, b]).signAgreement).toBeCloseTo(1 / 2);
    expect(Number.isNaN(updateStats(base, [a]).signAgreement)).toBe(true);
  });
});

describe("merge engine end to end", () => {
  it("ties over sharded inputs gives the per-tensor method result, sharded output, aux files, report", async () => {
    const fam = await makeFamily(dir, 2, { maxShardBytes: 600 });
    const cfg = await yml(
      `merge_method: ties\nbase_model: base\nmodels:\n  - model: ft0\n    parameters: {density: 0.5, weight: 1}\n  - model: ft1\n    parameters: {density: 0.3, weight: 0.7}\nout_shard_size: 800\n`,
    );
    const progress: number[] = [];
    const report = await mergeFromFile(cfg, {
      outDir: join(dir, "out"),
      workers: 2,
      onProgress: (p) => progress.push(p.tensorsDone),
    });
    expect(report.files.length).toBeGreaterThan(1);
    const files = await readdir(join(dir, "out"));
    expect(files).toEqual(
      expect.arrayContaining([
        "model.safetensors.index.json",
        "config.json",
        "tokenizer.json",
        "merge_report.json",
        "m2rl_merge_config.yml",
      ]),
    );
    expect(progress.at(-1)).toBe(7);
    const out = await readAll(join(dir, "out"));
    fam.tensors[0].forEach((t, k) => {
      const expected = ties.mergeTensor(
        input(ties, {
          base: [...(t.data as Float32Array)],
          models: [
            [...(fam.tensors[1][k].data as Float32Array)],
            [...(fam.tensors[2][k].data as Float32Array)],
          ],
          shape: t.shape,
          perModel: [
            { density: 0.5, weight: 1 },
            { density: 0.3, weight: 0.7 },
          ],
        }),
      );
      expect([...out.get(t.name)!]).toEqual([...expected]);
    });
    // update statistics: about 40% of entries changed per model; sign agreement in [0, 1]
    expect(report.updates.length).toBe(7);
    for (const u of report.updates) {
      for (const d of u.density) expect(d).toBeGreaterThan(0);
      // NaN when no entry was changed by two models (tiny tensors)
      if (!Number.isNaN(u.signAgreement)) expect(u.signAgreement).toBeGreaterThanOrEqual(0);
    }
    const big = report.updates.find((u) => u.name === "lm_head.weight")!;
    for (const d of big.density) expect(Math.abs(d - 0.4)).toBeLessThan(0.2);
    // independent noise signs: about half of the doubly-changed entries agree
    expect(Math.abs(big.signAgreement - 0.5)).toBeLessThan(0.35);
  });

  it("worker threads and inline runs give identical bytes (DARE masks seeded per tensor name)", async () => {
    await makeFamily(dir, 3);
    const text = `merge_method: dare_ties\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\n  - model: ft2\nparameters: {density: 0.5}\nseed: 42\n`;
    const cfg = await yml(text);
    await mergeFromFile(cfg, { outDir: join(dir, "out_a"), workers: 2 });
    await mergeFromFile(cfg, { outDir: join(dir, "out_b"), workers: 0 });
    const a = await readFile(join(dir, "out_a", "model.safetensors"));
    const b = await readFile(join(dir, "out_b", "model.safetensors"));
    expect(a.equals(b)).toBe(true);
    await writeFile(cfg, text.replace("seed: 42", "seed: 43"));
    await mergeFromFile(cfg, { outDir: join(dir, "out_c"), workers: 0 });
    expect((await readFile(join(dir, "out_c", "model.safetensors"))).equals(a)).toBe(false);
  });

  it("int8_mask (mergekit's memory option) is accepted and changes nothing: identical bytes with and without it", async () => {
    await makeFamily(dir, 3);
    const text = `merge_method: ties\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\n  - model: ft2\nparameters: {density: 0.5, weight: 1.0}\n`;
    const cfg = await yml(text);
    await mergeFromFile(cfg, { outDir: join(dir, "out_plain"), workers: 0 });
    await writeFile(cfg, text.replace("weight: 1.0}", "weight: 1.0, int8_mask: true}"));
    await mergeFromFile(cfg, { outDir: join(dir, "out_int8"), workers: 0 });
    const a = await readFile(join(dir, "out_plain", "model.safetensors"));
    const b = await readFile(join(dir, "out_int8", "model.safetensors"));
    expect(b.equals(a)).toBe(true);
  });

  it("large tensors merged in chunks give the same bytes and statistics as whole tensors", async () => {
    // 400 x 400 = 160000 elements: chunks of 65536, 65536, 28928
    await makeFamily(dir, 3, { big: [400, 400], dtype: "BF16" });
    const models = "models:\n  - model: ft0\n  - model: ft1\n  - model: ft2\n";
    const cases: [string, string][] = [
      ["linear", ""],
      ["task_arithmetic", "parameters: {lambda: 0.7}\n"],
      ["ties", "parameters: {density: 0.3}\n"],
      ["ties", "parameters: {density: 0.3, trim_scope: model}\n"],
      ["dare_linear", "parameters: {density: 0.5}\nseed: 7\n"],
      ["dare_ties", "parameters: {density: 0.5}\nseed: 7\n"],
      ["sce", ""],
      ["sce", "parameters: {select_topk: 0.3}\n"],
      ["della", "parameters: {density: 0.5, epsilon: 0.1}\nseed: 7\n"], // row-aligned chunks (one random stream per row)
    ];
    for (const [k, [method, extra]] of cases.entries()) {
      const base = method === "linear" ? "" : "base_model: base\n";
      const cfg = await yml(`merge_method: ${method}\n${base}${models}${extra}out_dtype: float32\n`);
      const whole = await mergeFromFile(cfg, { outDir: join(dir, `out_w${k}`), workers: 0 });
      const split = await mergeFromFile(cfg, {
        outDir: join(dir, `out_c${k}`),
        workers: 0,
        chunkElements: 65536,
      });
      const threads = await mergeFromFile(cfg, {
        outDir: join(dir, `out_t${k}`),
        workers: 2,
        chunkElements: 65536,
      });
      const bytes = (d: string) => readFile(join(dir, d, "model.safetensors"));
      const w = await bytes(`out_w${k}`);
      expect((await bytes(`out_c${k}`)).equals(w), `${method} ${extra} chunked`).toBe(true);
      expect((await bytes(`out_t${k}`)).equals(w), `${method} ${extra} chunked in workers`).toBe(true);
      expect(split.updates).toEqual(whole.updates);
      expect(threads.updates).toEqual(whole.updates);
      if (method === "task_arithmetic") {
        // `m2rl merge --analyze` reads the same counts before merging, chunked or not
        const plan = await planMerge(parseMergeConfig(await readFile(cfg, "utf8"), cfg));
        expect(await analyzeUpdates(plan, undefined, 65536)).toEqual(whole.updates);
        expect(await analyzeUpdates(plan)).toEqual(whole.updates);
      }
    }
    await expect(
      mergeFromFile(await yml(`merge_method: linear\n${models}`), {
        outDir: join(dir, "out_bad"),
        chunkElements: 1000,
      }),
    ).rejects.toThrow(/multiple of 65536/);
  });

  it("honours the output dtype and records it in config.json", async () => {
    await makeFamily(dir, 2);
    const cfg = await yml(`merge_method: linear\nmodels:\n  - model: ft0\n  - model: ft1\ndtype: bfloat16\n`);
    await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 });
    const ck = await openCheckpoint(join(dir, "out"));
    expect(new Set(ck.tensors().map((t) => t.dtype))).toEqual(new Set(["BF16"]));
    await ck.close();
    expect(JSON.parse(await readFile(join(dir, "out", "config.json"), "utf8")).torch_dtype).toBe("bfloat16");
  });

  it("whole-model TIES trimming (the paper's) matches a brute-force global threshold", async () => {
    const fam = await makeFamily(dir, 2);
    const cfg = await yml(
      `merge_method: ties\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\nparameters: {density: 0.2, trim_scope: model}\n`,
    );
    await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 2 });
    const out = await readAll(join(dir, "out"));
    // brute force: per model, the k-th largest |tau| over all tensors, k = round(0.2 * total)
    const thresholds = [1, 2].map((m) => {
      const all: number[] = [];
      fam.tensors[0].forEach((t, k) => {
        const b = t.data as Float32Array;
        const x = fam.tensors[m][k].data as Float32Array;
        for (let j = 0; j < b.length; j++) all.push(Math.abs(Math.fround(x[j] - b[j])));
      });
      all.sort((p, q) => q - p);
      return all[Math.round(0.2 * all.length) - 1];
    });
    let kept = 0;
    let total = 0;
    fam.tensors[0].forEach((t, k) => {
      const inp = input(ties, {
        base: [...(t.data as Float32Array)],
        models: [
          [...(fam.tensors[1][k].data as Float32Array)],
          [...(fam.tensors[2][k].data as Float32Array)],
        ],
        shape: t.shape,
        perModel: [{ density: 0.2 }, { density: 0.2 }],
        stats: thresholds,
      });
      expect([...out.get(t.name)!]).toEqual([...ties.mergeTensor(inp)]);
      const b = t.data as Float32Array;
      const x = fam.tensors[1][k].data as Float32Array;
      for (let j = 0; j < b.length; j++) {
        total++;
        if (Math.abs(Math.fround(x[j] - b[j])) >= thresholds[0]) kept++;
      }
    });
    expect(Math.abs(kept / total - 0.2)).toBeLessThan(0.01);
  });

  it("tied lm_head, resized embeddings and non-float tensors are handled explicitly", async () => {
    const f = (n: number, v: number) => new Float32Array(n).fill(v);
    await writeModel(join(dir, "base"), [
      { name: "model.embed_tokens.weight", shape: [4, 2], data: f(8, 1) },
      { name: "lm_head.weight", shape: [4, 2], data: f(8, 2) },
      {
        name: "model.rotary.positions",
        shape: [3],
        dtype: "I32",
        data: new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]),
      },
    ]);
    await writeModel(join(dir, "a"), [
      { name: "model.embed_tokens.weight", shape: [6, 2], data: f(12, 3) }, // resized vocab
      { name: "lm_head.weight", shape: [6, 2], data: f(12, 4) },
      { name: "model.rotary.positions", shape: [3], dtype: "I32", data: new Uint8Array(12) },
    ]);
    await writeModel(join(dir, "b"), [
      { name: "model.embed_tokens.weight", shape: [4, 2], data: f(8, 5) }, // tied: no lm_head
      { name: "model.rotary.positions", shape: [3], dtype: "I32", data: new Uint8Array(12) },
    ]);
    const cfg = await yml(
      `merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n  - model: b\n`,
    );
    const report = await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 });
    expect(report.warnings.join("\n")).toMatch(/common submatrix \[4, 2\]/);
    expect(report.warnings.join("\n")).toMatch(/no lm_head\.weight \(tied embeddings\)/);
    expect(report.warnings.join("\n")).toMatch(/I32 is not a float type; copied/);
    const ck = await openCheckpoint(join(dir, "out"));
    expect(ck.tensor("model.embed_tokens.weight").shape).toEqual([4, 2]);
    expect([...(await ck.readFloat32("model.embed_tokens.weight"))]).toEqual(new Array(8).fill(1 + 2 + 4)); // 1 + (3-1) + (5-1)
    expect([...(await ck.readFloat32("lm_head.weight"))]).toEqual(new Array(8).fill(2 + 2 + 3)); // 2 + (4-2) + (5-2)
    expect([...(await ck.readRaw("model.rotary.positions"))]).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    await ck.close();
  });
});

describe("bad inputs fail before writing and leave no output folder", () => {
  it("missing model path, with the config line", async () => {
    await makeFamily(dir, 1);
    const cfg = await yml(
      `merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n  - model: nope\n`,
    );
    const e = await mergeFromFile(cfg, { outDir: join(dir, "out") }).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/merge\.yml:5 models\.1\.model: model '.*nope' does not exist/);
    await expectNoOutput();
  });
  it("shape mismatch", async () => {
    await writeModel(join(dir, "base"), [{ name: "w", shape: [2, 2], data: new Float32Array(4) }]);
    await writeModel(join(dir, "a"), [{ name: "w", shape: [4], data: new Float32Array(4) }]);
    const cfg = await yml(`merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n`);
    const e = await mergeFromFile(cfg, { outDir: join(dir, "out") }).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/w: shape mismatch: base \[2, 2\], model a \[4\]/);
    await expectNoOutput();
  });
  it("missing tensor", async () => {
    await writeModel(join(dir, "base"), [
      { name: "w", shape: [2], data: new Float32Array(2) },
      { name: "v", shape: [2], data: new Float32Array(2) },
    ]);
    await writeModel(join(dir, "a"), [{ name: "w", shape: [2], data: new Float32Array(2) }]);
    const cfg = await yml(`merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n`);
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
      /v: tensor is missing from model a/,
    );
    await expectNoOutput();
  });
  it("unknown method or parameter", async () => {
    await makeFamily(dir, 1);
    let cfg = await yml(`merge_method: average\nmodels:\n  - model: ft0\n`);
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
      /:1 merge_method: unknown merge_method 'average'/,
    );
    cfg = await yml(`merge_method: linear\nmodels:\n  - model: ft0\n    parameters: {wieght: 1}\n`);
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
      /:4 .*unknown parameter 'wieght'/,
    );
    await expectNoOutput();
  });
  it("corrupt safetensors: truncated data and bad header", async () => {
    await makeFamily(dir, 2);
    await truncate(join(dir, "ft1", "model.safetensors"), 900);
    const cfg = await yml(`merge_method: ties\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\n`);
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
      /ft1\/model\.safetensors .*run past the data section/,
    );
    await writeFile(
      join(dir, "ft1", "model.safetensors"),
      new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0, 1, 2]),
    );
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out") })).rejects.toThrow(
      /ft1\/model\.safetensors: header length 4294967295 exceeds/,
    );
    await expectNoOutput();
  });
  it("a failure in the middle of the merge (in a worker) removes the temp folder", async () => {
    await makeFamily(dir, 2);
    // epsilon is only checked when della runs on a tensor, i.e. inside a worker, after the output was started
    const cfg = await yml(
      `merge_method: della\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\nparameters:\n  density: [{filter: layers.1, value: 0.1}, {value: 0.5}]\n  epsilon: 0.3\n`,
    );
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 2 })).rejects.toThrow(/epsilon 0.3/);
    await expectNoOutput();
  });
  it("an existing output folder is not overwritten unless asked", async () => {
    await makeFamily(dir, 1);
    const cfg = await yml(`merge_method: linear\nmodels:\n  - model: ft0\n`);
    await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 });
    await expect(mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 })).rejects.toThrow(
      /already exists/,
    );
    await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0, overwrite: true });
  });
  it("pre-flight reads only headers: the plan lists every tensor with resolved parameters", async () => {
    await makeFamily(dir, 2);
    const text = `merge_method: slerp\nbase_model: base\nmodels:\n  - model: ft0\nparameters:\n  t:\n    - filter: self_attn\n      value: [0, 1]\n    - value: 0.5\n`;
    const plan = await planMerge(parseMergeConfig(text, join(dir, "m.yml")));
    expect(plan.tensors.map((t) => [t.name, t.params.global.t])).toEqual([
      ["model.embed_tokens.weight", 0.5],
      ["model.layers.0.self_attn.q_proj.weight", 0],
      ["model.layers.0.mlp.up_proj.weight", 0.5],
      ["model.layers.1.self_attn.q_proj.weight", 1],
      ["model.layers.1.mlp.up_proj.weight", 0.5],
      ["model.norm.weight", 0.5],
      ["lm_head.weight", 0.5],
    ]);
    expect(METHODS.get("slerp")).toBe(plan.method);
  });
});
