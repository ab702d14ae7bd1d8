/**
 * The methods that used to need whole tensors, merged in chunks: slerp, nuslerp, karcher, model_stock (per-tensor
 * statistics over the chunks: block sums), breadcrumbs / breadcrumbs_ties (exact radix-select thresholds), della /
 * della_linear (row-aligned chunks, one random stream per row). Each chunked result is compared with the whole-tensor
 * merge: bitwise, except nuslerp_row_wise (per-column sums added chunk by chunk: a different float64 summation
 * order, so float32 results within 1 ulp), first method by method through the statistics protocol, then end to end
 * through the engine (inline and in worker threads, chunk size given or derived from the memory budget).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MergeMethod, MergeParamValue, TensorMergeInput } from "@m2rl/core/merge";
import { Rng } from "@m2rl/core/rng";
import { openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  finiteScanInfo,
  firstNonFiniteIn,
  firstNonFiniteJs,
  METHODS,
  mergeFromFile,
  RANDOM_BLOCK,
} from "../src/index.ts";
import { makeFamily, tempDir } from "./fixtures.ts";
import { input } from "./helpers.ts";

/** ulps between two float32 values (0 when equal, +Infinity across a sign or a NaN). */
function ulps(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  if (Number.isNaN(a) || Number.isNaN(b) || Math.sign(a) !== Math.sign(b)) return Number.POSITIVE_INFINITY;
  const f = new Float32Array([a, b]);
  const u = new Int32Array(f.buffer);
  return Math.abs(u[0] - u[1]);
}

/** The chunks the engine would cut: flat ranges of `chunk` elements, or whole rows when row-aligned. */
function ranges(method: MergeMethod, x: TensorMergeInput, chunk: number): [number, number][] {
  const n = x.models[0].length;
  const ra =
    typeof method.rowAligned === "function" ? method.rowAligned(x.params, x.shape) : method.rowAligned;
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const step = ra ? Math.max(1, Math.floor(chunk / cols)) * cols : chunk;
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += step) out.push([s, Math.min(n, s + step)]);
  return out;
}

/**
 * The method's chunked merge, as the engine runs it: its tensorStats passes over the chunks (each chunk in its own
 * accumulator, combined in `order`), then every chunk merged with the result.
 */
function mergeChunked(
  method: MergeMethod,
  whole: TensorMergeInput,
  chunk: number,
  order: "in order" | "reversed" = "in order",
): Float32Array {
  const parts = ranges(method, whole, chunk);
  const at = ([s, e]: [number, number], stats?: unknown): TensorMergeInput => ({
    ...whole,
    base: whole.base?.slice(s, e),
    models: whole.models.map((m) => m.slice(s, e)),
    offset: s,
    stats,
  });
  let stats: unknown;
  const g = method.tensorStats;
  if (g?.enabled(whole.params, whole.shape)) {
    const passes = typeof g.passes === "number" ? g.passes : g.passes(whole.params);
    for (let pass = 0; pass < passes; pass++) {
      const accs = parts.map((r) => {
        const acc = g.create(pass, stats, whole.models.length);
        g.accumulate(acc, at(r), pass, stats);
        // through a structured clone, as from a worker thread
        return structuredClone(acc);
      });
      if (order === "reversed") accs.reverse();
      stats = g.finish(
        accs.reduce((a, b) => g.combine(a, b)),
        pass,
        stats,
      );
    }
  }
  const out = new Float32Array(whole.models[0].length);
  for (const r of parts) out.set(method.mergeTensor(at(r, stats)), r[0]);
  return out;
}

const rng = new Rng(11);
function family(n: number, models: number, changed = 0.4): { base: number[]; models: number[][] } {
  const base = Array.from({ length: n }, () => rng.normal() * 0.5);
  return {
    base,
    models: Array.from({ length: models }, () =>
      base.map((b) => (rng.next() < changed ? b + rng.normal() * 0.05 : b)),
    ),
  };
}

type Case = [string, number, Record<string, MergeParamValue>, Record<string, MergeParamValue>?];
const CASES: Case[] = [
  ["slerp", 1, { t: 0.3 }],
  ["nuslerp", 2, {}],
  ["nuslerp", 2, { nuslerp_flatten: false }],
  ["nuslerp", 2, { nuslerp_flatten: false, nuslerp_row_wise: true }],
  ["karcher", 3, {}],
  ["karcher", 3, { max_iter: 3 }],
  ["model_stock", 3, {}],
  ["model_stock", 3, { filter_wise: true }],
  ["breadcrumbs", 3, {}, { density: 0.5, gamma: 0.05 }],
  ["breadcrumbs", 3, {}, { density: 0.9, gamma: 0.2 }],
  ["breadcrumbs_ties", 3, {}, { density: 0.3, gamma: 0.02 }],
  ["della", 3, {}, { density: 0.5, epsilon: 0.1 }],
  ["della_linear", 3, {}, { density: 0.4, epsilon: 0.2 }],
];

describe("chunked merges equal whole-tensor merges (statistics protocol, method by method)", () => {
  // 300 x 700 = 210000 elements: flat chunks of 65536 (4), row-aligned chunks of 93 rows (4)
  const shape = [300, 700];
  const n = 210000;
  for (const [name, count, global, perModel] of CASES) {
    const label = `${name} ${JSON.stringify({ ...global, ...perModel })}`;
    it(label, () => {
      const method = METHODS.get(name)!;
      expect(method.chunkable, `${name} is chunkable`).toBe(true);
      const f = family(n, count);
      const usesBase = method.base !== "none";
      const whole = input(method, {
        base: usesBase ? f.base : undefined,
        models: f.models,
        shape,
        global,
        perModel: f.models.map(() => perModel ?? {}),
        seed: 5,
        name: "model.layers.3.mlp.down_proj.weight",
      });
      const expected = method.mergeTensor(whole).slice();
      const columns = name === "nuslerp" && global.nuslerp_row_wise === true;
      for (const order of ["in order", "reversed"] as const) {
        const got = mergeChunked(method, whole, RANDOM_BLOCK, order);
        if (!columns) {
          expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer)), `${label} ${order}`).toBe(
            true,
          );
        } else {
          let worst = 0;
          for (let j = 0; j < n; j++) worst = Math.max(worst, ulps(got[j], expected[j]));
          expect(worst, `${label}: max ulps`).toBeLessThanOrEqual(1);
        }
      }
    });
  }

  it("nuslerp without a base, and a 1-D tensor (flattened whatever the option)", () => {
    const method = METHODS.get("nuslerp")!;
    const f = family(150000, 2);
    for (const [shape, global] of [
      [[150000], { nuslerp_flatten: false }],
      [[300, 500], {}],
    ] as const) {
      const whole = input(method, { models: f.models, shape: [...shape], global });
      const expected = method.mergeTensor(whole).slice();
      const got = mergeChunked(method, whole, RANDOM_BLOCK);
      expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });

  it("della: each row draws from its own stream (rows of the same values get different masks; a seed changes them)", () => {
    const method = METHODS.get("della")!;
    const row = Array.from({ length: 64 }, (_, c) => (c % 7) - 3 + 0.5);
    const tau = Array.from({ length: 4 }, () => row).flat();
    const run = (seed: number) =>
      method.mergeTensor(
        input(method, {
          base: new Array(tau.length).fill(0),
          models: [tau],
          shape: [4, 64],
          perModel: [{ density: 0.5, epsilon: 0.2 }],
          seed,
        }),
      );
    const a = run(1);
    expect(a.slice(0, 64)).not.toEqual(a.slice(64, 128));
    expect(run(1)).toEqual(a);
    expect(run(2)).not.toEqual(a);
  });

  it("the non-finite scan (native when built, else TypeScript) finds what the plain loop finds", () => {
    const r = new Rng(3);
    for (let trial = 0; trial < 40; trial++) {
      const len = 1 + Math.floor(r.next() * 5000);
      const xs = [0, 1, 2].map(() => Float32Array.from({ length: len }, () => r.normal()));
      const bad = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
      for (let k = Math.floor(r.next() * 3); k > 0; k--) xs[r.int(3)][r.int(len)] = bad[r.int(3)];
      const first = xs.map((x) => firstNonFiniteJs(x));
      const index = Math.min(...first.map((i) => (i < 0 ? Number.POSITIVE_INFINITY : i)));
      const expected = Number.isFinite(index) ? { which: first.indexOf(index), index } : undefined;
      expect(firstNonFiniteIn(xs), `${finiteScanInfo} scan, trial ${trial}`).toEqual(expected);
    }
  });
});

describe("chunked merges equal whole-tensor merges (engine end to end)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("m2rl-chunked-"));
  });
  afterEach(async () => cleanup());

  async function floats(path: string): Promise<Map<string, Float32Array>> {
    const ck = await openCheckpoint(path);
    const out = new Map<string, Float32Array>();
    for (const name of ck.names) out.set(name, Float32Array.from(await ck.readFloat32(name)));
    await ck.close();
    return out;
  }

  it("every listed method, inline and in 2 workers, chunk size given or from the budget", async () => {
    // F32 in and out: any difference shows; the big tensor [300, 700] is split, the others are whole
    await makeFamily(dir, 3, { big: [300, 700] });
    for (const [k, [name, count, global, perModel]] of CASES.entries()) {
      const models = Array.from({ length: count }, (_, i) => `  - model: ft${i}\n`).join("");
      const usesBase = METHODS.get(name)!.base !== "none";
      const params = (o: Record<string, MergeParamValue>) =>
        `{${Object.entries(o)
          .map(([a, b]) => `${a}: ${b}`)
          .join(", ")}}`;
      const text =
        `merge_method: ${name}\n${usesBase ? "base_model: base\n" : ""}models:\n${models}` +
        `${Object.keys({ ...global, ...perModel }).length ? `parameters: ${params({ ...global, ...perModel })}\n` : ""}` +
        "seed: 9\nout_dtype: float32\n";
      const cfg = join(dir, `m${k}.yml`);
      await writeFile(cfg, text);
      const whole = await mergeFromFile(cfg, { outDir: join(dir, `w${k}`), workers: 0 });
      expect(whole.memory.chunkElements).toBe(1 << 21);
      const runs = [
        await mergeFromFile(cfg, { outDir: join(dir, `c${k}`), workers: 0, chunkElements: RANDOM_BLOCK }),
        await mergeFromFile(cfg, { outDir: join(dir, `t${k}`), workers: 2, chunkElements: RANDOM_BLOCK }),
        // a budget that leaves room for chunks of 1-2 random blocks (per element: inputs, scratch, outputs)
        await mergeFromFile(cfg, { outDir: join(dir, `b${k}`), workers: 0, memoryBudget: 6e6 }),
      ];
      expect(runs[2].memory.chunkElements).toBeLessThan(210000);
      const columns = name === "nuslerp" && global.nuslerp_row_wise === true;
      const w = await readFile(join(dir, `w${k}`, "model.safetensors"));
      for (const [i, out] of ["c", "t", "b"].entries()) {
        const label = `${name} ${JSON.stringify({ ...global, ...perModel })} (${out})`;
        expect(runs[i].memory.accountedPeakBytes, label).toBeLessThanOrEqual(runs[i].memory.budgetBytes);
        const got = await readFile(join(dir, `${out}${k}`, "model.safetensors"));
        if (!columns) {
          expect(got.equals(w), label).toBe(true);
          continue;
        }
        const a = await floats(join(dir, `${out}${k}`));
        const b = await floats(join(dir, `w${k}`));
        let worst = 0;
        for (const [t, x] of a) {
          const y = b.get(t)!;
          for (let j = 0; j < x.length; j++) worst = Math.max(worst, ulps(x[j], y[j]));
        }
        expect(worst, label).toBeLessThanOrEqual(1);
      }
    }
  }, 300_000);
});
