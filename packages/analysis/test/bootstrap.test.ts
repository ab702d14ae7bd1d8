import type { EvalRow } from "@m2rl/core";
import { Rng } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import {
  acrossSeeds,
  bootstrapMeans,
  bootstrapReplicates,
  DrawCache,
  pairedBootstrap,
  percentileInterval,
  seedsOf,
  spread,
  stratifiedBootstrap,
  taskScoreIndex,
  taskScores,
} from "../src/math/bootstrap.ts";
import { evalRow } from "./fixtures.ts";

const row = (arm: string, domain: string, taskId: string, reward: number, seed?: number): EvalRow =>
  evalRow(
    arm,
    domain,
    taskId,
    reward,
    seed === undefined ? { responseLength: 1 } : { seed, responseLength: 1 },
  );

const scores = (entries: [string, number][]) => new Map(entries);

describe("bootstrap", () => {
  it("per-task scores average a task's samples over every seed", () => {
    const rows = [
      row("mix", "math", "a", 1, 1),
      row("mix", "math", "a", 0, 1),
      row("mix", "math", "a", 1, 2),
      row("mix", "math", "b", 0, 1),
      row("mix", "code", "a", 1, 1),
      row("sft", "math", "a", 0, 1),
    ];
    expect(taskScores(rows, "mix", "math")).toEqual(
      new Map([
        ["a", 2 / 3],
        ["b", 0],
      ]),
    );
    expect(taskScoreIndex(rows).get("mix")?.get("code")).toEqual(new Map([["a", 1]]));
    expect(taskScores(rows, "nope", "math").size).toBe(0);
  });

  it("n = 2 tasks: replicate means follow the exact distribution {a, (a+b)/2, b} w.p. 1/4, 1/2, 1/4", () => {
    const a = 0.2;
    const b = 0.8;
    const B = 40_000;
    const m = bootstrapMeans([a, b], { resamples: B, seed: 3, label: "two" });
    const freq = (v: number) => m.filter((x) => Math.abs(x - v) < 1e-12).length / B;
    // every replicate is one of the three support points
    expect(freq(a) + freq((a + b) / 2) + freq(b)).toBe(1);
    // binomial SD of a frequency at B = 40k is ≤ 0.0025: 0.01 is four SDs
    expect(Math.abs(freq(a) - 0.25)).toBeLessThan(0.01);
    expect(Math.abs(freq((a + b) / 2) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(freq(b) - 0.25)).toBeLessThan(0.01);
    // exact percentiles: the 2.5% and 97.5% points lie inside the end masses (cumulative 0.25 and 0.75)
    const ci = pairedBootstrap(
      scores([
        ["t1", a],
        ["t2", b],
      ]),
      undefined,
      { resamples: B, seed: 3, label: "two" },
    );
    expect(ci).toEqual({ value: 0.5, lo: a, hi: b, n: 2 });
    // 30% and 70% points both lie inside the middle mass
    expect(percentileInterval(m, 0.4)).toEqual([0.5, 0.5]);
  });

  it("paired: Y = X + c gives the CI [c, c] exactly; only tasks present in both arms are paired", () => {
    const x = scores([
      ["t1", 0.1],
      ["t2", 0.7],
      ["t3", 0.4],
      ["t4", 1],
    ]);
    const c = 0.25;
    const y = scores([...x].map(([t, v]) => [t, v + c]));
    y.set("extra", 0); // unpaired: ignored
    const d = pairedBootstrap(y, x);
    expect(d.n).toBe(4);
    expect(d.value).toBeCloseTo(c, 15);
    expect(d.lo).toBeCloseTo(c, 15);
    expect(d.hi).toBeCloseTo(c, 15);
    // unpaired, x alone: the CI has width and contains the mean
    const s = pairedBootstrap(x);
    expect(s.value).toBeCloseTo(0.55, 15);
    expect(s.lo).toBeLessThan(s.value);
    expect(s.hi).toBeGreaterThan(s.value);
    expect(s.lo).toBeGreaterThanOrEqual(0.1);
    expect(s.hi).toBeLessThanOrEqual(1);
  });

  it("deterministic: same input, seed and label → same numbers; other seed → other draws; order of calls is irrelevant", () => {
    const x = scores(Array.from({ length: 30 }, (_, i) => [`t${i}`, ((i * 7919) % 13) / 13]));
    const first = pairedBootstrap(x, undefined, { seed: 5, label: "L" });
    pairedBootstrap(x, undefined, { seed: 5, label: "other" }); // another stream in between
    expect(pairedBootstrap(x, undefined, { seed: 5, label: "L" })).toEqual(first);
    // insertion order of tasks does not matter (tasks are sorted by id)
    expect(pairedBootstrap(new Map([...x].reverse()), undefined, { seed: 5, label: "L" })).toEqual(first);
    expect(pairedBootstrap(x, undefined, { seed: 6, label: "L" })).not.toEqual(first);
    // the drawn indices are Rng.derive(seed, label).int(n) in order
    const rng = Rng.derive(5, "L");
    expect(Array.from(new DrawCache().get(5, "L", 30, 4))).toEqual(
      Array.from({ length: 120 }, () => rng.int(30)),
    );
    // a cache gives the same numbers
    const cache = new DrawCache();
    expect(pairedBootstrap(x, undefined, { seed: 5, label: "L", cache })).toEqual(first);
    // paired, with and without the cache's memoised replicate means (and with a partial task overlap)
    const y = new Map([...x].map(([t, v]) => [t, 1 - v]));
    const partial = new Map([...y].slice(3));
    for (const other of [y, partial]) {
      const plain = pairedBootstrap(x, other, { seed: 5, label: "L" });
      expect(pairedBootstrap(x, other, { seed: 5, label: "L", cache })).toEqual(plain);
      expect(pairedBootstrap(x, other, { seed: 5, label: "L", cache })).toEqual(plain);
    }
    expect(pairedBootstrap(x, undefined, { seed: 5, label: "L", cache })).toEqual(first);
  });

  it("stratified average on a hand case: each domain weighs the same, strata resampled independently", () => {
    // domain A: one task (score 1) → its mean is always 1; domain B: tasks 0 and 0.5 → {0, .25, .5} w.p. ¼, ½, ¼
    const strata = [
      { name: "A", x: scores([["a", 1]]) },
      {
        name: "B",
        x: scores([
          ["b1", 0],
          ["b2", 0.5],
        ]),
      },
    ];
    const r = stratifiedBootstrap(strata, { resamples: 20_000 });
    // (1 + 0.25) / 2, not the pooled mean over the 3 tasks (0.5)
    expect(r.value).toBeCloseTo(0.625, 15);
    expect(r.n).toBe(3);
    // replicates = (1 + m_B)/2 ∈ {0.5, 0.625, 0.75}; 2.5% / 97.5% points at the ends
    expect(r.lo).toBeCloseTo(0.5, 15);
    expect(r.hi).toBeCloseTo(0.75, 15);
    // paired and weighted: Δ per stratum is constant (0.1 on A, 0.4 on B): value and CI = (1·0.1 + 3·0.4)/4
    const plus = (m: Map<string, number>, c: number) => new Map([...m].map(([t, v]) => [t, v + c]));
    const w = stratifiedBootstrap([
      { name: "A", x: plus(strata[0].x, 0.1), y: strata[0].x, weight: 1 },
      { name: "B", x: plus(strata[1].x, 0.4), y: strata[1].x, weight: 3 },
      { name: "C", x: scores([["c", 1]]), y: scores([["other", 1]]) }, // no common task: left out
    ]);
    expect(w.value).toBeCloseTo(0.325, 12);
    expect(w.lo).toBeCloseTo(0.325, 12);
    expect(w.hi).toBeCloseTo(0.325, 12);
    expect(w.n).toBe(3);
    expect(stratifiedBootstrap([]).n).toBe(0);
    expect(Number.isNaN(stratifiedBootstrap([]).value)).toBe(true);
  });

  it("a stratum of the stratified statistic draws the same tasks as the per-domain statistic labelled label/name", () => {
    const x = scores(Array.from({ length: 9 }, (_, i) => [`t${i}`, i / 9]));
    const perDomain = bootstrapMeans([...x.values()], { label: "scores/math" });
    const viaStratum = bootstrapMeans([...x.values()], { label: "scores" }, "math");
    expect(viaStratum).toEqual(perDomain);
    // generic replicates: the mean statistic reproduces bootstrapMeans
    const v = [...x.values()];
    const reps = bootstrapReplicates(
      [{ name: "math", size: v.length }],
      ([d]) => d.reduce((s, i) => s + v[i], 0) / d.length,
      { label: "scores" },
    );
    for (let i = 0; i < reps.length; i++) expect(reps[i]).toBeCloseTo(perDomain[i], 12);
  });

  it("empty and single-task inputs", () => {
    const e = pairedBootstrap(new Map());
    expect(e.n).toBe(0);
    expect(Number.isNaN(e.value) && Number.isNaN(e.lo) && Number.isNaN(e.hi)).toBe(true);
    expect(pairedBootstrap(scores([["t", 0.3]]))).toEqual({ value: 0.3, lo: 0.3, hi: 0.3, n: 1 });
  });

  it("fast enough: 2000 resamples × 200 tasks × 14 arms × 4 domains", () => {
    const cache = new DrawCache();
    const t0 = performance.now();
    for (let a = 0; a < 14; a++) {
      for (let d = 0; d < 4; d++) {
        const x = scores(Array.from({ length: 200 }, (_, i) => [`t${i}`, ((i * (a + 3) + d) % 17) / 17]));
        pairedBootstrap(x, undefined, { label: `scores/d${d}`, cache });
      }
    }
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(2000);
  });

  it("across seeds: per-seed estimates with mean, sample SD and range", () => {
    const rows = [
      row("mix", "math", "a", 1, 2),
      row("mix", "math", "b", 0, 2),
      row("mix", "math", "a", 1, 1),
      row("mix", "math", "b", 1, 1),
      row("mix", "math", "a", 0, 3),
      row("mix", "math", "b", 0, 3),
    ];
    expect(seedsOf(rows)).toEqual([1, 2, 3]);
    expect(seedsOf([row("mix", "math", "a", 1)])).toEqual([null]);
    const s = acrossSeeds(rows, (rs) => rs.reduce((a, r) => a + r.reward, 0) / rs.length);
    expect(s.seeds).toEqual([1, 2, 3]);
    expect(s.values).toEqual([1, 0.5, 0]);
    expect(s.mean).toBe(0.5);
    expect(s.sd).toBeCloseTo(0.5, 15); // √((0.25 + 0 + 0.25) / 2)
    expect([s.min, s.max, s.n]).toEqual([0, 1, 3]);
    expect(Number.isNaN(spread([0.4]).sd)).toBe(true);
    expect(spread([Number.NaN, 2, 4])).toEqual({ n: 2, mean: 3, sd: Math.SQRT2, min: 2, max: 4 });
  });
});
