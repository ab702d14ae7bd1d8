/**
 * Verdicts of findings from confidence intervals. A statistic answers `yes` when its 95% CI lies wholly on the
 * `direction` side of the threshold, `no` when it lies wholly on the other side, and `inconclusive` when the CI
 * contains the threshold (a bound equal to the threshold counts as containing it). A statistic without sampling
 * uncertainty (no CI) is compared by value, the threshold itself counting as yes ("at most" / "at least"). A
 * finding is `yes` only when all its statistics say yes, `no` when any says no, else inconclusive.
 */
import type { FindingStatistic, Verdict } from "@m2rl/core";

/** above: yes if lo > t, no if hi < t; below: yes if hi < t, no if lo > t; else inconclusive. No CI: by value. */
export function verdictFromCi(stat: FindingStatistic): Verdict {
  const t = stat.threshold;
  if (Number.isNaN(t)) return "n/a";
  if (!stat.ci) {
    if (Number.isNaN(stat.value)) return "n/a";
    return (stat.direction === "above" ? stat.value >= t : stat.value <= t) ? "yes" : "no";
  }
  const [lo, hi] = stat.ci;
  if (Number.isNaN(lo) || Number.isNaN(hi)) return "n/a";
  if (stat.direction === "above") return lo > t ? "yes" : hi < t ? "no" : "inconclusive";
  return hi < t ? "yes" : lo > t ? "no" : "inconclusive";
}

/** n/a if none or all n/a; no if any no; yes if all yes; else inconclusive (a mix of yes with inconclusive or n/a). */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.every((v) => v === "n/a")) return "n/a";
  if (verdicts.includes("no")) return "no";
  if (verdicts.every((v) => v === "yes")) return "yes";
  return "inconclusive";
}

/** The verdict of a finding decided by all of `stats` (combineVerdicts of each statistic's verdict). */
export function verdictOf(stats: readonly FindingStatistic[]): Verdict {
  return combineVerdicts(stats.map(verdictFromCi));
}

/**
 * A statistic from a point estimate and its CI, scaled (e.g. ×100 for points) and rounded to 1e-9 so that
 * floating-point residue (a bound of −1.7e-17 for an exact 0) neither shows in the report nor decides a verdict.
 */
export function ciStatistic(
  name: string,
  ci: { value: number; lo: number; hi: number },
  threshold: number,
  direction: "above" | "below",
  scale = 1,
): FindingStatistic {
  const r = (x: number) => Math.round(x * scale * 1e9) / 1e9 + 0; // + 0 turns −0 into 0
  return { name, value: r(ci.value), ci: [r(ci.lo), r(ci.hi)], threshold, direction };
}

/** A threshold in words: integers plain, others with up to 3 significant digits; "−" as the minus sign. */
function num(x: number): string {
  const s = Number.isInteger(x) ? String(Math.abs(x)) : String(Number(Math.abs(x).toPrecision(3)));
  return x < 0 ? `−${s}` : s;
}

/**
 * The rule sentence of a finding decided by `stats`, e.g. "yes when the 95% CI of A lies wholly above 0, no when it
 * lies wholly below 0, inconclusive when it contains 0." for one statistic, or "yes when the 95% CI of A lies
 * wholly above −1 and B ≤ 0.5; no when any of them lies on the other side of its threshold; inconclusive
 * otherwise (a CI contains its threshold)." for several.
 */
export function ruleFromStatistics(stats: readonly FindingStatistic[]): string {
  if (stats.length === 0) return "n/a: no statistic decides this finding.";
  const side = (s: FindingStatistic, yes: boolean) => ((s.direction === "above") === yes ? "above" : "below");
  if (stats.length === 1) {
    const [s] = stats;
    const t = num(s.threshold);
    if (s.ci)
      return `yes when the 95% CI of ${s.name} lies wholly ${side(s, true)} ${t}, no when it lies wholly ${side(s, false)} ${t}, inconclusive when it contains ${t}.`;
    const up = s.direction === "above";
    return `yes when ${s.name} ${up ? "≥" : "≤"} ${t}, no when ${s.name} ${up ? "<" : ">"} ${t}.`;
  }
  const yes = stats.map((s) =>
    s.ci
      ? `the 95% CI of ${s.name} lies wholly ${side(s, true)} ${num(s.threshold)}`
      : `${s.name} ${s.direction === "above" ? "≥" : "≤"} ${num(s.threshold)}`,
  );
  const anyCi = stats.some((s) => s.ci);
  return `yes when ${yes.join(" and ")}; no when any of them lies ${anyCi ? "wholly " : ""}on the other side of its threshold${anyCi ? "; inconclusive otherwise (a CI contains its threshold)" : ""}.`;
}
