/**
 * The memory budget: the chunk size derived from the budget, the inputs and the workers; pre-flight refusal of what
 * cannot fit (a method that is not chunkable, one row of a row-aligned tensor, the smallest chunk), before any weight
 * is read; the report's memory section; copied (non-float) and resized-vocabulary tensors merged in chunks too.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@m2rl/core/errors";
import type { MergeMethod } from "@m2rl/core/merge";
import { Rng } from "@m2rl/core/rng";
import { openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  bytesPerElement,
  DEFAULT_CHUNK_ELEMENTS,
  DEFAULT_MEMORY_BUDGET,
  METHODS,
  memoryPlan,
  mergeFromFile,
  parseMergeConfig,
  planMerge,
  RANDOM_BLOCK,
} from "../src/index.ts";
import { makeFamily, randn, tempDir, writeModel } from "./fixtures.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("m2rl-budget-"));
});
afterEach(async () => cleanup());

async function yml(text: string, name = "merge.yml"): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

const three = "models:\n  - model: ft0\n  - model: ft1\n  - model: ft2\n";

/** A plugin-like method that needs whole tensors: the plain mean of the models. */
const wholeMean: MergeMethod = {
  name: "whole_mean",
  description: "mean of the models, whole tensors only",
  parameters: [],
  base: "none",
  minModels: 1,
  mergeTensor(input) {
    const out = new Float32Array(input.models[0].length);
    for (const m of input.models) for (let j = 0; j < out.length; j++) out[j] += m[j] / input.models.length;
    return out;
  },
};
const lookup = (name: string) => (name === "whole_mean" ? wholeMean : METHODS.get(name));

describe("memory plan (pre-flight, from the headers)", () => {
  it("the chunk size follows the budget, the number of inputs and of workers; the default caps it", async () => {
    await makeFamily(dir, 3, { big: [600, 1000] });
    const plan = async (text: string) => planMerge(parseMergeConfig(text, join(dir, "m.yml")));
    const ta = await plan(`merge_method: task_arithmetic\nbase_model: base\n${three}`);
    const lin2 = await plan("merge_method: linear\nmodels:\n  - model: ft0\n  - model: ft1\n");
    // inline, 4 float32 inputs and output: 2 sets x 4 inputs x 4 B + scratch 4 x (3 + 1) + 3 results x 4 B
    const big = ta.tensors.find((t) => t.name === "model.layers.0.mlp.down_proj.weight")!;
    expect(bytesPerElement(big, 0)).toBe(32 + 16 + 12);
    expect(memoryPlan(ta, { budget: DEFAULT_MEMORY_BUDGET, workers: 0 }).chunkElements).toBe(
      DEFAULT_CHUNK_ELEMENTS,
    );
    const at = (p: typeof ta, budget: number, workers = 0) =>
      memoryPlan(p, { budget, workers }).chunkElements;
    expect(at(ta, 60 * 5 * RANDOM_BLOCK)).toBe(5 * RANDOM_BLOCK);
    expect(at(ta, 60 * 5 * RANDOM_BLOCK + 1000)).toBe(5 * RANDOM_BLOCK); // whole random blocks only
    // fewer inputs: larger chunks under the same budget; workers: each holds its own buffers
    expect(at(lin2, 60 * 5 * RANDOM_BLOCK)).toBeGreaterThan(5 * RANDOM_BLOCK);
    expect(at(ta, 60 * 5 * RANDOM_BLOCK, 2)).toBeLessThan(5 * RANDOM_BLOCK);
    // the plan: units of the big tensor (600000 elements) in chunks, the planned peak within the budget
    const m = memoryPlan(ta, { budget: 60 * 5 * RANDOM_BLOCK, workers: 0 });
    expect(m.units.filter((u) => u.name === big.name).map((u) => u.range?.count)).toEqual([327680, 272320]);
    expect(m.peakBytes).toBe(60 * 5 * RANDOM_BLOCK);
    expect(m.largest.name).toBe(big.name);
  });

  it("row-aligned methods: chunks of whole rows; a row that does not fit is refused, naming it", async () => {
    await makeFamily(dir, 3, { big: [600, 1000] });
    const della = await planMerge(
      parseMergeConfig(
        `merge_method: della\nbase_model: base\n${three}parameters: {density: 0.5, epsilon: 0.1}\n`,
        join(dir, "m.yml"),
      ),
    );
    const m = memoryPlan(della, { budget: 60 * 2 * RANDOM_BLOCK, workers: 0 });
    const counts = m.units.filter((u) => u.range).map((u) => u.range!.count);
    expect(counts.every((c) => c % 1000 === 0)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(600000);
    expect(m.units.filter((u) => u.range).map((u) => u.range!.start % 1000)).toEqual(counts.map(() => 0));
    // one row of 1000 elements needs 60 kB: under a 50 kB budget even the smallest unit (a random block) fails
    expect(() => memoryPlan(della, { budget: 50e3, workers: 0 })).toThrow(ConfigError);
  });

  it("refuses a 2 x 200000 row-aligned tensor whose single row exceeds the budget", async () => {
    const rng = new Rng(2);
    const layout = [{ name: "model.layers.0.mlp.wide.weight", shape: [2, 200000] }];
    for (const [k, m] of ["base", "ft0", "ft1", "ft2"].entries())
      await writeModel(
        join(dir, m),
        layout.map((t) => ({ ...t, data: randn(400000, rng, k === 0 ? 1 : 1.1) })),
      );
    const plan = await planMerge(
      parseMergeConfig(
        `merge_method: della\nbase_model: base\n${three}parameters: {density: 0.5, epsilon: 0.1}\n`,
        join(dir, "m.yml"),
      ),
    );
    const e = (() => {
      try {
        memoryPlan(plan, { budget: 8e6, workers: 0 });
      } catch (x) {
        return x as Error;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e!.message).toMatch(
      /^model\.layers\.0\.mlp\.wide\.weight: \[2, 200000\], merged by whole rows: one row of 200000 elements needs 12\.0 MB at once \(4 inputs\), over the memory budget of 8\.0 MB/,
    );
    expect(memoryPlan(plan, { budget: 13e6, workers: 0 }).units.map((u) => u.range?.count)).toEqual([
      200000, 200000,
    ]);
  });
});

describe("merges under a budget", () => {
  it("a method that is not chunkable and a tensor too large: refused before any weight is read", async () => {
    // the big tensor holds a NaN: reading it would fail the merge with a CheckpointError instead
    const f = await makeFamily(dir, 3, { big: [600, 1000] });
    const big = f.tensors[2].find((t) => t.name === "model.layers.0.mlp.down_proj.weight")!;
    (big.data as Float32Array)[12345] = Number.NaN;
    await writeModel(join(dir, "ft1"), f.tensors[2]);
    const cfg = await yml(`merge_method: whole_mean\n${three}`);
    const e = await mergeFromFile(cfg, {
      outDir: join(dir, "out"),
      lookup,
      memoryBudget: 20e6,
    }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(ConfigError);
    // 600000 elements x (2 x 3 x 4 + scratch 16 + 3 x 4) = 31.2 MB
    expect((e as Error).message).toBe(
      "model.layers.0.mlp.down_proj.weight: merge method 'whole_mean' merges whole tensors (it is not chunkable): this [600, 1000] tensor needs 31.2 MB at once (3 inputs), over the memory budget of 20.0 MB: raise --memory-budget (RunOptions.memoryBudget)",
    );
    expect(existsSync(join(dir, "out"))).toBe(false);
    // with room for it, the same merge runs (and meets the NaN)
    const e2 = await mergeFromFile(cfg, {
      outDir: join(dir, "out"),
      lookup,
      memoryBudget: 40e6,
    }).catch((x: Error) => x);
    expect((e2 as Error).message).toMatch(/non-finite input value NaN at flat index 12345/);
  });

  it("the report names the budget, the chunk size and the peaks: planned and accounted within the budget", async () => {
    await makeFamily(dir, 3, { big: [600, 1000], dtype: "BF16" });
    const cfg = await yml(`merge_method: ties\nbase_model: base\n${three}parameters: {density: 0.3}\n`);
    const budget = 12e6;
    for (const workers of [0, 2]) {
      const r = await mergeFromFile(cfg, {
        outDir: join(dir, `out${workers}`),
        workers,
        memoryBudget: budget,
      });
      const m = r.memory;
      expect(m.budgetBytes).toBe(budget);
      expect(m.chunkElements % RANDOM_BLOCK).toBe(0);
      expect(m.chunkElements).toBeLessThan(600000);
      expect(m.plannedPeakBytes).toBeLessThanOrEqual(budget);
      expect(m.accountedPeakBytes).toBeGreaterThan(0);
      expect(m.accountedPeakBytes, `${workers} workers`).toBeLessThanOrEqual(m.plannedPeakBytes);
      expect(m.largestUnit).toBe("model.layers.0.mlp.down_proj.weight");
      expect(m.rssPeakBytes).toBeGreaterThan(10e6);
      const written = JSON.parse(await readFile(join(dir, `out${workers}`, "merge_report.json"), "utf8"));
      expect(written.memory.budgetBytes).toBe(budget);
    }
    // the same bytes as a merge with the default budget (the tensor whole)
    await mergeFromFile(cfg, { outDir: join(dir, "whole"), workers: 0 });
    const a = await readFile(join(dir, "whole", "model.safetensors"));
    expect((await readFile(join(dir, "out0", "model.safetensors"))).equals(a)).toBe(true);
    expect((await readFile(join(dir, "out2", "model.safetensors"))).equals(a)).toBe(true);
  });

  it("copied (non-float) tensors and resized vocabularies are merged in chunks: the bytes of a whole merge", async () => {
    const rng = new Rng(4);
    const rows = 300;
    const cols = 700;
    const ints = new Uint8Array(4 * 100000);
    for (let j = 0; j < ints.length; j++) ints[j] = (j * 7 + 3) & 0xff;
    const embed = randn(rows * cols, rng, 0.5);
    const model = (extraRows: number, seed: number) => {
      const r = new Rng(seed);
      const e = new Float32Array((rows + extraRows) * cols);
      e.set(embed.map((x) => (r.next() < 0.4 ? x + r.normal() * 0.05 : x)));
      for (let j = rows * cols; j < e.length; j++) e[j] = r.normal();
      return [
        { name: "model.embed_tokens.weight", shape: [rows + extraRows, cols], data: e },
        { name: "model.positions", shape: [100000], dtype: "I32" as const, data: ints },
      ];
    };
    await writeModel(join(dir, "base"), [
      { name: "model.embed_tokens.weight", shape: [rows, cols], data: embed },
      { name: "model.positions", shape: [100000], dtype: "I32", data: ints },
    ]);
    await writeModel(join(dir, "ft0"), model(20, 1)); // resized vocabulary: 320 rows
    await writeModel(join(dir, "ft1"), model(0, 2));
    await writeModel(join(dir, "ft2"), model(5, 3));
    const cfg = await yml(`merge_method: task_arithmetic\nbase_model: base\n${three}out_dtype: float32\n`);
    const whole = await mergeFromFile(cfg, { outDir: join(dir, "whole"), workers: 0 });
    expect(whole.warnings.join("\n")).toMatch(/common submatrix \[300, 700\]/);
    for (const workers of [0, 2]) {
      const out = join(dir, `chunked${workers}`);
      const r = await mergeFromFile(cfg, { outDir: out, workers, chunkElements: RANDOM_BLOCK });
      expect(r.memory.chunkElements).toBe(RANDOM_BLOCK);
      const a = await readFile(join(dir, "whole", "model.safetensors"));
      expect((await readFile(join(out, "model.safetensors"))).equals(a), `${workers} workers`).toBe(true);
    }
    const ck = await openCheckpoint(join(dir, "chunked0"));
    expect(Buffer.from(await ck.readRaw("model.positions")).equals(Buffer.from(ints))).toBe(true);
    await ck.close();
  });
});
