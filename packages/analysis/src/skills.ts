/**
 * Skill overlap: per eval item i, accuracy acc_m(i) = mean reward over the item's samples; gain
 * g_m(i) = max(acc_m(i) − acc_ref(i), 0); union gain g_∪(i) = max over the single-domain experts; consistency of
 * arm m on a domain = cosine(g_∪, g_m) over that domain's items. Solved set of m = items with acc_m(i) ≥ τ (default
 * 0.5); overlap of solved sets = Jaccard, between each multi-domain arm (mix, merges, MOPD) and each expert.
 * Finding 5 bootstraps the consistency difference (merged arms − mix) over eval items, resampled within each domain.
 */
import type { Analysis, EvalRow, Finding } from "@m2rl/core";
import { group, num, type OptionsInput, schemaOf, withDefaults } from "@m2rl/core/plugin";
import { orderArms, parseArmName, referenceArm } from "./arms.ts";
import { finiteOrNull, fmt } from "./format.ts";
import {
  type BootstrapCi,
  bootstrapReplicates,
  percentileInterval,
  taskScoreIndex,
} from "./math/bootstrap.ts";
import { cosine, jaccardFromCounts, mean } from "./math/stats.ts";
import { ciStatistic, ruleFromStatistics, verdictOf } from "./math/verdict.ts";
import { heatmap } from "./report/charts.ts";
import { scoreBootstrap } from "./scores.ts";

/** The skill-overlap analysis's options, declared once: the type, the defaults and the analysis's JSON Schema. */
export const SKILL_OPTIONS = group("Options of the skill-overlap analysis.", {
  solvedThreshold: num(
    "An arm solves an eval item when its mean reward on it is at least this (default 0.5).",
    0.5,
    {
      minimum: 0,
      maximum: 1,
    },
  ),
});

/** Skill-overlap options as given (every key optional). */
export type SkillOptions = OptionsInput<typeof SKILL_OPTIONS>;

/** acc[arm][domain][taskId] = mean reward. */
export type ItemAccuracy = Map<string, Map<string, Map<string, number>>>;

/** acc[arm][domain][taskId] = Σ rewards / number of rows of that task (every sample of every seed). */
export function itemAccuracy(rows: readonly EvalRow[]): ItemAccuracy {
  return taskScoreIndex(rows);
}

/** Gain vector of `arm` over `ref` on a domain's items (in `items` order): max(acc − acc_ref, 0). */
export function gains(
  acc: ItemAccuracy,
  arm: string,
  ref: string,
  domain: string,
  items: readonly string[],
): number[] {
  const a = acc.get(arm)?.get(domain);
  const r = acc.get(ref)?.get(domain);
  return items.map((i) => Math.max((a?.get(i) ?? 0) - (r?.get(i) ?? 0), 0));
}

/** cosine(g_∪, g_m); 1 when both are zero vectors (nothing gained by anyone: trivially consistent), 0 when one is. */
export function consistency(union: readonly number[], g: readonly number[]): number {
  const zu = union.every((x) => x === 0);
  const zg = g.every((x) => x === 0);
  if (zu && zg) return 1;
  if (zu || zg) return 0;
  return cosine(union, g);
}

/**
 * consistency on a resample: cos(g_∪, g_m) with item j counted once per draw, Σ u_j g_j / √(Σ u_j² Σ g_j²) over the
 * drawn items; 1 when both drawn vectors are zero, 0 when one is (as `consistency`).
 */
function drawnConsistency(u: Float64Array, g: Float64Array, draw: Int32Array): number {
  let ug = 0;
  let uu = 0;
  let gg = 0;
  for (let k = 0; k < draw.length; k++) {
    const j = draw[k];
    ug += u[j] * g[j];
    uu += u[j] * u[j];
    gg += g[j] * g[j];
  }
  if (uu === 0 && gg === 0) return 1;
  if (uu === 0 || gg === 0) return 0;
  return ug / Math.sqrt(uu * gg);
}

/** Per domain: the items, the union gain and the gains of some arms, in item order. */
export interface DomainGains {
  domain: string;
  union: Float64Array;
  gains: Map<string, Float64Array>;
}

/**
 * Bootstrap of D = mean over `merged` of C(m) − C(mix), C(m) = mean over domains of cos(g_∪, g_m): each domain's
 * items drawn with replacement (stream `<label>/<domain>`), every cosine recomputed on the drawn items.
 */
export function consistencyDifference(
  domains: readonly DomainGains[],
  merged: readonly string[],
  mix: string,
  seed: number,
): BootstrapCi {
  const kept = domains.filter((d) => d.union.length > 0);
  if (kept.length === 0 || merged.length === 0)
    return { value: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0 };
  const diff = (draws: readonly Int32Array[]) => {
    const c = (arm: string) =>
      mean(kept.map((d, k) => drawnConsistency(d.union, d.gains.get(arm)!, draws[k])));
    return mean(merged.map(c)) - c(mix);
  };
  const all = kept.map((d) => Int32Array.from(d.union, (_, i) => i));
  const reps = bootstrapReplicates(
    kept.map((d) => ({ name: d.domain, size: d.union.length })),
    diff,
    scoreBootstrap(seed),
  );
  const [lo, hi] = percentileInterval(reps);
  return { value: diff(all), lo, hi, n: kept.reduce((a, d) => a + d.union.length, 0) };
}

export const skillOverlap: Analysis<SkillOptions> = {
  name: "skill-overlap",
  description:
    "Which arms solve which eval items: consistency of each arm's per-item gains with the experts' union gain, and Jaccard overlap of solved sets between multi-domain arms and single-task experts.",
  optionsSchema: schemaOf(SKILL_OPTIONS),
  applicable(ctx) {
    if (!ctx.evalRows?.length) return "needs eval rows";
    const arms = new Set(ctx.evalRows.map((r) => r.arm));
    if (![...arms].some((a) => parseArmName(a).kind === "single"))
      return "needs at least one single-domain expert arm";
    if (!referenceArm([...arms], ctx.base)) return "needs eval rows of the base / SFT arm";
    return true;
  },
  async run(ctx, options) {
    const rows = ctx.evalRows ?? [];
    const tau = withDefaults(SKILL_OPTIONS, options).solvedThreshold;
    const acc = itemAccuracy(rows);
    const domains = [...new Set(rows.map((r) => r.domain))].sort();
    const arms = orderArms([...acc.keys()].map(parseArmName), domains);
    const ref = referenceArm(
      arms.map((a) => a.name),
      ctx.base,
    )!;
    const experts = arms.filter((a) => a.kind === "single");
    const others = arms.filter((a) => a.name !== ref);
    const items = new Map(
      domains.map((d) => [d, [...new Set(rows.filter((r) => r.domain === d).map((r) => r.taskId))].sort()]),
    );

    const cons: { arm: string; domain: string; value: number }[] = [];
    for (const d of domains) {
      const it = items.get(d)!;
      const eg = experts.map((e) => gains(acc, e.name, ref, d, it));
      const union = it.map((_, i) => Math.max(0, ...eg.map((g) => g[i])));
      for (const m of others)
        cons.push({ arm: m.name, domain: d, value: consistency(union, gains(acc, m.name, ref, d, it)) });
    }

    const solved = (arm: string, d: string) => {
      const a = acc.get(arm)?.get(d);
      return new Set(items.get(d)!.filter((i) => (a?.get(i) ?? 0) >= tau));
    };
    const jac = (x: Set<string>, y: Set<string>) =>
      jaccardFromCounts(x.size, y.size, [...x].filter((i) => y.has(i)).length);
    const multi = arms.filter(
      (a) => a.kind === "mix" || a.kind === "merge" || a.kind === "mopd" || a.kind === "other",
    );
    const overlap: { arm: string; expert: string; jaccard: number }[] = [];
    for (const m of multi) {
      for (const e of experts) {
        // over all domains' items together (item keys are domain-qualified)
        const sm = new Set(domains.flatMap((d) => [...solved(m.name, d)].map((i) => `${d}/${i}`)));
        const se = new Set(domains.flatMap((d) => [...solved(e.name, d)].map((i) => `${d}/${i}`)));
        overlap.push({ arm: m.name, expert: e.name, jaccard: jac(sm, se) });
      }
    }

    const meanCons = (arm: string) => mean(cons.filter((c) => c.arm === arm).map((c) => c.value));
    const tables = [
      {
        title: "Consistency with the experts' union gain, cosine(g_∪, g_m)",
        columns: ["arm", ...domains, "mean"],
        rows: others.map((m) => [
          m.name,
          ...domains.map((d) => fmt(cons.find((c) => c.arm === m.name && c.domain === d)?.value)),
          fmt(meanCons(m.name)),
        ]),
        caption: `Gains over ${ref}; union over ${experts.map((e) => e.name).join(", ")}. 1: the arm improves exactly where the experts do.`,
      },
    ];
    if (overlap.length) {
      tables.push({
        title: `Overlap of solved sets (Jaccard; solved = item accuracy ≥ ${tau})`,
        columns: ["arm", ...experts.map((e) => e.name), "mean"],
        rows: multi.map((m) => [
          m.name,
          ...experts.map((e) => fmt(overlap.find((o) => o.arm === m.name && o.expert === e.name)?.jaccard)),
          fmt(mean(overlap.filter((o) => o.arm === m.name).map((o) => o.jaccard))),
        ]),
        caption: "All domains' eval items together.",
      });
    }
    const charts = [
      {
        title: "Skill consistency with the experts",
        spec: heatmap(
          "Consistency cosine(g_∪, g_m) per domain",
          cons.map((c) => ({ row: c.arm, col: c.domain, value: finiteOrNull(c.value) })),
          { domain: [0, 1] },
        ),
      },
    ];
    if (overlap.length) {
      charts.push({
        title: "Solved-set overlap with the experts",
        spec: heatmap(
          "Solved-set Jaccard: multi-domain arms × experts",
          overlap.map((o) => ({ row: o.arm, col: o.expert, value: finiteOrNull(o.jaccard) })),
          { domain: [0, 1] },
        ),
      });
    }
    const findings: Finding[] = [];
    const mix = arms.find((a) => a.kind === "mix");
    const merged = arms.filter((a) => a.kind === "merge" || a.kind === "mopd");
    if (mix && merged.length) {
      const mixC = meanCons(mix.name);
      const mergedC = merged.map((m) => ({ arm: m.name, c: meanCons(m.name) }));
      const mixJ = mean(overlap.filter((o) => o.arm === mix.name).map((o) => o.jaccard));
      const mergedJ = mean(overlap.filter((o) => merged.some((m) => m.name === o.arm)).map((o) => o.jaccard));
      const byDomain: DomainGains[] = domains.map((d) => {
        const it = items.get(d)!;
        const eg = experts.map((e) => gains(acc, e.name, ref, d, it));
        return {
          domain: d,
          union: Float64Array.from(it, (_, i) => Math.max(0, ...eg.map((g) => g[i]))),
          gains: new Map(
            [mix, ...merged].map((m) => [m.name, Float64Array.from(gains(acc, m.name, ref, d, it))]),
          ),
        };
      });
      const diff = consistencyDifference(
        byDomain,
        merged.map((m) => m.name),
        mix.name,
        ctx.seed,
      );
      const statistics = diff.n
        ? [ciStatistic(`merged arms' mean consistency − ${mix.name}'s`, diff, 0, "above")]
        : [];
      findings.push({
        id: "5",
        claim: "Merged models inherit the experts' skills; the mixed model diverges more from them.",
        verdict: verdictOf(statistics),
        rule: ruleFromStatistics(statistics),
        statistics,
        evidence: `consistency: ${mergedC.map((x) => `${x.arm} ${fmt(x.c)}`).join(", ")} vs ${mix.name} ${fmt(mixC)}; difference ${fmt(diff.value)} [95% CI ${fmt(diff.lo)}, ${fmt(diff.hi)}] over ${diff.n} eval items (bootstrap within domains); solved-set Jaccard with experts: merged ${fmt(mergedJ)} vs mix ${fmt(mixJ)}.`,
      });
    }
    return {
      analysis: "skill-overlap",
      summary: {
        reference: ref,
        consistency: Object.fromEntries(others.map((m) => [m.name, finiteOrNull(meanCons(m.name))])),
      },
      tables,
      charts,
      findings,
      data: { reference: ref, consistency: cons, overlap, solvedThreshold: tau },
    };
  },
};
