import { Rng } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { computeWeightGeometry, type GeometryAccumulator } from "../src/geometry/compute.ts";
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
      { chunkElements: 3, projection: false, subspace: false },
    );
    expect(g.global.inFootprint).toEqual([4, 4]);
    expect(g.global.both[1]).toBe(3);
    expect(g.global.conflicts[1]).toBe(1);
    expect(g.global.changed).toEqual([5, 5]);
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
