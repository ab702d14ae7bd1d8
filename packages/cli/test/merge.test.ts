/**
 * `m2rl merge` in-process: the merged weights are the method's (checked against a hand computation), `--no-fsync`
 * writes the same bytes, `--dry-run` writes nothing, the density table only with `--analyze`, a bad config exits 2
 * naming the problem, a failure while merging exits 1: a NaN / Inf weight (unless --allow-nonfinite, which warns),
 * an embedding whose hidden size differs, an output config.json that does not describe the merged tensors.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointWriter } from "@m2rl/core/checkpoint";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.ts";
import { captureOutput } from "./capture-output.ts";

const dir = mkdtempSync(join(tmpdir(), "m2rl-merge-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

const base = [0.5, -1, 2, 0];
const fts = [
  [1.5, -1, 1, 0.25],
  [0.5, 0, 3, -0.25],
];

async function model(
  name: string,
  values: number[],
  tensor = "model.layers.0.mlp.up_proj.weight",
  config: Record<string, unknown> = { model_type: "llama", torch_dtype: "float32" },
): Promise<void> {
  const d = join(dir, name);
  const { mkdir } = await import("node:fs/promises");
  await mkdir(d, { recursive: true });
  const w = await CheckpointWriter.create(new NodeFileStore(d), [
    { name: tensor, shape: [2, 2], dtype: "F32" },
  ]);
  await w.write(tensor, Float32Array.from(values));
  await w.finish();
  writeFileSync(join(d, "config.json"), JSON.stringify(config));
}

beforeAll(async () => {
  await model("base", base);
  await model("ft0", fts[0]);
  await model("ft1", fts[1]);
  writeFileSync(
    join(dir, "ta.yml"),
    "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\nparameters: {lambda: 0.5}\n",
  );
});

const run = (...args: string[]) => main(["node", "m2rl", "merge", ...args]);

describe("m2rl merge", () => {
  it("writes base + lambda * sum of task vectors, names the kernels; --no-fsync gives the same bytes", async () => {
    expect(await run(join(dir, "ta.yml"), "--out", join(dir, "out"), "--no-progress")).toBe(0);
    const ck = await openCheckpoint(join(dir, "out"));
    const got = [...(await ck.readFloat32("model.layers.0.mlp.up_proj.weight"))];
    await ck.close();
    // tau0 = [1, 0, -1, 0.25], tau1 = [0, 1, 1, -0.25]: base + 0.5 * (tau0 + tau1)
    expect(got).toEqual([1, -0.5, 2, 0]);
    expect(io.out.join("")).toMatch(/wrote 1 file\(s\) .* 0 workers, (native|js) kernels\)/);
    expect(await run(join(dir, "ta.yml"), "--out", join(dir, "out2"), "--no-progress", "--no-fsync")).toBe(0);
    const a = readFileSync(join(dir, "out", "model.safetensors"));
    expect(readFileSync(join(dir, "out2", "model.safetensors")).equals(a)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "out", "merge_report.json"), "utf8")).kernels).toMatch(
      /native|js/,
    );
  });

  it("prints the per-tensor density table only with --analyze", async () => {
    const table = /update density per model/;
    expect(await run(join(dir, "ta.yml"), "--out", join(dir, "quiet"), "--no-progress")).toBe(0);
    expect(io.out.join("")).not.toMatch(table);
    expect(io.out.join("")).toMatch(/wrote 1 file\(s\)/);
    io.out.length = 0;
    expect(await run(join(dir, "ta.yml"), "--out", join(dir, "an"), "--no-progress", "--analyze")).toBe(0);
    expect(io.out.join("").match(new RegExp(table, "g"))).toHaveLength(1);
    expect(io.out.join("")).toMatch(/model\.layers\.0\.mlp\.up_proj\.weight +75\.0% +75\.0%/);
  });

  it("--dry-run writes nothing; a bad config exits 2 and says what is wrong", async () => {
    expect(await run(join(dir, "ta.yml"), "--out", join(dir, "dry"), "--dry-run", "--no-progress")).toBe(0);
    expect(existsSync(join(dir, "dry"))).toBe(false);
    writeFileSync(join(dir, "bad.yml"), "merge_method: tiez\nmodels:\n  - model: ft0\n");
    expect(await run(join(dir, "bad.yml"), "--out", join(dir, "bad"), "--no-progress")).toBe(2);
    expect(io.err.join("")).toMatch(/bad\.yml:1 merge_method: unknown merge_method 'tiez'/);
    expect(await run(join(dir, "nope.yml"), "--out", join(dir, "bad"), "--no-progress")).toBe(2);
    expect(io.err.join("")).toMatch(/nope\.yml: cannot read the merge config/);
    expect(await run(join(dir, "ta.yml"), "--out", join(dir, "bad"), "--workers", "-1")).toBe(2);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });

  it("a failure while merging (inputs that do not match) exits 1", async () => {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "odd"), { recursive: true });
    const w = await CheckpointWriter.create(new NodeFileStore(join(dir, "odd")), [
      { name: "model.layers.0.mlp.up_proj.weight", shape: [3], dtype: "F32" },
    ]);
    await w.write("model.layers.0.mlp.up_proj.weight", Float32Array.from([1, 2, 3]));
    await w.finish();
    writeFileSync(join(dir, "odd.yml"), "merge_method: linear\nmodels:\n  - model: ft0\n  - model: odd\n");
    expect(await run(join(dir, "odd.yml"), "--out", join(dir, "bad"), "--no-progress")).toBe(1);
    expect(io.err.join("")).toMatch(/shape mismatch/);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });

  it("a NaN weight exits 1 naming the file, the tensor and the index; --allow-nonfinite merges and warns", async () => {
    await model("nan", [0.5, Number.NaN, 2, 0]);
    writeFileSync(join(dir, "nan.yml"), "merge_method: linear\nmodels:\n  - model: ft0\n  - model: nan\n");
    expect(await run(join(dir, "nan.yml"), "--out", join(dir, "bad"), "--no-progress")).toBe(1);
    expect(io.err.join("")).toMatch(
      /nan\/model\.safetensors model\.layers\.0\.mlp\.up_proj\.weight: non-finite input value NaN at flat index 1 /,
    );
    expect(existsSync(join(dir, "bad"))).toBe(false);
    io.err.length = 0;
    const out = join(dir, "nan-out");
    expect(await run(join(dir, "nan.yml"), "--out", out, "--no-progress", "--allow-nonfinite")).toBe(0);
    const warned = io.err.join("").match(/warning: .*non-finite/g) ?? [];
    expect(warned).toHaveLength(1);
    const ck = await openCheckpoint(out);
    const got = [...(await ck.readFloat32("model.layers.0.mlp.up_proj.weight"))];
    await ck.close();
    expect(got.map(Number.isNaN)).toEqual([false, true, false, false]);
  });

  it("an embedding of another hidden size, or a config.json that does not match the output, exits 1", async () => {
    const embed = "model.embed_tokens.weight";
    const cfg = { model_type: "custom", vocab_size: 2, hidden_size: 2 };
    await model("e0", [1, 2, 3, 4], embed, cfg);
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "e1"), { recursive: true });
    const w = await CheckpointWriter.create(new NodeFileStore(join(dir, "e1")), [
      { name: embed, shape: [1, 4], dtype: "F32" },
    ]);
    await w.write(embed, Float32Array.from([1, 2, 3, 4]));
    await w.finish();
    writeFileSync(join(dir, "emb.yml"), "merge_method: linear\nmodels:\n  - model: e0\n  - model: e1\n");
    expect(await run(join(dir, "emb.yml"), "--out", join(dir, "bad"), "--no-progress")).toBe(1);
    expect(io.err.join("")).toMatch(
      /model\.embed_tokens\.weight: model e1 has \[1, 4\], model e0 \[2, 2\]: only the row count \(the vocabulary\) may differ/,
    );
    await model("e2", [1, 2, 3, 4], embed, { ...cfg, vocab_size: 3 });
    writeFileSync(join(dir, "voc.yml"), "merge_method: linear\nmodels:\n  - model: e2\n  - model: e0\n");
    expect(await run(join(dir, "voc.yml"), "--out", join(dir, "bad"), "--no-progress")).toBe(1);
    expect(io.err.join("")).toMatch(
      /e2\/config\.json vocab_size: is 3, but the output's model\.embed_tokens\.weight has 2 rows/,
    );
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });
});
