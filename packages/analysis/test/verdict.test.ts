import type { FindingStatistic } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import {
  ciStatistic,
  combineVerdicts,
  ruleFromStatistics,
  verdictFromCi,
  verdictOf,
} from "../src/math/verdict.ts";

const stat = (
  ci: [number, number] | undefined,
  threshold: number,
  direction: "above" | "below" = "above",
  value = ci ? (ci[0] + ci[1]) / 2 : 0,
): FindingStatistic => ({ name: "Δ", value, ci, threshold, direction });

describe("verdicts from confidence intervals", () => {
  it("above: yes when the CI is wholly above, no when wholly below, inconclusive when it straddles", () => {
    expect(verdictFromCi(stat([0.5, 2], 0))).toBe("yes");
    expect(verdictFromCi(stat([-3, -0.1], 0))).toBe("no");
    // the point estimate is above the threshold, but the CI crosses it: MUST be inconclusive
    expect(verdictFromCi(stat([-0.4, 3], 0, "above", 1.3))).toBe("inconclusive");
    // the finding 1 shape: "not more than 1 point worse"
    expect(verdictFromCi(stat([-0.8, 0.6], -1))).toBe("yes");
    expect(verdictFromCi(stat([-2.5, -1.2], -1))).toBe("no");
  });

  it("boundaries: a bound equal to the threshold is inside the CI → inconclusive", () => {
    expect(verdictFromCi(stat([0, 2], 0))).toBe("inconclusive");
    expect(verdictFromCi(stat([-2, 0], 0))).toBe("inconclusive");
    expect(verdictFromCi(stat([0, 0], 0))).toBe("inconclusive");
    expect(verdictFromCi(stat([1e-12, 2], 0))).toBe("yes");
    expect(verdictFromCi(stat([-2, -1e-12], 0))).toBe("no");
    expect(verdictFromCi(stat([0, 2], 0, "below"))).toBe("inconclusive");
    expect(verdictFromCi(stat([-2, 0], 0, "below"))).toBe("inconclusive");
  });

  it("below mirrors above", () => {
    expect(verdictFromCi(stat([-2, -1], 0, "below"))).toBe("yes");
    expect(verdictFromCi(stat([1, 2], 0, "below"))).toBe("no");
    expect(verdictFromCi(stat([-1, 1], 0, "below"))).toBe("inconclusive");
  });

  it("without a CI the value decides; the threshold itself counts as yes; NaN is n/a", () => {
    expect(verdictFromCi(stat(undefined, 0.5, "below", 0.33))).toBe("yes");
    expect(verdictFromCi(stat(undefined, 0.5, "below", 0.5))).toBe("yes");
    expect(verdictFromCi(stat(undefined, 0.5, "below", 0.51))).toBe("no");
    expect(verdictFromCi(stat(undefined, 0, "above", 0))).toBe("yes");
    expect(verdictFromCi(stat(undefined, 0, "above", -0.01))).toBe("no");
    expect(verdictFromCi(stat(undefined, 0, "above", Number.NaN))).toBe("n/a");
    expect(verdictFromCi(stat([Number.NaN, Number.NaN], 0))).toBe("n/a");
  });

  it("combining: yes only if all yes, no if any no, n/a if all n/a, else inconclusive", () => {
    expect(combineVerdicts(["yes", "yes"])).toBe("yes");
    expect(combineVerdicts(["yes", "no"])).toBe("no");
    expect(combineVerdicts(["inconclusive", "no"])).toBe("no");
    expect(combineVerdicts(["yes", "inconclusive"])).toBe("inconclusive");
    expect(combineVerdicts(["yes", "n/a"])).toBe("inconclusive");
    expect(combineVerdicts(["n/a", "n/a"])).toBe("n/a");
    expect(combineVerdicts([])).toBe("n/a");
    expect(verdictOf([stat([0.5, 2], 0), stat(undefined, 0.5, "below", 0.3)])).toBe("yes");
    expect(verdictOf([stat([-0.5, 2], 0), stat(undefined, 0.5, "below", 0.3)])).toBe("inconclusive");
    expect(verdictOf([stat([-0.5, 2], 0), stat(undefined, 0.5, "below", 0.6)])).toBe("no");
  });

  it("rule sentence from the statistics", () => {
    const rule = ruleFromStatistics([
      { name: "mix − best merge (points)", value: 0.2, ci: [-0.5, 0.9], threshold: -1, direction: "above" },
      { name: "compute ratio", value: 0.33, threshold: 0.5, direction: "below" },
    ]);
    expect(rule).toBe(
      "yes when the 95% CI of mix − best merge (points) lies wholly above −1 and compute ratio ≤ 0.5; " +
        "no when any of them lies wholly on the other side of its threshold; " +
        "inconclusive otherwise (a CI contains its threshold).",
    );
    expect(ruleFromStatistics([stat([1, 2], 0)])).toBe(
      "yes when the 95% CI of Δ lies wholly above 0, no when it lies wholly below 0, inconclusive when it contains 0.",
    );
    expect(ruleFromStatistics([stat([1, 2], -5, "below")])).toBe(
      "yes when the 95% CI of Δ lies wholly below −5, no when it lies wholly above −5, inconclusive when it contains −5.",
    );
    expect(ruleFromStatistics([stat(undefined, 0.5, "below", 0.3)])).toBe(
      "yes when Δ ≤ 0.5, no when Δ > 0.5.",
    );
    expect(ruleFromStatistics([])).toMatch(/^n\/a/);
  });
});

describe("ciStatistic", () => {
  it("scales and removes floating-point residue at the bounds", () => {
    const s = ciStatistic("Δ (points)", { value: 0.0599, lo: -1.73e-19, hi: 0.125 }, 0, "above", 100);
    expect(s).toEqual({ name: "Δ (points)", value: 5.99, ci: [0, 12.5], threshold: 0, direction: "above" });
    expect(Object.is(s.ci![0], -0)).toBe(false);
    expect(verdictFromCi(s)).toBe("inconclusive");
  });
});
