import type { ArmInput, EvalRow } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { parseArmName } from "../src/arms.ts";
import { sequenceLogRatios } from "../src/math/divergence.ts";
import {
  asymmetryCases,
  findingFour,
  isNeighbour,
  type MergeCase,
  mergeDomainsOf,
  neighbourhoodMatrix,
  neighboursOf,
  pairedDelta,
} from "../src/neighbourhood.ts";
import { divergenceOnSamples, nextTokenModel, runPrediction } from "../src/prediction.ts";
import { bigramPolicy, blend, randomTable } from "./fixtures.ts";

/**
 * Hand KL matrix, row A = prompt domain, column B = expert: KL(π_single:B ‖ π_mix) on single:B's samples of A's
 * prompts. Factor 1.5:
 *   math row:    KL_AA = 2   → threshold 3:    code 3 (= threshold: neighbour), science 3.5 (no)
 *   code row:    KL_AA = 1   → threshold 1.5:  math 4 (no: asymmetric with the math row), science 1.2 (yes)
 *   science row: KL_AA = 0.5 → threshold 0.75: math 0.8 (no), code −0.1 (sampling noise, read as 0: yes)
 */
const KL: Record<string, Record<string, number>> = {
  math: { math: 2, code: 3, science: 3.5 },
  code: { math: 4, code: 1, science: 1.2 },
  science: { math: 0.8, code: -0.1, science: 0.5 },
};
const D = ["math", "code", "science"];
const klOf = (a: string, b: string) => KL[a]?.[b];

const row = (arm: string, domain: string, taskId: string, reward: number, sampleIndex = 0): EvalRow => ({
  arm,
  domain,
  taskId,
  sampleIndex,
  reward,
  status: reward >= 1 ? "correct" : "incorrect",
  responseLength: 10,
  truncated: false,
});

/** Rows of `arm` on `domain`: task i gets reward base + noise[i]. */
const rows = (arm: string, domain: string, rewards: number[]) =>
  rewards.map((r, i) => row(arm, domain, `${domain}-${i}`, r));

describe("policy neighbourhood rule", () => {
  it("isNeighbour: inclusive boundary, factor, negative estimates read as 0", () => {
    expect(isNeighbour(3, 2, 1.5)).toBe(true); // 3 ≤ 1.5·2
    expect(isNeighbour(3 + 2 ** -20, 2, 1.5)).toBe(false);
    expect(isNeighbour(3.5, 2, 2)).toBe(true); // factor 2: threshold 4
    expect(isNeighbour(-0.1, 0.5, 1.5)).toBe(true);
    expect(isNeighbour(0, -0.2, 1.5)).toBe(true); // own KL < 0 → threshold 0
    expect(isNeighbour(0.01, -0.2, 1.5)).toBe(false);
  });

  it("matrix on hand KLs: neighbour sets, the asymmetric math/code pair, the threshold boundary", () => {
    const m = neighbourhoodMatrix(D, D, klOf, 1.5);
    expect(m).toHaveLength(9);
    const cell = (a: string, b: string) => m.find((c) => c.promptDomain === a && c.expertDomain === b)!;
    expect(cell("math", "code")).toEqual({
      promptDomain: "math",
      expertDomain: "code",
      kl: 3,
      reference: 2,
      threshold: 3,
      neighbour: true,
    });
    expect(cell("code", "math").neighbour).toBe(false); // asymmetric
    expect(cell("science", "code").neighbour).toBe(true);
    expect(cell("science", "science").neighbour).toBe(true); // diagonal by definition
    expect(Object.fromEntries(neighboursOf(m))).toEqual({
      math: ["code"],
      code: ["science"],
      science: ["code"],
    });
    // factor 2: math's threshold 4 takes science (3.5); code's threshold 2 still excludes math (4); science's
    // threshold 1 takes math (0.8)
    expect(Object.fromEntries(neighboursOf(neighbourhoodMatrix(D, D, klOf, 2)))).toEqual({
      math: ["code", "science"],
      code: ["science"],
      science: ["math", "code"],
    });
    // a missing KL is unknown, not "no"
    const partial = neighbourhoodMatrix(["math"], D, (a, b) => (b === "science" ? undefined : klOf(a, b)));
    expect(partial.find((c) => c.expertDomain === "science")!.neighbour).toBeNull();
  });

  it("merge domains: explicit option, then costs.builtFrom, then the arm's own domains", () => {
    const arms = [
      { name: "merge:ties-math-code", kind: "merge" },
      { name: "merge:ta", kind: "merge" },
      { name: "merge:own", kind: "merge", domains: ["code", "science"] },
      { name: "merge:unknown", kind: "merge" },
      { name: "single:math", kind: "single" },
    ];
    const m = mergeDomainsOf(
      arms,
      [
        { arm: "merge:ties-math-code", builtFrom: ["single:math", "single:code"] },
        { arm: "merge:ta", builtFrom: ["single:math", "single:code", "single:science"] },
      ],
      { "merge:ta": ["math", "science"] },
    );
    expect(Object.fromEntries(m)).toEqual({
      "merge:ties-math-code": ["math", "code"],
      "merge:ta": ["math", "science"],
      "merge:own": ["code", "science"],
    });
  });

  it("paired Δ: per-task means over samples, only tasks both arms have, seeded bootstrap CI", () => {
    const r = [
      // expert: task 0 mean 0.5 (two samples), task 1 mean 1; merge: task 0 1, task 1 1, task 2 only in merge
      row("single:math", "math", "t0", 0, 0),
      row("single:math", "math", "t0", 1, 1),
      row("single:math", "math", "t1", 1),
      row("merge:x", "math", "t0", 1),
      row("merge:x", "math", "t1", 1),
      row("merge:x", "math", "t2", 0),
    ];
    const d = pairedDelta(r, "merge:x", "single:math", "math", { samples: 500, seed: 3 })!;
    expect(d.tasks).toBe(2);
    expect(d.delta).toBeCloseTo(0.25, 12); // mean of (0.5, 0)
    expect(d.ci[0]).toBeGreaterThanOrEqual(0);
    expect(d.ci[1]).toBeLessThanOrEqual(0.5);
    expect(pairedDelta(r, "merge:x", "single:math", "math", { samples: 500, seed: 3 })).toEqual(d);
    expect(pairedDelta(r, "merge:x", "single:code", "math", { samples: 10, seed: 3 })).toBeUndefined();
  });
});

describe("asymmetry check with two-expert merges", () => {
  const m = neighbourhoodMatrix(D, D, klOf, 1.5);
  const noise = [0, 0.05, -0.05, 0.1, -0.1, 0.02, -0.02, 0.04, -0.04, 0];
  const shifted = (x: number) => noise.map((n) => 0.5 + x + n);
  // merge:mc = single:math + single:code. code ∈ N(math) → predicted not hurt on math; math ∉ N(code) → hurt on code.
  // merge:cs = single:code + single:science. science ∈ N(code) → not hurt on code; code ∈ N(science) → not hurt.
  const merges = new Map([
    ["merge:mc", ["math", "code"]],
    ["merge:cs", ["code", "science"]],
    ["merge:all", ["math", "code", "science"]], // not a two-expert merge: ignored
  ]);
  const expertRows = D.flatMap((d) => rows(`single:${d}`, d, shifted(0)));
  const caseOf = (cs: MergeCase[], merge: string, domain: string) =>
    cs.find((c) => c.merge === merge && c.domain === domain)!;
  const decide = (cs: MergeCase[]) =>
    findingFour({ cases: cs, merges, hasMix: true, factor: 1.5, estimate: "sequence" });

  it("3 of 4 signs predicted → yes", () => {
    const evalRows = [
      ...expertRows,
      ...rows("merge:mc", "math", shifted(0.2)), // +0.2, predicted not hurt: right
      ...rows("merge:mc", "code", shifted(-0.3)), // −0.3, predicted hurt: right
      ...rows("merge:cs", "code", shifted(-0.2)), // −0.2, predicted not hurt: wrong
      ...rows("merge:cs", "science", shifted(0.1)), // +0.1, predicted not hurt: right
    ];
    const cs = asymmetryCases(merges, m, evalRows, { seed: 1, samples: 400 });
    expect(cs).toHaveLength(4);
    const mcCode = caseOf(cs, "merge:mc", "code");
    expect(mcCode).toMatchObject({
      partner: "math",
      expert: "single:code",
      neighbour: false,
      predicted: "hurt",
    });
    expect(mcCode.delta).toBeCloseTo(-0.3, 12);
    expect(mcCode.tasks).toBe(10);
    expect(mcCode.agrees).toBe(true);
    expect(mcCode.resolved).toBe(true);
    expect(caseOf(cs, "merge:mc", "math")).toMatchObject({
      neighbour: true,
      predicted: "not hurt",
      agrees: true,
    });
    expect(caseOf(cs, "merge:cs", "code").agrees).toBe(false);
    const f = decide(cs);
    expect(f.verdict).toBe("yes");
    expect(f.statistics!.map((s) => [s.value, s.threshold, s.direction])).toEqual([
      [0.75, 0.75, "above"],
      [1, 0.5, "above"],
    ]);
    expect(f.rule).toMatch(/≤ 1.5 × KL/);
    expect(f.evidence).toMatch(/^3\/4 signs predicted/);
  });

  it("2 of 4 → no; most CIs including 0 → inconclusive; one case → inconclusive", () => {
    const base = [
      ...expertRows,
      ...rows("merge:mc", "math", shifted(0.2)),
      ...rows("merge:mc", "code", shifted(0.3)), // predicted hurt: wrong
      ...rows("merge:cs", "code", shifted(-0.2)), // wrong
      ...rows("merge:cs", "science", shifted(0.1)),
    ];
    expect(decide(asymmetryCases(merges, m, base, { seed: 1, samples: 400 })).verdict).toBe("no");

    // Δ ≈ 0 with task-level spread: per-task differences ±0.3 → the CI straddles 0 on 3 of 4 cases
    const wobble = noise.map((_, i) => 0.5 + (i % 2 ? 0.3 : -0.3));
    const flat = [
      ...expertRows,
      ...rows("merge:mc", "math", shifted(0.2)),
      ...rows("merge:mc", "code", wobble),
      ...rows("merge:cs", "code", wobble),
      ...rows("merge:cs", "science", wobble),
    ];
    const cs = asymmetryCases(merges, m, flat, { seed: 1, samples: 400 });
    expect(cs.filter((c) => c.resolved).length).toBe(1);
    const f = decide(cs);
    expect(f.verdict).toBe("inconclusive");
    expect(f.statistics![1].value).toBe(0.25);

    // only one side has eval rows: one case, too few
    const one = asymmetryCases(
      new Map([["merge:mc", ["math", "code"]]]),
      m,
      [...expertRows, ...rows("merge:mc", "math", shifted(0.2))],
      { seed: 1, samples: 100 },
    );
    expect(one.map((c) => c.delta === null)).toEqual([false, true]);
    expect(findingFour({ cases: one, merges, hasMix: true, factor: 1.5, estimate: "token" }).verdict).toBe(
      "inconclusive",
    );
  });

  it("n/a without two-expert merges, without a mix, or with merges of unknown domains", () => {
    const none = findingFour({
      cases: [],
      merges: new Map([["merge:all", D]]),
      hasMix: true,
      factor: 1.5,
      estimate: "sequence",
    });
    expect(none.verdict).toBe("n/a");
    expect(none.evidence).toMatch(/^n\/a: the run has no two-expert merge arms \(merge:all merges 3 domain/);
    const unknown = findingFour({
      cases: [],
      merges: new Map(),
      unknownMerges: ["merge:ties"],
      hasMix: true,
      factor: 1.5,
      estimate: "sequence",
    });
    expect(unknown.evidence).toMatch(/domains of merge:ties are unknown/);
    expect(
      findingFour({ cases: [], merges, hasMix: false, factor: 1.5, estimate: "sequence" }).evidence,
    ).toMatch(/no mix arm/);
  });
});

describe("Monte-Carlo KL", () => {
  it("sequence log ratios on a hand bigram case", async () => {
    // p = [.5, .25, .25], q = [.25, .25, .5] at every position
    const p = Array.from({ length: 3 }, () => Float32Array.from([0.5, 0.25, 0.25].map(Math.log)));
    const q = Array.from({ length: 3 }, () => Float32Array.from([0.25, 0.25, 0.5].map(Math.log)));
    const seqs = [
      { promptIds: [1], completionIds: [0, 2] }, // log 2 + log ½ = 0
      { promptIds: [1], completionIds: [0, 0, 1] }, // 2 log 2 + 0
    ];
    const lp = await nextTokenModel(bigramPolicy(p)).completionLogits(seqs);
    const lq = await nextTokenModel(bigramPolicy(q)).completionLogits(seqs);
    const r = sequenceLogRatios(
      lp,
      lq,
      seqs.map((s) => s.completionIds),
    );
    expect(r[0]).toBeCloseTo(0, 6);
    expect(r[1]).toBeCloseTo(2 * Math.LN2, 6);
    const d = divergenceOnSamples(
      lp,
      lq,
      seqs.map((s) => s.completionIds),
    );
    expect(d.klMcSequence).toBeCloseTo(Math.LN2, 6); // mean of (0, 2 log 2)
    expect(d.klMcToken).toBeCloseTo((2 * Math.LN2) / 5, 6);
    expect(d.klSequenceExact).toBeCloseTo((5 * 0.25 * Math.LN2) / 2, 6); // exact KL ¼ log 2 per position
  });

  it("the Monte-Carlo sequence KL converges to the exact sequence KL on the sampler's own samples", async () => {
    const V = 5;
    const P = bigramPolicy(randomTable(V, 11, 1));
    const Q = bigramPolicy(randomTable(V, 12, 1));
    const prompts = Array.from({ length: 400 }, (_, i) => [1 + (i % (V - 1))]);
    const gens = await P.generate(prompts, { temperature: 1, maxNewTokens: 6, seed: 5 });
    const seqs = gens.map((g, i) => ({ promptIds: prompts[i], completionIds: g.ids }));
    const d = divergenceOnSamples(
      await nextTokenModel(P).completionLogits(seqs),
      await nextTokenModel(Q).completionLogits(seqs),
      seqs.map((s) => s.completionIds),
    );
    expect(d.klSequenceExact).toBeGreaterThan(0.5);
    expect(Math.abs(d.klMcSequence! - d.klSequenceExact!) / d.klSequenceExact!).toBeLessThan(0.1);
  });
});

describe("prediction analysis: finding 4 end to end (bigram policies)", () => {
  it("neighbourhood from sampled KLs, a two-expert merge from costs.builtFrom, verdict yes", async () => {
    const V = 6;
    const mix = randomTable(V, 40, 1);
    // math and code experts close to the mix, science far: science ∉ N(math), math ∈ N(science)
    const tables: Record<string, Float32Array[]> = {
      sft: randomTable(V, 41, 0.3),
      "single:math": blend(randomTable(V, 42, 2), mix, 0.3),
      "single:code": blend(randomTable(V, 43, 2), mix, 0.3),
      "single:science": blend(randomTable(V, 44, 2), mix, 0.9),
      "merge:ties-math-science": blend(randomTable(V, 45, 2), mix, 0.5),
      mix,
    };
    const mk = (name: string): ArmInput => ({
      ...parseArmName(name),
      loadPolicy: async () => bigramPolicy(tables[name], name),
    });
    const noise = [0, 0.05, -0.05, 0.1, -0.1, 0.02];
    const evalRows = [
      ...["math", "science"].flatMap((d) => rows("sft", d, [0.2, 0.2, 0.2, 0.2, 0.2, 0.2])),
      ...["math", "science"].flatMap((d) =>
        rows(
          `single:${d}`,
          d,
          noise.map((n) => 0.5 + n),
        ),
      ),
      ...rows(
        "merge:ties-math-science",
        "math",
        noise.map((n) => 0.3 + n),
      ), // hurt: predicted
      ...rows(
        "merge:ties-math-science",
        "science",
        noise.map((n) => 0.6 + n),
      ), // not hurt: predicted
    ];
    const r = await runPrediction(
      {
        base: mk("sft"),
        arms: ["single:math", "single:code", "single:science", "merge:ties-math-science", "mix"].map(mk),
        evalRows,
        costs: [{ arm: "merge:ties-math-science", builtFrom: ["single:math", "single:science"] }],
        prompts: D.flatMap((d) =>
          [0, 1, 2, 3].map((i) => ({ domain: d, taskId: `${d}-${i}`, prompt: `q${i}` })),
        ),
        seed: 2,
      },
      {
        maxNewTokens: 10,
        promptsPerDomain: 4,
        samplesPerPrompt: 4,
        neighbourhood: { bootstrapSamples: 300 },
      },
    );
    const n = (r.summary as { neighbourhood: { neighbours: Record<string, string[]> } }).neighbourhood;
    expect(n.neighbours.math).toEqual(["code"]);
    expect(n.neighbours.science).toEqual(expect.arrayContaining(["math", "code"]));
    const f = r.findings.find((x) => x.id === "4")!;
    expect(f.verdict).toBe("yes");
    expect(f.evidence).toMatch(/^2\/2 signs predicted/);
    expect(f.evidence).toMatch(/Correlations \(not deciding\)/);
    expect(r.tables.map((t) => t.title)).toEqual(
      expect.arrayContaining([
        "Policy neighbourhood (finding 4)",
        "Two-expert merges vs the neighbourhood (finding 4)",
      ]),
    );
    expect(r.charts.map((c) => c.title)).toContain("Policy neighbourhood: KL_AB / threshold");

    // without the costs, the merge's domains are unknown: n/a says so
    const r2 = await runPrediction(
      {
        base: mk("sft"),
        arms: ["single:math", "single:science", "merge:ties-math-science", "mix"].map(mk),
        evalRows,
        prompts: [{ domain: "math", taskId: "math-0", prompt: "q" }],
        seed: 2,
      },
      { maxNewTokens: 4 },
    );
    const f2 = r2.findings.find((x) => x.id === "4")!;
    expect(f2.verdict).toBe("n/a");
    expect(f2.evidence).toMatch(
      /^n\/a: the run has no two-expert merge arms \(the domains of merge:ties-math-science/,
    );
  });
});
