/**
 * mergekit's multislerp, arcee_fusion and nearswap: hand-computed cases, a literal transcription of mergekit's
 * steps as a reference, chunked merges equal to whole ones, parameter validation, and mergekit YAMLs merged.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@m2rl/core/errors";
import { Rng } from "@m2rl/core/rng";
import { openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { arceeFusion, METHODS, mergeFromFile, multislerp, nearswap, parseMergeConfig } from "../src/index.ts";
import { makeFamily, randn, tempDir, writeModel } from "./fixtures.ts";
import { close, input, run } from "./helpers.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const S = Math.SQRT1_2;

describe("multislerp", () => {
  it("spherical barycentre: normalized weighted mean direction times the weighted mean norm (hand-computed)", () => {
    // x1 = [1, 0], x2 = [0, 2], w = [0.5, 0.5]: u1 = [1, 0], u2 = [0, 1], m = [0.5, 0.5], |m| = sqrt(0.5);
    // direction m/|m| = [1/sqrt2, 1/sqrt2]; mean norm 0.5*1 + 0.5*2 = 1.5 -> 1.5/sqrt2 = 1.0606602 each
    close(
      run(multislerp, {
        models: [
          [1, 0],
          [0, 2],
        ],
      }),
      [1.5 * S, 1.5 * S],
    );
    // the same around a base [1, 1] (theta = base + x): base + 1.0606602
    close(
      run(multislerp, {
        base: [1, 1],
        models: [
          [2, 1],
          [1, 3],
        ],
      }),
      [1 + 1.5 * S, 1 + 1.5 * S],
    );
    // weights 1, 1, 2 -> 0.25, 0.25, 0.5 on three unit axes: m = [0.25, 0.25, 0.5], |m| = sqrt(0.375) = 0.6123724,
    // mean norm 1 -> [0.4082483, 0.4082483, 0.8164966]
    const r = Math.sqrt(0.375);
    close(
      run(multislerp, {
        models: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
        perModel: [{ weight: 1 }, { weight: 1 }, { weight: 2 }],
      }),
      [0.25 / r, 0.25 / r, 0.5 / r],
    );
    // normalize_weights false: w = [1, 1], m = [1, 1], |m| = sqrt2, mean norm 1*1 + 1*2 = 3 -> 3/sqrt2 = 2.1213203
    close(
      run(multislerp, {
        models: [
          [1, 0],
          [0, 2],
        ],
        global: { normalize_weights: false },
      }),
      [3 * S, 3 * S],
    );
  });

  it("edge cases: one model as is; cancelling directions fall back to the weighted sum (two) or fail (more)", () => {
    // mergekit returns a single model unchanged (not base + its task vector)
    close(run(multislerp, { base: [5, 5], models: [[1, 2]] }), [1, 2]);
    // x1 = -x2 with equal weights: m = 0 < eps -> two models: 0.5 x1 + 0.5 x2 = 0, + base
    close(
      run(multislerp, {
        base: [1, 2],
        models: [
          [2, 2],
          [0, 2],
        ],
      }),
      [1, 2],
    );
    // three models, m = (1/3)[1, 0] + (1/3)[-1, 0] + (1/3)[0, 0] = 0: mergekit raises, so does M2RL
    expect(() =>
      run(multislerp, {
        models: [
          [1, 0],
          [-1, 0],
          [0, 0],
        ],
      }),
    ).toThrow(/antipodal/);
    // M2RL: a tensor no model changed (every x_i = 0) stays the base, whatever the model count (mergekit raises)
    close(
      run(multislerp, {
        base: [3, -1],
        models: [
          [3, -1],
          [3, -1],
          [3, -1],
        ],
      }),
      [3, -1],
    );
    // weights that sum to 0 cannot be normalized
    expect(() =>
      run(multislerp, {
        models: [
          [1, 0],
          [0, 1],
        ],
        perModel: [{ weight: 1 }, { weight: -1 }],
      }),
    ).toThrow(/sum to 0/);
  });

  it("equals a literal transcription of mergekit's steps (tangent space at the mean, exponential map)", () => {
    const rng = new Rng(3);
    for (const N of [2, 3, 5]) {
      const n = 37;
      const base = randn(n, rng);
      const models = Array.from({ length: N }, () => randn(n, rng));
      const w = Array.from({ length: N }, () => 0.2 + rng.next());
      // mergekit/merge_methods/multislerp.py, step by step in float64
      const ws = w.reduce((a, b) => a + b, 0);
      const wn = w.map((x) => x / ws);
      const x = models.map((m) => Array.from(m, (v, j) => v - base[j]));
      const norms = x.map((v) => Math.hypot(...v));
      const unit = x.map((v, i) => v.map((e) => e / (norms[i] + 1e-8)));
      const mean0 = Array.from({ length: n }, (_, j) => unit.reduce((s, u, i) => s + u[j] * wn[i], 0));
      const mn = Math.hypot(...mean0);
      const mean = mean0.map((e) => e / mn);
      const dots = unit.map((u) => u.reduce((s, e, j) => s + e * mean[j], 0));
      const tangent = unit.map((u, i) => u.map((e, j) => e - dots[i] * mean[j]));
      const tr = Array.from({ length: n }, (_, j) => tangent.reduce((s, t, i) => s + t[j] * wn[i], 0));
      const tn = Math.hypot(...tr) + 1e-8;
      const avg = norms.reduce((s, v, i) => s + v * wn[i], 0);
      const expected = mean.map((e, j) => (e * Math.cos(tn) + tr[j] * (Math.sin(tn) / tn)) * avg + base[j]);
      const got = run(multislerp, {
        base: [...base],
        models: models.map((m) => [...m]),
        perModel: w.map((weight) => ({ weight })),
      });
      close(got, expected, 1e-5);
      // the weighted tangent vectors cancel: what mergekit adds through them is rounding noise
      expect(Math.hypot(...tr)).toBeLessThan(1e-12);
    }
  });
});

describe("arcee_fusion", () => {
  it("keeps the changes whose importance reaches median + 1.5 IQR (hand-computed)", () => {
    // one row: softmax is shift-invariant, so every entry shares kl = KL(softmax(theta) || softmax(base)) > 0 and
    // importance = kl * |delta|, |delta| = [.1 .2 .3 .4 .5 .6 .7 4]; n - 1 = 7: q1 = sorted[floor(1.75) = 1] = .2,
    // median = sorted[floor(3.5) = 3] = .4, q3 = sorted[floor(5.25) = 5] = .6; threshold = kl (.4 + 1.5 (.6 - .2))
    // = kl * 1.0: only the entry with |delta| = 4 is kept
    const base = [1, 1, 1, 1, 1, 1, 1, 1];
    const theta = [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 5];
    close(run(arceeFusion, { base, models: [theta] }), [1, 1, 1, 1, 1, 1, 1, 5]);
    // two rows [2, 4], base 0: row 0 theta = [1 1 1 1] has the base's softmax (uniform), so kl0 = 0 and its
    // deltas of 1 have importance 0; row 1 theta = [.1 .1 .1 2]: kl1 > 0, importances kl1 [.1 .1 .1 2].
    // Sorted: [0 0 0 0 .1k .1k .1k 2k]: q1 = sorted[1] = 0, median = sorted[3] = 0, q3 = sorted[5] = .1k;
    // threshold = 0 + 1.5 * .1k = .15k: only the 2 is kept; row 0's larger changes are dropped
    close(
      run(arceeFusion, {
        base: [0, 0, 0, 0, 0, 0, 0, 0],
        models: [[1, 1, 1, 1, 0.1, 0.1, 0.1, 2]],
        shape: [2, 4],
      }),
      [0, 0, 0, 0, 0, 0, 0, 2],
    );
    // when more than half the importances are 0 and q3 is 0 the threshold is 0: every change is kept
    close(run(arceeFusion, { base: [0, 0, 0, 0], models: [[0, 0, 0, 3]] }), [0, 0, 0, 3]);
  });

  it("equals a literal transcription of mergekit's ArceeFusionMergeTask (sorted quantiles)", () => {
    const rng = new Rng(11);
    for (const shape of [[7, 13], [50], [3, 1]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const cols = shape[shape.length - 1];
      const base = randn(n, rng);
      const theta = base.map((b) => (rng.next() < 0.6 ? b + rng.normal() * 0.3 : b));
      const softmax = (x: Float32Array, r: number) => {
        const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
        const mx = Math.max(...row);
        const e = row.map((v) => Math.exp(v - mx));
        const s = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / s + 1e-8);
      };
      const imp = new Float32Array(n);
      for (let r = 0; r < n / cols; r++) {
        const p = softmax(theta, r);
        const q = softmax(base, r);
        const kl = Math.fround(p.reduce((s, pj, j) => s + pj * Math.log(pj / q[j]), 0));
        for (let c = 0; c < cols; c++) {
          const j = r * cols + c;
          imp[j] = Math.fround(Math.abs(theta[j] - base[j])) * kl;
        }
      }
      const sorted = [...imp].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.floor(q * (n - 1))];
      const f = Math.fround;
      const threshold = f(at(0.5) + f(1.5 * f(at(0.75) - at(0.25))));
      const expected = Array.from(theta, (t, j) => (imp[j] >= threshold ? t : base[j]));
      close(run(arceeFusion, { base: [...base], models: [[...theta]], shape }), expected, 1e-6);
    }
  });

  it("exact quantiles from the radix select, negative and zero importances included", () => {
    // feed passes 2 and 3 a KL per row with a negative row (rounding can make mergekit's eps-shifted KL < 0)
    const base = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const theta = Float32Array.from([1, -2, 0, 3, 0.5, 4, 1, 0, -1, 2]);
    const inp = input(arceeFusion, { base: [...base], models: [[...theta]], shape: [2, 5] });
    const kl = Float32Array.from([-0.5, 2]);
    // importances: row 0 -0.5 [1 2 0 3 .5] = [-.5 -1 -0 -1.5 -.25], row 1 2 [4 1 0 1 2] = [8 2 0 2 4]
    // sorted: [-1.5 -1 -.5 -.25 -0 0 2 2 4 8], n - 1 = 9: q1 = [2] = -.5, median = [4] = -0, q3 = [6] = 2;
    // threshold = 0 + 1.5 (2 + .5) = 3.75
    const g = arceeFusion.tensorStats!;
    let prev: unknown = { kl };
    for (const pass of [2, 3]) {
      const acc = g.create(pass, prev as never, 1);
      g.accumulate(acc, inp, pass, prev as never);
      prev = g.finish(acc, pass, prev as never);
    }
    expect((prev as { threshold: number }).threshold).toBe(3.75);
  });
});

describe("nearswap", () => {
  it("w = clamp(t / |base - theta|, 0, 1), out = w theta + (1 - w) base (hand-computed)", () => {
    // t = 0.1: |d| = .05 -> w = 1 (2 clamped) -> .05; |d| = .2 -> w = .5 -> .1; |d| = .5 -> w = .2 -> -.1;
    // |d| = 0 -> clamped to 1e-6, w = 1 -> 1; base 1, theta 3: w = .1/2 = .05 -> .05*3 + .95*1 = 1.1
    close(
      run(nearswap, { base: [0, 0, 0, 1, 1], models: [[0.05, 0.2, -0.5, 1, 3]], global: { t: 0.1 } }),
      [0.05, 0.1, -0.1, 1, 1.1],
    );
    // t = 0 or below keeps the base
    close(run(nearswap, { base: [0, 1], models: [[1, 0]], global: { t: 0 } }), [0, 1]);
    close(run(nearswap, { base: [0, 1], models: [[1, 0]], global: { t: -1 } }), [0, 1]);
  });
});

describe("registry and parameters", () => {
  it("registers the three methods with mergekit's parameters and defaults", () => {
    const names = (m: string) => METHODS.get(m)!.parameters.map((p) => [p.name, p.default ?? "required"]);
    expect(names("multislerp")).toEqual([
      ["weight", 1],
      ["normalize_weights", true],
      ["eps", 1e-8],
    ]);
    expect(names("arcee_fusion")).toEqual([]);
    expect(names("nearswap")).toEqual([["t", "required"]]);
    expect(METHODS.get("multislerp")!.base).toBe("optional");
    expect(METHODS.get("arcee_fusion")!.base).toBe("required");
    expect(METHODS.get("nearswap")!.base).toBe("required");
    for (const m of ["multislerp", "arcee_fusion", "nearswap"]) expect(METHODS.get(m)!.chunkable).toBe(true);
  });

  it("refuses unknown, missing and ill-typed parameters and wrong model counts", () => {
    const err = (text: string): string => {
      try {
        parseMergeConfig(text, "merge.yml");
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error("expected a ConfigError");
    };
    const two = "base_model: b\nmodels:\n  - model: a\n";
    expect(err(`merge_method: nearswap\n${two}`)).toMatch(/parameter 't' of 'nearswap' is required/);
    expect(err(`merge_method: nearswap\n${two}parameters: {t: fast}\n`)).toMatch(/number/);
    expect(err(`merge_method: nearswap\n${two}  - model: c\nparameters: {t: 0.1}\n`)).toMatch(
      /takes exactly 1 model/,
    );
    expect(
      err("merge_method: arcee_fusion\nbase_model: b\nmodels:\n  - model: a\n    parameters: {weight: 1}\n"),
    ).toMatch(/unknown parameter 'weight' for merge method 'arcee_fusion' \(known: none\)/);
    expect(err("merge_method: arcee_fusion\nmodels:\n  - model: a\n")).toMatch(/base_model/);
    expect(
      err("merge_method: multislerp\nmodels:\n  - model: a\n  - model: c\nparameters: {normalize: true}\n"),
    ).toMatch(/unknown parameter 'normalize' for merge method 'multislerp'/);
    expect(
      err("merge_method: multislerp\nmodels:\n  - model: a\n  - model: c\nparameters: {eps: -1}\n"),
    ).toMatch(/>= 0/);
    expect(
      err(
        "merge_method: multislerp\nmodels:\n  - model: a\n  - model: c\nparameters:\n  normalize_weights: [{filter: mlp, value: false}, {value: true}]\n",
      ),
    ).toMatch(/cannot vary by tensor/);
    // per-tensor values where mergekit allows them parse
    const ok = parseMergeConfig(
      "merge_method: nearswap\nbase_model: b\nmodels:\n  - model: a\nparameters:\n  t: [{filter: mlp, value: 0.01}, {value: 0.001}]\n",
      "merge.yml",
    );
    expect(ok.method.name).toBe("nearswap");
  });
});

describe("statistics over chunks", () => {
  it("any split into chunks, accumulated in worker-sized groups and combined in order, gives the whole result", () => {
    // 3 x 70001 entries: rows longer than a block, chunk boundaries that are not block multiples
    const rng = new Rng(21);
    const shape = [3, 70001];
    const n = shape[0] * shape[1];
    const base = randn(n, rng);
    const models = [0, 1, 2].map(() => base.map((b) => (rng.next() < 0.5 ? b + rng.normal() * 0.1 : b)));
    const cases = [
      { method: multislerp, base: true, models, perModel: [{ weight: 2 }, { weight: 1 }, { weight: 0.5 }] },
      { method: multislerp, base: false, models, perModel: [{}, {}, {}] },
      { method: arceeFusion, base: true, models: [models[0]], perModel: [{}] },
    ];
    for (const c of cases) {
      const whole = input(c.method, { models: [[0]], perModel: c.perModel });
      Object.assign(whole, { shape, base: c.base ? base : undefined, models: c.models });
      whole.params.perModel = c.perModel.map((p) => ({ ...whole.params.perModel[0], ...p }));
      const expected = c.method.mergeTensor(whole);
      const cuts = [0, 65536, 70001, 131072, 140000, 196608, n];
      const chunk = (k: number) => ({
        ...whole,
        offset: cuts[k],
        base: whole.base?.subarray(cuts[k], cuts[k + 1]),
        models: whole.models.map((m) => m.subarray(cuts[k], cuts[k + 1])),
      });
      const g = c.method.tensorStats!;
      const passes = typeof g.passes === "number" ? g.passes : g.passes(whole.params);
      let prev: unknown;
      for (let pass = 0; pass < passes; pass++) {
        // two "workers": chunks 0-2 and 3-5, each into its own accumulator, combined in order
        const accs = [
          [0, 1, 2],
          [3, 4, 5],
        ].map((ks) => {
          const acc = g.create(pass, prev, c.models.length);
          for (const k of ks) g.accumulate(acc, chunk(k), pass, prev);
          return structuredClone(acc);
        });
        prev = g.finish(g.combine(accs[0], accs[1]), pass, prev);
      }
      const got = new Float32Array(n);
      for (let k = 0; k < cuts.length - 1; k++) {
        got.set(c.method.mergeTensor({ ...chunk(k), stats: prev }), cuts[k]);
      }
      expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer)), c.method.name).toBe(true);
    }
  });
});

describe("through the engine", () => {
  async function bytes(d: string): Promise<Buffer> {
    return readFile(join(dir, d, "model.safetensors"));
  }

  it("large tensors merged in chunks (inline and in workers) give the bytes of whole-tensor merges", async () => {
    // [400, 400]: rows straddle the 65536-element chunks; [3, 70000]: rows longer than a chunk
    for (const [fam, big] of [
      ["a", [400, 400]],
      ["b", [3, 70000]],
    ] as const) {
      const root = join(dir, fam);
      await makeFamily(root, 3, { big: [...big], dtype: "BF16", seed: 5 });
      const cases: [string, string][] = [
        ["multislerp", "base_model: base\nmodels:\n  - model: ft0\n  - model: ft1\n  - model: ft2\n"],
        [
          "multislerp",
          "models:\n  - model: ft0\n    parameters: {weight: 2}\n  - model: ft1\n  - model: ft2\nparameters: {normalize_weights: false}\n",
        ],
        ["arcee_fusion", "base_model: base\nmodels:\n  - model: base\n  - model: ft1\n"],
        ["nearswap", "base_model: base\nmodels:\n  - model: ft0\nparameters: {t: 0.02}\n"],
      ];
      for (const [k, [method, body]] of cases.entries()) {
        const cfg = join(root, `m${k}.yml`);
        await writeFile(cfg, `merge_method: ${method}\n${body}out_dtype: float32\n`);
        const out = (s: string) => join(fam, `out_${s}${k}`);
        const whole = await mergeFromFile(cfg, { outDir: join(dir, out("w")), workers: 0 });
        const split = await mergeFromFile(cfg, {
          outDir: join(dir, out("c")),
          workers: 0,
          chunkElements: 65536,
        });
        const threads = await mergeFromFile(cfg, {
          outDir: join(dir, out("t")),
          workers: 2,
          chunkElements: 65536,
        });
        const w = await bytes(out("w"));
        expect((await bytes(out("c"))).equals(w), `${fam} ${method} ${body} chunked`).toBe(true);
        expect((await bytes(out("t"))).equals(w), `${fam} ${method} ${body} chunked in workers`).toBe(true);
        expect(split.updates).toEqual(whole.updates);
        expect(threads.updates).toEqual(whole.updates);
        // and the big tensor is not the base's: the merge changed something
        const ck = await openCheckpoint(join(dir, out("w")));
        const merged = await ck.readFloat32("model.layers.0.mlp.down_proj.weight");
        await ck.close();
        const bk = await openCheckpoint(join(root, "base"));
        const b = await bk.readFloat32("model.layers.0.mlp.down_proj.weight");
        await bk.close();
        expect(
          merged.some((x, j) => x !== b[j]),
          `${fam} ${method} changes the tensor`,
        ).toBe(true);
      }
    }
  }, 120_000);

  it("mergekit YAMLs (mergekit's examples/arcee_fusion.yml shape) parse and merge", async () => {
    const t = (w: number[]) => [{ name: "w", shape: [w.length], data: Float32Array.from(w) }];
    await writeModel(join(dir, "model_a"), t([1, 1, 1, 1, 1, 1, 1, 1]));
    await writeModel(join(dir, "model_b"), t([1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 5]));
    await writeModel(join(dir, "model_c"), t([1, 3, 1, 1, 1, 1, 1, 1]));
    const merge = async (name: string, yml: string) => {
      await writeFile(join(dir, `${name}.yml`), yml);
      await mergeFromFile(join(dir, `${name}.yml`), { outDir: join(dir, name), workers: 0 });
      const ck = await openCheckpoint(join(dir, name));
      const w = [...(await ck.readFloat32("w"))];
      await ck.close();
      return w;
    };
    // mergekit's example, verbatim: model_a listed among the models and as base_model (dropped from the models)
    const fused = await merge(
      "fusion",
      "models:\n  - model: model_a\n  - model: model_b\nmerge_method: arcee_fusion\nbase_model: model_a\ndtype: bfloat16\n",
    );
    expect(fused).toEqual([1, 1, 1, 1, 1, 1, 1, 5]); // the hand-computed case above
    // nearswap t = 0.25 around model_a: |d| = [.1 .2 .3 .4 .5 .6 .7 4] -> w = [1 1 .8333 .625 .5 .4167 .3571 .0625]
    const near = await merge(
      "near",
      "merge_method: nearswap\nbase_model: model_a\nmodels:\n  - model: model_b\nparameters:\n  t: 0.25\ndtype: float32\n",
    );
    close(near, [1.1, 1.2, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25], 1e-6); // w d = min(d, t) = [.1 .2 .25 ...]
    // multislerp of model_b and model_c around model_a: x_b = [.1 .. .7 4] (rounded), x_c = [0 2 0 ...]
    const ms = await merge(
      "ms",
      "merge_method: multislerp\nbase_model: model_a\nmodels:\n  - model: model_b\n    parameters: {weight: 1}\n  - model: model_c\n    parameters: {weight: 1}\nparameters: {normalize_weights: true, eps: 1.0e-8}\ndtype: float32\n",
    );
    const xb = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 4];
    const nb = Math.hypot(...xb);
    // m = 0.5 x_b / |x_b| + 0.5 [0 1 0 ...]; out = base + m / |m| * (0.5 |x_b| + 0.5 * 2)
    const m = xb.map((v, j) => (0.5 * v) / nb + (j === 1 ? 0.5 : 0));
    const mn = Math.hypot(...m);
    close(
      ms,
      m.map((v) => 1 + (v / mn) * (0.5 * nb + 1)),
      1e-5,
    );
  });
});
