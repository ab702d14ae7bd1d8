import type { EvalRow } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { parseArmName } from "../src/arms.ts";
import { cellInfo, judgeAccuracy } from "../src/information.ts";
import { divergenceOnSamples, nextTokenModel, runPrediction } from "../src/prediction.ts";
import { AVERAGE, cellOf, type ScoreTable, scores, scoreTable, scoreTableWithCi } from "../src/scores.ts";
import { consistency, gains, itemAccuracy, skillOverlap } from "../src/skills.ts";
import { costOf, estimateFlops, mixVsMerge, training } from "../src/training.ts";
import { bigramPolicy, evalRow, randomTable } from "./fixtures.ts";

const row = evalRow;

describe("scores", () => {
  it("Avg@K and pass@K on hand rows", () => {
    const rows = [
      row("sft", "math", "a", 1),
      row("sft", "math", "a", 0, { sampleIndex: 1 }),
      row("sft", "math", "b", 0),
      row("sft", "math", "b", 0, { sampleIndex: 1 }),
      row("mix", "math", "a", 1),
    ];
    const t = scoreTable(rows);
    expect(cellOf(t, "sft", "math")!.avg).toBe(0.25);
    expect(cellOf(t, "sft", "math")!.passAtK).toBe(0.5);
    expect(t.reference).toBe("sft");
    expect(t.arms).toEqual(["sft", "mix"]);
  });
  it("orders arms as the paper's columns", () => {
    const t = scoreTable(
      ["mix", "merge:ties", "single:math", "sft", "single:code", "mopd"].map((a) => row(a, "math", "x", 1)),
    );
    // single arms follow the eval domains' order (only math here), then the rest by name
    expect(t.arms).toEqual(["sft", "single:math", "single:code", "merge:ties", "mopd", "mix"]);
  });
});

/** One row per task t0..t(n−1) of `arm` on `domain` with the given rewards. */
const taskRows = (arm: string, domain: string, rewards: readonly number[], extra: Partial<EvalRow> = {}) =>
  rewards.map((r, i) => row(arm, domain, `t${i}`, r, extra));
const ramp = (n: number) => Array.from({ length: n }, (_, i) => (i % 5) / 10); // 0 … 0.4

describe("scores with confidence intervals", () => {
  it("Y = X + c gives paired Δ CIs [c, c]; the average is stratified over domains; cells carry avgCi", async () => {
    const base = ramp(10);
    const rows = [
      ...taskRows("sft", "math", base),
      ...taskRows("sft", "code", base),
      ...taskRows(
        "mix",
        "math",
        base.map((x) => x + 0.5),
      ),
      ...taskRows(
        "mix",
        "code",
        base.map((x) => x + 0.1),
      ),
    ];
    const t = scoreTableWithCi(rows, { seed: 1 });
    const d = (domain: string) => t.deltas!.find((x) => x.arm === "mix" && x.domain === domain)!;
    expect(d("math")).toMatchObject({ vs: "sft", against: "reference", n: 10 });
    for (const [domain, c] of [
      ["math", 0.5],
      ["code", 0.1],
      [AVERAGE, 0.3],
    ] as const) {
      expect(d(domain).value).toBeCloseTo(c, 12);
      expect(d(domain).lo).toBeCloseTo(c, 12);
      expect(d(domain).hi).toBeCloseTo(c, 12);
    }
    const cell = cellOf(t, "sft", "math")!;
    expect(cell.avg).toBeCloseTo(0.2, 12);
    expect(cell.avgCi![0]).toBeLessThan(0.2);
    expect(cell.avgCi![1]).toBeGreaterThan(0.2);
    expect(t.averages!.find((a) => a.arm === "mix")!.value).toBeCloseTo((0.7 + 0.3) / 2, 12);
    expect(t.bootstrap).toEqual({ resamples: 2000, level: 0.95, seed: 1, label: "scores" });
    expect(t.perSeed).toBeUndefined();
    // the analysis: same numbers, cells "score [lo, hi]" in points with 1 decimal, deterministic
    const r = await scores.run({ arms: [], evalRows: rows, seed: 1 }, {}, new Map());
    const again = await scores.run({ arms: [], evalRows: [...rows].reverse(), seed: 1 }, {}, new Map());
    const ci = (x: unknown) => {
      const d = x as ScoreTable;
      return [d.deltas, d.averages, d.cells.map((c) => c.avgCi)];
    };
    expect(ci(again.data)).toEqual(ci(r.data));
    const avgTable = r.tables.find((x) => x.title.startsWith("Avg@K"))!;
    expect(avgTable.rows.find((x) => x[0] === "math")![1]).toMatch(/^20\.0 \[\d+\.\d, \d+\.\d\]$/);
    const deltaTable = r.tables.find((x) => x.title === "Δ vs sft (points)")!;
    expect(deltaTable.rows.find((x) => x[0] === AVERAGE)![2]).toBe("+30.0 [+30.0, +30.0]");
    expect((r.summary.averageCi as Record<string, number[]>).mix).toHaveLength(2);
  });

  const findingTwoRows = (transfer: (x: number, i: number) => number, mixDrop: number) => {
    const base = ramp(20);
    return [
      ...taskRows("sft", "math", base),
      ...taskRows("sft", "code", base),
      ...taskRows(
        "single:math",
        "math",
        base.map((x) => x + 0.4),
      ),
      ...taskRows(
        "single:code",
        "code",
        base.map((x) => x + 0.4),
      ),
      ...taskRows("single:math", "code", base.map(transfer)),
      ...taskRows("single:code", "math", base.map(transfer)),
      ...taskRows(
        "mix",
        "math",
        base.map((x) => x + 0.4 - mixDrop),
      ),
      ...taskRows(
        "mix",
        "code",
        base.map((x) => x + 0.4 - mixDrop),
      ),
    ];
  };
  const findingTwo = async (rows: EvalRow[]) =>
    (await scores.run({ arms: [], evalRows: rows, seed: 3 }, {}, new Map())).findings!.find(
      (f) => f.id === "2",
    )!;

  it("finding 2: yes when transfers are surely positive and the mix surely loses < 5 points", async () => {
    const f = await findingTwo(findingTwoRows((x) => x + 0.1, 0.01));
    expect(f.verdict).toBe("yes");
    expect(f.statistics).toEqual([
      expect.objectContaining({ value: 10, ci: [10, 10], threshold: 0, direction: "above" }),
      expect.objectContaining({ value: -1, ci: [-1, -1], threshold: -5, direction: "above" }),
    ]);
    expect(f.rule).toMatch(/^yes when the 95% CI of .* lies wholly above 0 and .* above −5; no when/);
  });

  it("finding 2: no when the mix loses surely more than 5 points to an expert", async () => {
    const f = await findingTwo(findingTwoRows((x) => x + 0.1, 0.2));
    expect(f.verdict).toBe("no");
    expect(f.statistics![1].ci).toEqual([-20, -20]);
  });

  it("finding 2: inconclusive when the transfer CI straddles 0", async () => {
    // Δ alternates +0.3 / −0.3 over the tasks: mean 0, the CI crosses 0
    const f = await findingTwo(findingTwoRows((x, i) => x + (i % 2 ? 0.3 : -0.3), 0.01));
    const [transfer] = f.statistics!;
    expect(transfer.value).toBeCloseTo(0, 9);
    expect(transfer.ci![0]).toBeLessThan(0);
    expect(transfer.ci![1]).toBeGreaterThan(0);
    expect(f.verdict).toBe("inconclusive");
  });

  it("per-seed table: mean ± SD across seeds of each expert's own-domain Δ and of the average", async () => {
    const base = ramp(10);
    const rows = [1, 2].flatMap((seed) => [
      ...taskRows("sft", "math", base, { seed }),
      ...taskRows(
        "single:math",
        "math",
        base.map((x) => x + 0.2 * seed),
        { seed },
      ),
    ]);
    const t = scoreTableWithCi(rows, { seed: 0 });
    const p = t.perSeed!.find((x) => x.arm === "single:math")!;
    expect(p.seeds).toEqual([1, 2]);
    expect(p.ownDomainDelta!.values.map((v) => Number(v.toFixed(12)))).toEqual([0.2, 0.4]);
    expect(p.ownDomainDelta!.mean).toBeCloseTo(0.3, 12);
    expect(p.ownDomainDelta!.sd).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    // the pooled Δ averages each task over both seeds: +0.3
    expect(t.deltas!.find((d) => d.arm === "single:math" && d.domain === "math")!.value).toBeCloseTo(0.3, 12);
    const r = await scores.run({ arms: [], evalRows: rows, seed: 0 }, {}, new Map());
    const table = r.tables.find((x) => x.title.startsWith("Per seed"))!;
    expect(table.title).toBe("Per seed: mean ± SD (lowest to highest seed) over 2 seeds (points)");
    // seed 1: Δ +20 points, seed 2: +40 → mean +30, SD 10·√2 = 14.1, range +20 to +40
    expect(table.rows.find((x) => x[0] === "single:math")).toEqual([
      "single:math",
      "50.0 ± 14.1 (40.0 to 60.0)",
      "+30.0 ± 14.1 (+20.0 to +40.0)",
      "+30.0 ± 14.1 (+20.0 to +40.0)",
    ]);
  });
});

describe("skill overlap", () => {
  it("gains, union and consistency on a hand case", () => {
    const rows = [
      // items i1..i3; sft solves none
      ...["i1", "i2", "i3"].map((i) => row("sft", "math", i, 0)),
      row("single:math", "math", "i1", 1),
      row("single:math", "math", "i2", 0),
      row("single:math", "math", "i3", 0),
      row("single:code", "math", "i1", 0),
      row("single:code", "math", "i2", 1),
      row("single:code", "math", "i3", 0),
      // mix gains only on i3 (nobody else): orthogonal to the union (1,1,0) → consistency 0
      row("mix", "math", "i1", 0),
      row("mix", "math", "i2", 0),
      row("mix", "math", "i3", 1),
      // merge gains on i1 and i2: identical direction → 1
      row("merge:ties", "math", "i1", 1),
      row("merge:ties", "math", "i2", 1),
      row("merge:ties", "math", "i3", 0),
    ];
    const acc = itemAccuracy(rows);
    const items = ["i1", "i2", "i3"];
    expect(gains(acc, "single:math", "sft", "math", items)).toEqual([1, 0, 0]);
    expect(consistency([1, 1, 0], gains(acc, "mix", "sft", "math", items))).toBe(0);
    expect(consistency([1, 1, 0], gains(acc, "merge:ties", "sft", "math", items))).toBeCloseTo(1, 12);
    expect(consistency([1, 1, 0], [1, 0, 0])).toBeCloseTo(1 / Math.SQRT2, 12);
  });
  it("the analysis reports finding 5 from the hand case", async () => {
    const rows = [
      ...["i1", "i2", "i3"].map((i) => row("sft", "math", i, 0)),
      ...[1, 0, 0].map((r, k) => row("single:math", "math", `i${k + 1}`, r)),
      ...[0, 1, 0].map((r, k) => row("single:code", "math", `i${k + 1}`, r)),
      ...[0, 0, 1].map((r, k) => row("mix", "math", `i${k + 1}`, r)),
      ...[1, 1, 0].map((r, k) => row("merge:ties", "math", `i${k + 1}`, r)),
    ];
    const r = await skillOverlap.run({ arms: [], evalRows: rows, seed: 0 }, {}, new Map());
    const f = r.findings!.find((x) => x.id === "5")!;
    // merge consistency 1 and mix 0 on every resample of the items (see the cases below): CI [1, 1]
    expect(f.statistics).toEqual([
      {
        name: "merged arms' mean consistency − mix's",
        value: 1,
        ci: [1, 1],
        threshold: 0,
        direction: "above",
      },
    ]);
    expect(f.verdict).toBe("yes");
    const data = r.data as { overlap: { arm: string; expert: string; jaccard: number }[] };
    // solved sets: merge {i1,i2}, single:math {i1} → J = 1/2; mix {i3} vs {i1} → 0
    expect(data.overlap.find((o) => o.arm === "merge:ties" && o.expert === "single:math")!.jaccard).toBe(0.5);
    expect(data.overlap.find((o) => o.arm === "mix" && o.expert === "single:math")!.jaccard).toBe(0);
  });
});

describe("finding 5 verdicts from the bootstrap over items", () => {
  const finding5 = async (mixGains: number[], mergeGains: number[]) => {
    const n = mixGains.length;
    const rows = [
      ...taskRows("sft", "math", Array(n).fill(0)),
      // the experts together gain on every item: union (1, …, 1)
      ...taskRows(
        "single:math",
        "math",
        Array.from({ length: n }, (_, i) => (i < n / 2 ? 1 : 0)),
      ),
      ...taskRows(
        "single:code",
        "math",
        Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : 1)),
      ),
      ...taskRows("mix", "math", mixGains),
      ...taskRows("merge:ties", "math", mergeGains),
    ];
    const r = await skillOverlap.run({ arms: [], evalRows: rows, seed: 4 }, {}, new Map());
    return r.findings!.find((x) => x.id === "5")!;
  };
  it("no when the mix is surely the more consistent", async () => {
    // mix gains 1 everywhere (cos 1 with the union); the merge 1, 0.5, 1, 0.5, … over 16 items: cos 12/√160 < 1
    // on every resample that draws both kinds of item (all but 2 / 2^16 of them)
    const f = await finding5(
      Array(16).fill(1),
      Array.from({ length: 16 }, (_, i) => (i % 2 ? 0.5 : 1)),
    );
    expect(f.statistics![0].value).toBeCloseTo(12 / Math.sqrt(160) - 1, 8); // rounded to 1e-9
    expect(f.statistics![0].ci![1]).toBeLessThan(0);
    expect(f.verdict).toBe("no");
  });
  it("inconclusive when the difference's CI straddles 0", async () => {
    // merge on odd items, mix on even ones: equal consistency (1/√2) on the full set, either ahead on a resample
    const f = await finding5([1, 0, 1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1, 0, 1]);
    const [d] = f.statistics!;
    expect(d.value).toBe(0);
    expect(d.ci![0]).toBeLessThan(0);
    expect(d.ci![1]).toBeGreaterThan(0);
    expect(f.verdict).toBe("inconclusive");
  });
});

describe("information", () => {
  it("truncation, self-discrimination AUC, process accuracy and judge accuracy on hand rows", () => {
    const rows = [
      row("a", "math", "1", 1, {
        logprob: -5,
        responseLength: 10,
        stepsChecked: 2,
        stepsCorrect: 2,
        judge: { outcome: 1, process: 1 },
      }),
      row("a", "math", "2", 1, {
        logprob: -8,
        responseLength: 10,
        stepsChecked: 2,
        stepsCorrect: 1,
        judge: { outcome: 0, process: 1 },
      }),
      row("a", "math", "3", 0, {
        logprob: -6,
        responseLength: 10,
        truncated: true,
        maxTokens: 20,
        stepsChecked: 2,
        stepsCorrect: 0,
        judge: { outcome: 0, process: 1 },
      }),
      row("a", "math", "4", 0, {
        logprob: -20,
        responseLength: 20,
        truncated: true,
        maxTokens: 20,
        stepsChecked: 2,
        stepsCorrect: 2,
        judge: { outcome: 0.2, process: 0 },
      }),
    ];
    const c = cellInfo("a", "math", rows);
    expect(c.truncationRate).toBe(0.5);
    expect(c.budget).toBe(20);
    expect(c.meanLength).toBe(12.5);
    // mean token logprobs: correct −0.5, −0.8; wrong −0.6, −1.0 → pairs (−.5>−.6, −.5>−1, −.8<−.6, −.8>−1) = 3/4
    expect(c.selfDiscriminationAuc).toBe(0.75);
    // process: correct and all steps right: only row 1 of 4
    expect(c.processAccuracy).toBe(0.25);
    expect(c.rightForWrongReasons).toBe(0.5);
    expect(judgeAccuracy(rows, "outcome")).toBe(0.75);
    expect(judgeAccuracy(rows, "process")).toBe(0.75);
  });
});

describe("training efficiency", () => {
  it("sums metrics, estimates FLOPs, and computes the mix vs separate + merge ratio", () => {
    expect(estimateFlops(10, { tokensGenerated: 1, tokensTrained: 1, tokensScored: 1 })).toBe(
      2 * 10 * 2 + 6 * 10,
    );
    const m = (steps: number, secs: number) =>
      Array.from({ length: steps }, (_, s) => ({
        step: s,
        elapsedSeconds: (s + 1) * secs,
        tokensGenerated: 10,
        tokensTrained: 20,
      }));
    const costs = [
      costOf("single:math", m(4, 1), undefined, 100),
      costOf("single:code", m(4, 1), undefined, 100),
      costOf("mix", m(4, 1), undefined, 100),
      costOf(
        "merge:ties",
        [],
        { arm: "merge:ties", wallSeconds: 0, builtFrom: ["single:math", "single:code"] },
        100,
      ),
    ];
    expect(costs[0].wallSeconds).toBe(4);
    expect(costs[0].steps).toBe(4);
    expect(costs[0].flops).toBe(2 * 100 * 40 + 6 * 100 * 80);
    const r = mixVsMerge(costs);
    expect(r).toHaveLength(1);
    expect(r[0].wallRatio).toBe(0.5);
    expect(r[0].flopsRatio).toBe(0.5);
  });
});

describe("finding 1 (mix matches merge at a fraction of the compute)", () => {
  const costs = [
    { arm: "single:math", wallSeconds: 10 },
    { arm: "single:code", wallSeconds: 10 },
    { arm: "merge:ties", wallSeconds: 0, builtFrom: ["single:math", "single:code"] },
    { arm: "mix", wallSeconds: 6 },
  ];
  const base = ramp(20);
  const run = async (mixVsMerge: (x: number, i: number) => number, evalRows = true) => {
    const rows = ["math", "code"].flatMap((d) => [
      ...taskRows(
        "merge:ties",
        d,
        base.map((x) => x + 0.3),
      ),
      ...taskRows(
        "merge:task_arithmetic",
        d,
        base.map((x) => x + 0.1),
      ),
      ...taskRows(
        "mix",
        d,
        base.map((x, i) => x + 0.3 + mixVsMerge(x, i)),
      ),
    ]);
    const r = await training.run(
      { arms: [], costs, evalRows: evalRows ? rows : undefined, seed: 2 },
      {},
      new Map(),
    );
    return r.findings!.find((f) => f.id === "1")!;
  };

  it("yes: Δ vs the best merge surely above −1 point, and the cost ratio ≤ 0.5", async () => {
    const f = await run(() => -0.005);
    expect(f.statistics).toEqual([
      {
        name: "mix − merge:ties (best merge), domain-average Avg@K (points)",
        value: -0.5,
        ci: [-0.5, -0.5],
        threshold: -1,
        direction: "above",
      },
      {
        name: "wall time ratio mix / (experts + merge:ties)",
        value: 0.3,
        threshold: 0.5,
        direction: "below",
      },
    ]);
    expect(f.verdict).toBe("yes");
  });

  it("no: the mix surely more than 1 point worse", async () => {
    const f = await run(() => -0.02);
    expect(f.statistics![0].ci).toEqual([-2, -2]);
    expect(f.verdict).toBe("no");
  });

  it("inconclusive: the CI of the Δ contains −1", async () => {
    const f = await run((_, i) => -0.01 + (i % 2 ? 0.2 : -0.2));
    const [d] = f.statistics!;
    expect(d.value).toBeCloseTo(-1, 9);
    expect(d.ci![0]).toBeLessThan(-1);
    expect(d.ci![1]).toBeGreaterThan(-1);
    expect(f.verdict).toBe("inconclusive");
  });

  it("n/a without eval rows", async () => {
    const f = await run(() => 0, false);
    expect(f.verdict).toBe("n/a");
    expect(f.evidence).toMatch(/no eval rows/);
  });
});

describe("prediction", () => {
  it("identical policies: KL and JS 0; known bigram tables: closed-form per-position KL", async () => {
    const V = 3;
    // every row: p = softmax(log[.5,.25,.25]) and q = [.25,.25,.5]
    const p = Array.from({ length: V }, () => Float32Array.from([0.5, 0.25, 0.25].map(Math.log)));
    const q = Array.from({ length: V }, () => Float32Array.from([0.25, 0.25, 0.5].map(Math.log)));
    const P = nextTokenModel(bigramPolicy(p));
    const Q = nextTokenModel(bigramPolicy(q));
    const seqs = [
      { promptIds: [1], completionIds: [2, 1, 0] },
      { promptIds: [2, 2], completionIds: [1] },
    ];
    const lp = await P.completionLogits(seqs);
    const lq = await Q.completionLogits(seqs);
    const same = divergenceOnSamples(lp, lp);
    expect(same.klSamplerTarget).toBe(0);
    expect(same.js).toBe(0);
    expect(same.tokens).toBe(4);
    const d = divergenceOnSamples(lp, lq);
    expect(d.klSamplerTarget).toBeCloseTo(0.25 * Math.LN2, 6);
    expect(d.klTargetSampler).toBeCloseTo(0.25 * Math.LN2, 6);
    expect(d.entropySampler).toBeCloseTo(1.5 * Math.LN2, 6);
  });

  it("neighbourhood: arms close to the expert score higher → positive correlation", async () => {
    const V = 8;
    const base = randomTable(V, 1, 0.3);
    const expert = randomTable(V, 2, 2);
    const between = (a: number) => expert.map((r, i) => r.map((v, j) => a * v + (1 - a) * base[i][j]));
    const arms = [0.9, 0.6, 0.3].map((a, k) => ({ name: `merge:m${k}`, a }));
    const score = (a: number) => 0.2 + 0.5 * a; // closer to the expert → better
    const evalRows: EvalRow[] = [
      row("sft", "math", "x", 0.2),
      row("single:math", "math", "x", 0.7),
      ...arms.map((m) => row(m.name, "math", "x", score(m.a))),
    ];
    const ctx = {
      base: { name: "sft", kind: "sft" as const, loadPolicy: async () => bigramPolicy(base) },
      arms: [
        {
          name: "single:math",
          kind: "single" as const,
          domain: "math",
          loadPolicy: async () => bigramPolicy(expert),
        },
        ...arms.map((m) => ({ ...parseArmName(m.name), loadPolicy: async () => bigramPolicy(between(m.a)) })),
      ],
      evalRows,
      prompts: [0, 1, 2, 3].map((i) => ({ domain: "math", taskId: String(i), prompt: `p${i}` })),
      seed: 1,
    };
    const r = await runPrediction(ctx, { maxNewTokens: 12, promptsPerDomain: 4 });
    const s = r.summary;
    expect(s.points).toBe(4);
    expect(s.neighbourhoodSpearman).toBeCloseTo(1, 12);
    const cells = (r.data as { cells: { sampler: string; target: string; klSamplerTarget: number }[] }).cells;
    const kl = (t: string) =>
      cells.find((c) => c.sampler === "single:math" && c.target === t)!.klSamplerTarget;
    expect(kl("merge:m0")).toBeLessThan(kl("merge:m1"));
    expect(kl("merge:m1")).toBeLessThan(kl("merge:m2"));
  });
});

describe("self-judging", () => {
  it("verdict = p(yes) / (p(yes) + p(no)) at the position after the judge prompt", async () => {
    const { judgePrompt, judgeResponses } = await import("../src/judge.ts");
    const V = 50; // the fake tokenizer maps characters to 1 + code % (V − 1): " ", "y", "n" stay distinct
    const table = randomTable(V, 9, 1);
    const policy = bigramPolicy(table);
    const items = [{ prompt: "2+2?", response: "<think>2+2=4</think> 4", extracted: "4" }];
    const enc = (s: string) => policy.tokenizer.encode(s);
    // character tokens: " yes" and " no" share the " " token, so the verdict is read after it
    const last = enc(" ")[0];
    const yes = enc("y")[0];
    const no = enc("n")[0];
    expect(enc(" yes")[0]).toBe(enc(" no")[0]);
    const row = Array.from(table[last]);
    const expected = Math.exp(row[yes]) / (Math.exp(row[yes]) + Math.exp(row[no]));
    const [v] = await judgeResponses(policy, items, "outcome");
    expect(v).toBeCloseTo(expected, 6);
    expect(judgePrompt(items[0], "outcome")).toContain("Proposed final answer: 4");
    expect(judgePrompt(items[0], "process")).toContain("<think>2+2=4</think>");
  });
});
