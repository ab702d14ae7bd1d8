import { Rng } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { findingThree, geometryResult, type PairGeometry } from "../src/geometry/analysis.ts";
import { bf16Differs, computeWeightGeometry, type GeometryAccumulator } from "../src/geometry/compute.ts";
import { MemoryTensorSource } from "../src/tensors/memory-source.ts";

function src(name: string, tensors: Record<string, [number[], number[] | Float32Array]>) {
  return new MemoryTensorSource(
    new Map(
      Object.entries(tensors).map(([k, [shape, data]]) => [k, { shape, data: Float32Array.from(data) }]),
    ),
    name,
  );
}
const cos = (acc: GeometryAccumulator, A: number, a: number, b: number) =>
  acc.gram[a * A + b] / Math.sqrt(acc.gram[a * A + a] * acc.gram[b * A + b]);

describe("weight geometry", () => {
  it("identical arms: cosine 1, footprint overlap 1, no sign conflicts, subspace angles 0", async () => {
    const rng = new Rng(1);
    const n = 24 * 16;
    const base = Array.from({ length: n }, () => rng.normal());
    const arm = base.map((x) => x + rng.normal() * 0.01);
    const mk = (name: string, w: number[]) =>
      src(name, {
        "model.layers.0.self_attn.q_proj.weight": [[24, 16], w],
        "model.norm.weight": [[4], [1, 1, 1, 1]],
      });
    const g = await computeWeightGeometry(
      { name: "base", weights: mk("base", base) },
      [
        { name: "a", weights: mk("a", arm) },
        { name: "b", weights: mk("b", arm) },
      ],
      { chunkElements: 50, subspace: { rank: 3 }, projection: { dims: 32 } },
    );
    expect(cos(g.global, 2, 0, 1)).toBeCloseTo(1, 10);
    expect(g.global.both[1]).toBe(g.global.inFootprint[0]);
    expect(g.global.inFootprint[0]).toBeGreaterThan(0);
    expect(g.global.conflicts[1]).toBe(0);
    const [pa, pb] = g.projection!.vectors;
    expect(pa).toEqual(pb);
    const st = g.subspace!.tensors.find((t) => t.name.includes("q_proj"))!;
    for (const d of st.angles[0].degrees) expect(d).toBeLessThan(1e-3);
    expect(st.angles[0].overlap).toBeCloseTo(1, 6);
    // the norm vector did not change: no module "norm" footprint
    expect(g.byModule.find((m) => m.module === "norm")!.acc.inFootprint).toEqual([0, 0]);
  });

  it("orthogonal task vectors: cosine 0, disjoint footprints; opposite: cosine -1, all conflicts", async () => {
    const base = [0, 0, 0, 0, 0, 0];
    const g = await computeWeightGeometry(
      { name: "base", weights: src("base", { w: [[6], base] }) },
      [
        { name: "a", weights: src("a", { w: [[6], [1, 2, 0, 0, 0, 0]] }) },
        { name: "b", weights: src("b", { w: [[6], [0, 0, 3, 0, 0, 0]] }) },
        { name: "c", weights: src("c", { w: [[6], [-1, -2, 0, 0, 0, 0]] }) },
      ],
      { chunkElements: 4, footprint: { threshold: { kind: "absolute", value: 0.5 } }, projection: false },
    );
    const A = 3;
    expect(cos(g.global, A, 0, 1)).toBe(0);
    expect(cos(g.global, A, 0, 2)).toBeCloseTo(-1, 12);
    expect(g.global.both[0 * A + 1]).toBe(0);
    expect(g.global.both[0 * A + 2]).toBe(2);
    expect(g.global.conflicts[0 * A + 2]).toBe(2);
    expect(Math.sqrt(g.global.gram[0])).toBeCloseTo(Math.sqrt(5), 12);
  });

  it("footprint on hand masks: relative threshold, Jaccard and sign conflicts", async () => {
    // base 1s; deltas chosen against the rule |Δ| > 1e-3·max(|w_arm|, |w_base|) (≈ 1e-3 here)
    const base = [1, 1, 1, 1, 1, 1, 1, 1];
    const da = [0.01, 0.01, -0.01, 0, 0.0005, 0.01, 0, 0];
    const db = [0.01, -0.01, -0.01, 0.01, 0, 0, 0, 0.0005];
    // masks: A = {0,1,2,5}; B = {0,1,2,3}; both = {0,1,2}; conflicts on the overlap: index 1
    const g = await computeWeightGeometry(
      { name: "base", weights: src("base", { w: [[8], base] }) },
      [
        { name: "a", weights: src("a", { w: [[8], base.map((x, i) => x + da[i])] }) },
        { name: "b", weights: src("b", { w: [[8], base.map((x, i) => x + db[i])] }) },
      ],
      {
        chunkElements: 3,
        projection: false,
        subspace: false,
        footprint: { threshold: { kind: "relative", value: 1e-3 } },
      },
    );
    expect(g.global.inFootprint).toEqual([4, 4]);
    expect(g.global.both[1]).toBe(3);
    expect(g.global.conflicts[1]).toBe(1);
    expect(g.global.changed).toEqual([5, 5]);
  });

  it("bf16 footprint (the default): updated = the bfloat16 value changed, ties rounded to even", async () => {
    // bf16 keeps the top 16 bits of the float32 (8 significand bits): near 1 its step (ulp) is 2^-7.
    // Hand rounding of each entry (round to nearest, ties to even) — f32 bits → bf16 bits:
    //  i  base          arm a                         arm b
    //  0  1 (3F80)      1+2^-9 → 3F80 (below ½ulp)    1+2^-6 (3F820000) → 3F82: updated
    //  1  1             1+2^-8 → 3F80 (tie: 3F80 even, stays)   1+2^-8+2^-20 (3F808008) → 3F81 (over ½ulp): updated
    //  2  1+2^-7 (3F81) 1+3·2^-8 (3F818000) → tie, 3F81 odd → 3F82: updated   1+3·2^-9 (3F80C000) → 3F81 = base: not
    //  3  +0            −0 → 8000, equal to +0 as a value: not updated        1e-30 → non-zero bf16: updated
    //  4  −1 (BF80)     −1−2^-6 → BF82: updated       −1−2^-6: updated (same sign as a: no conflict)
    //  5  2 (4000)      2+2^-6 (40010000) → 4001: updated   2−2^-6 = 1+127/128 (3FFE0000) → 3FFE: updated (opposite sign)
    //  6  1             1: not                        1: not
    // masks: a = {2, 4, 5}; b = {0, 1, 3, 4, 5}; a∩b = {4, 5}; a∪b = {0..5}: Jaccard 2/6; one sign conflict (5).
    const base = [1, 1, 1 + 2 ** -7, 0, -1, 2, 1];
    const wa = [1 + 2 ** -9, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -0, -1 - 2 ** -6, 2 + 2 ** -6, 1];
    const wb = [1 + 2 ** -6, 1 + 2 ** -8 + 2 ** -20, 1 + 3 * 2 ** -9, 1e-30, -1 - 2 ** -6, 2 - 2 ** -6, 1];
    const run = (footprint?: { threshold: { kind: "relative"; value: number } }) =>
      computeWeightGeometry(
        { name: "base", weights: src("base", { w: [[7], base] }) },
        [
          { name: "single:a", weights: src("a", { w: [[7], wa] }) },
          { name: "single:b", weights: src("b", { w: [[7], wb] }) },
        ],
        { chunkElements: 3, projection: { dims: 4 }, subspace: false, ...(footprint ? { footprint } : {}) },
      );
    const g = await run();
    expect(g.footprint!.threshold).toEqual({ kind: "bf16" });
    expect(g.global.inFootprint).toEqual([3, 5]);
    expect(g.global.both[1]).toBe(2);
    expect(g.global.conflicts[1]).toBe(1);
    expect(g.tensors![0].acc.inFootprint).toEqual([3, 5]);
    // float32 Δ ≠ 0 (−0 − 0 = −0 counts as no change): a moved 5 entries, b 6
    expect(g.global.changed).toEqual([5, 6]);
    const r = geometryResult(
      g,
      new Map([
        ["single:a", "single"],
        ["single:b", "single"],
      ]),
    );
    const pair = (r.summary.pairs as PairGeometry[])[0];
    expect(pair.jaccard).toBeCloseTo(2 / 6, 12);
    expect(r.tables[0].caption).toContain("updated = bf16 value changed");
    expect(r.tables[1].caption).toContain("updated = bf16 value changed");
    // The relative rule 1e-3·max(|w|) counts the sub-bf16 moves of a (entries 0 and 1) as updates.
    const rel = await run({ threshold: { kind: "relative", value: 1e-3 } });
    expect(rel.global.inFootprint[0]).toBe(5);
  });

  it("bf16Differs: bit-level cases", () => {
    const bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
    expect(bf16Differs(bits(1), bits(1 + 2 ** -8))).toBe(false); // tie to even
    expect(bf16Differs(bits(1 + 2 ** -7), bits(1 + 3 * 2 ** -8))).toBe(true); // tie from odd rounds up
    expect(bf16Differs(bits(0), bits(-0))).toBe(false);
    expect(bf16Differs(bits(1), bits(1 + 2 ** -7))).toBe(true);
    expect(bf16Differs(0x3f800000, 0x3f807fff)).toBe(false); // just below ½ ulp
    expect(bf16Differs(0x3f800000, 0x3f808001)).toBe(true); // just above ½ ulp
  });

  it("finding 3: yes when every pair beats its random Jaccard and every projected cosine is positive", () => {
    const p = (a: string, b: string, j: number, rj: number, pc: number): PairGeometry => ({
      a,
      b,
      cosine: 0.1,
      jaccard: j,
      randomJaccard: rj,
      projectedCosine: pc,
    });
    const arms = ["x", "y", "z"].map((arm) => ({
      arm,
      norm: 1,
      rms: 1,
      changed: 1,
      footprintDensity: 0.1,
      projectedNorm: 1,
    }));
    const g = {
      footprint: { threshold: { kind: "bf16" as const } },
      projection: { dims: 4, kind: "gaussian" as const, seed: 0, vectors: [] },
    };
    const yes = findingThree([p("x", "y", 0.2, 0.05, 0.3), p("x", "z", 0.1, 0.05, 0.01)], arms, g)!;
    expect(yes.verdict).toBe("yes");
    expect(yes.statistics!.map((s) => [s.value, s.threshold, s.direction, s.ci])).toEqual([
      [0.05, 0, "above", undefined],
      [0.01, 0, "above", undefined],
    ]);
    expect(yes.evidence).toContain("updated = bf16 value changed");
    // one pair at chance → no (min excess 0 is not above 0)
    expect(findingThree([p("x", "y", 0.2, 0.05, 0.3), p("x", "z", 0.05, 0.05, 0.2)], arms, g)!.verdict).toBe(
      "no",
    );
    // one negative projected cosine → no
    expect(findingThree([p("x", "y", 0.2, 0.05, -0.3)], arms, g)!.verdict).toBe("no");
    // projection off → n/a
    expect(findingThree([p("x", "y", 0.2, 0.05, 0.3)], arms, { footprint: g.footprint })!.verdict).toBe(
      "n/a",
    );
    // dense footprints are flagged in the evidence
    const dense = arms.map((a) => ({ ...a, footprintDensity: 0.99 }));
    expect(findingThree([p("x", "y", 0.99, 0.98, 0.3)], dense, g)!.evidence).toMatch(/nearly every weight/);
  });

  it("top-p% footprint keeps the largest entries of each arm over the whole model", async () => {
    const g = await computeWeightGeometry(
      { name: "base", weights: src("base", { x: [[5], [0, 0, 0, 0, 0]], y: [[5], [0, 0, 0, 0, 0]] }) },
      [{ name: "a", weights: src("a", { x: [[5], [1, 2, 3, 4, 5]], y: [[5], [6, 7, 8, 9, 10]] }) }],
      {
        footprint: { threshold: { kind: "top", fraction: 0.3 } },
        projection: false,
        subspace: false,
        chunkElements: 2,
      },
    );
    expect(g.global.inFootprint).toEqual([3]);
    expect(g.tensors!.find((t) => t.name === "y")!.acc.inFootprint).toEqual([3]);
  });

  it("principal angles of rank-1 updates: orthogonal column spaces give 90°, shared gives 0°", async () => {
    const m = 12;
    const n = 10;
    const outer = (u: number[], v: number[]) => u.flatMap((x) => v.map((y) => x * y));
    const e = (i: number, d: number) => Array.from({ length: d }, (_, j) => (j === i ? 1 : 0));
    const zero = new Array(m * n).fill(0);
    const v = Array.from({ length: n }, (_, j) => j + 1);
    const d45 = Array.from({ length: m }, (_, j) => (j < 2 ? Math.SQRT1_2 : 0));
    const g = await computeWeightGeometry(
      { name: "base", weights: src("base", { "l.up_proj.weight": [[m, n], zero] }) },
      [
        { name: "a", weights: src("a", { "l.up_proj.weight": [[m, n], outer(e(0, m), v)] }) },
        {
          name: "b",
          weights: src("b", {
            "l.up_proj.weight": [
              [m, n],
              outer(
                e(1, m),
                v.map((x) => -x),
              ),
            ],
          }),
        },
        { name: "c", weights: src("c", { "l.up_proj.weight": [[m, n], outer(d45, e(3, n))] }) },
      ],
      { subspace: { rank: 1, oversample: 2 }, projection: false, chunkElements: 25 },
    );
    const t = g.subspace!.tensors[0];
    const ang = (a: number, b: number) => t.angles.find((x) => x.a === a && x.b === b)!.degrees[0];
    expect(ang(0, 1)).toBeCloseTo(90, 4);
    expect(ang(0, 2)).toBeCloseTo(45, 4);
    expect(t.energy[0]).toBeCloseTo(1, 6);
  });

  it("reads in chunks, never whole large tensors", async () => {
    const n = 10_000;
    const base = src("base", { w: [[100, 100], new Float32Array(n)] });
    const a = src("a", { w: [[100, 100], Float32Array.from({ length: n }, (_, i) => i % 7)] });
    await computeWeightGeometry({ name: "base", weights: base }, [{ name: "a", weights: a }], {
      chunkElements: 1000,
      projection: { dims: 8 },
    });
    expect(a.maxReadElements).toBeLessThanOrEqual(1000);
    expect(base.maxReadElements).toBeLessThanOrEqual(1000);
  });

  it("names the tensor when shapes differ", async () => {
    await expect(
      computeWeightGeometry({ name: "base", weights: src("base", { w: [[2], [0, 0]] }) }, [
        {
          name: "a",
          weights: src("a", {
            w: [
              [1, 2],
              [0, 0],
            ],
          }),
        },
      ]),
    ).rejects.toThrow(/^a w: shape \[1,2\] differs/);
  });
});
