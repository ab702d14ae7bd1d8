/**
 * Scores: every arm on every domain's eval set (Avg@K = mean reward over all samples of all items, pass@K = share
 * of items with at least one correct sample), deltas against the base and against the domain's single-task
 * expert, verification status counts and a table of sample responses. Layout as in the paper: rows = domains'
 * eval sets, columns = base, SFT, each single RL, each merge, MOPD, mix.
 *
 * Uncertainty: every score and every Δ carries a 95% percentile CI from a bootstrap over eval tasks (B = 2000,
 * seeded by the context's seed). A task's score is the mean reward over its samples (of every seed); Δs are paired
 * (both arms on the same drawn tasks); the domain average (each domain weighs the same) resamples each domain's
 * tasks independently. All statistics of a domain draw from the stream `scores/<domain>`, so the score and Δ CIs of
 * one domain are computed on the same drawn tasks.
 */
import type { Analysis, AnalysisContext, EvalRow, Finding, FindingStatistic, ReportTable } from "@m2rl/core";
import { VERIFICATION_STATUSES } from "@m2rl/core/domain";
import { group, int, type OptionsInput, schemaOf, withDefaults } from "@m2rl/core/plugin";
import { type ArmRef, expertOf, orderArms, parseArmName, referenceArm } from "./arms.ts";
import { finiteOrNull, fmt, signed } from "./format.ts";
import {
  BOOTSTRAP_LEVEL,
  BOOTSTRAP_RESAMPLES,
  type BootstrapCi,
  type BootstrapOptions,
  bootstrapReplicates,
  DrawCache,
  pairedBootstrap,
  pairedValues,
  percentileInterval,
  rowsBySeed,
  type Spread,
  type Stratum,
  spread,
  stratifiedBootstrap,
  type TaskScoreIndex,
  type TaskScores,
  taskScoreIndex,
} from "./math/bootstrap.ts";
import { mean } from "./math/stats.ts";
import { ciStatistic, ruleFromStatistics, verdictOf } from "./math/verdict.ts";
import { groupedBars, stackedBars } from "./report/charts.ts";

export interface ScoreCell {
  arm: string;
  domain: string;
  /** Avg@K in [0, 1]. */
  avg: number;
  /** pass@K in [0, 1] (K = samples per item). */
  passAtK: number;
  items: number;
  samples: number;
  /** 95% CI of the mean task score (bootstrap over tasks; filled by `scoreTableWithCi`). */
  avgCi?: [number, number];
}

export interface ScoreTable {
  arms: string[];
  domains: string[];
  reference?: string;
  cells: ScoreCell[];
  /** Domain averages with their stratified CIs (filled by `scoreTableWithCi`). */
  averages?: ScoreAverage[];
  /** Paired Δs with CIs, per domain and for the domain average (filled by `scoreTableWithCi`). */
  deltas?: ScoreDelta[];
  /** Per-seed point estimates and their spread, when the rows come from more than one seed. */
  perSeed?: SeedScores[];
  /** How the CIs were computed. */
  bootstrap?: { resamples: number; level: number; seed: number; label: string };
}

/** The domain-average row's label in `ScoreDelta.domain` and in the tables. */
export const AVERAGE = "average";

/** Mean over domains of the arm's per-domain mean task score (each domain weighs the same), fractions in [0, 1]. */
export interface ScoreAverage {
  arm: string;
  value: number;
  lo: number;
  hi: number;
  /** Tasks over all domains. */
  n: number;
}

/** A paired Δ (arm − vs), fractions (×100 for points), with its 95% CI over tasks. */
export interface ScoreDelta {
  arm: string;
  /** An eval domain, or `AVERAGE` for the mean over domains (stratified bootstrap). */
  domain: string;
  /** The arm compared with: the reference, or the domain's expert ("expert" on the average row vs experts). */
  vs: string;
  against: "reference" | "expert";
  value: number;
  lo: number;
  hi: number;
  /** Tasks both arms have (over all domains on the average row). */
  n: number;
}

/** One arm's point estimates computed on each seed's rows alone: values per seed, mean, sample SD, min, max. */
export interface SeedScores {
  arm: string;
  seeds: (number | null)[];
  /** Domain-average Avg@K per seed. */
  average: Spread & { values: number[] };
  /** Domain-average Δ vs the reference per seed. */
  averageDelta?: Spread & { values: number[] };
  /** A single-domain expert's Δ vs the reference on its own domain, per seed. */
  ownDomainDelta?: Spread & { values: number[] };
}

/** Avg@K and pass@K per arm × domain. */
export function scoreTable(rows: readonly EvalRow[], ctx?: Pick<AnalysisContext, "base">): ScoreTable {
  const groups = new Map<string, Map<string, EvalRow[]>>();
  for (const r of rows) {
    const key = `${r.arm}\u0000${r.domain}`;
    if (!groups.has(key)) groups.set(key, new Map());
    const items = groups.get(key)!;
    if (!items.has(r.taskId)) items.set(r.taskId, []);
    items.get(r.taskId)!.push(r);
  }
  const cells: ScoreCell[] = [];
  for (const [key, items] of groups) {
    const [arm, domain] = key.split("\u0000");
    let sum = 0;
    let n = 0;
    let solved = 0;
    for (const samples of items.values()) {
      for (const s of samples) sum += s.reward;
      n += samples.length;
      if (samples.some((s) => s.status === "correct" || s.reward >= 1)) solved++;
    }
    cells.push({
      arm,
      domain,
      avg: n ? sum / n : Number.NaN,
      passAtK: items.size ? solved / items.size : Number.NaN,
      items: items.size,
      samples: n,
    });
  }
  const domains = [...new Set(rows.map((r) => r.domain))].sort();
  const arms = orderArms(
    [...new Set(rows.map((r) => r.arm))].map((n) => parseArmName(n)),
    domains,
  ).map((a) => a.name);
  // cells in table order (arms, then domains), whatever the order of the rows
  cells.sort(
    (a, b) =>
      arms.indexOf(a.arm) - arms.indexOf(b.arm) || domains.indexOf(a.domain) - domains.indexOf(b.domain),
  );
  return { arms, domains, reference: referenceArm(arms, ctx?.base), cells };
}

export function cellOf(t: ScoreTable, arm: string, domain: string): ScoreCell | undefined {
  return t.cells.find((c) => c.arm === arm && c.domain === domain);
}

/** Mean Avg@K of an arm over the domains (each domain weighs the same). */
export function armAverage(t: ScoreTable, arm: string): number {
  return mean(t.domains.map((d) => cellOf(t, arm, d)?.avg ?? Number.NaN).filter((x) => !Number.isNaN(x)));
}

const pts = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : fmt(x * 100, 1));

/** Bootstrap options of the scores statistics: label "scores", so a domain d draws from the stream "scores/d". */
export function scoreBootstrap(seed: number, cache: DrawCache = new DrawCache()): BootstrapOptions {
  return { seed, label: "scores", cache };
}

/** Mean task score of `arm` on `domain`, or the paired Δ arm − `vs`, with its CI (stream `<label>/<domain>`). */
export function domainStatistic(
  idx: TaskScoreIndex,
  arm: string,
  domain: string,
  vs: string | undefined,
  options: BootstrapOptions,
): BootstrapCi {
  const x: TaskScores = idx.get(arm)?.get(domain) ?? new Map();
  const y: TaskScores | undefined = vs === undefined ? undefined : (idx.get(vs)?.get(domain) ?? new Map());
  return pairedBootstrap(x, y, { ...options, label: `${options.label ?? "bootstrap"}/${domain}` });
}

/**
 * Mean over domains of `arm`'s mean task score, or of its paired Δ vs `vs` (an arm, or an arm per domain), each
 * domain weighing the same; stratified bootstrap (domain d draws from `<label>/d`). Domains where either arm has
 * no rows, or `vs(d)` is undefined, are left out.
 */
export function averageStatistic(
  idx: TaskScoreIndex,
  arm: string,
  domains: readonly string[],
  vs: string | ((domain: string) => string | undefined) | undefined,
  options: BootstrapOptions,
): BootstrapCi {
  const strata: Stratum[] = [];
  for (const d of domains) {
    const x = idx.get(arm)?.get(d);
    if (!x) continue;
    if (vs === undefined) {
      strata.push({ name: d, x });
      continue;
    }
    const v = typeof vs === "string" ? vs : vs(d);
    const y = v === undefined ? undefined : idx.get(v)?.get(d);
    if (y) strata.push({ name: d, x, y });
  }
  return stratifiedBootstrap(strata, options);
}

/**
 * `scoreTable` plus uncertainty: each cell's CI (`avgCi`), the domain averages with stratified CIs, the paired Δs
 * vs the reference and vs each domain's expert with CIs (per domain and averaged), and per-seed spreads when the
 * rows carry more than one `seed`. Deterministic for a given `seed`. `idx` = `taskScoreIndex(rows)`, passed in to
 * share the cache's replicate means with other statistics of the same rows.
 */
export function scoreTableWithCi(
  rows: readonly EvalRow[],
  ctx: Pick<AnalysisContext, "base"> & { seed?: number } = {},
  cache: DrawCache = new DrawCache(),
  idx: TaskScoreIndex = taskScoreIndex(rows),
): ScoreTable {
  const t = scoreTable(rows, ctx);
  const seed = ctx.seed ?? 0;
  const o = scoreBootstrap(seed, cache);
  for (const c of t.cells) {
    const ci = domainStatistic(idx, c.arm, c.domain, undefined, o);
    c.avgCi = [ci.lo, ci.hi];
  }
  t.averages = t.arms.map((a) => ({ arm: a, ...averageStatistic(idx, a, t.domains, undefined, o) }));
  const deltas: ScoreDelta[] = [];
  const ref = t.reference;
  if (ref) {
    for (const a of t.arms) {
      for (const d of t.domains) {
        if (!idx.get(a)?.has(d) || !idx.get(ref)?.has(d)) continue;
        deltas.push({
          arm: a,
          domain: d,
          vs: ref,
          against: "reference",
          ...domainStatistic(idx, a, d, ref, o),
        });
      }
      const avg = averageStatistic(idx, a, t.domains, ref, o);
      if (avg.n) deltas.push({ arm: a, domain: AVERAGE, vs: ref, against: "reference", ...avg });
    }
  }
  const armRefs = t.arms.map(parseArmName);
  const expertName = (d: string) => expertOf(armRefs, d)?.name;
  for (const a of t.arms) {
    for (const d of t.domains) {
      const e = expertName(d);
      if (!e || !idx.get(a)?.has(d) || !idx.get(e)?.has(d)) continue;
      deltas.push({ arm: a, domain: d, vs: e, against: "expert", ...domainStatistic(idx, a, d, e, o) });
    }
    const avg = averageStatistic(idx, a, t.domains, expertName, o);
    if (avg.n) deltas.push({ arm: a, domain: AVERAGE, vs: "expert", against: "expert", ...avg });
  }
  t.deltas = deltas;
  const bySeed = rowsBySeed(rows);
  if (bySeed.size > 1) t.perSeed = seedScores(t, [...bySeed.values()], ctx);
  t.bootstrap = { resamples: BOOTSTRAP_RESAMPLES, level: BOOTSTRAP_LEVEL, seed, label: o.label ?? "scores" };
  return t;
}

/** Point estimates on each seed's rows alone (no bootstrap): domain average, its Δ vs the reference, own-domain Δ. */
function seedScores(t: ScoreTable, groups: EvalRow[][], ctx: Pick<AnalysisContext, "base">): SeedScores[] {
  const seeds = groups.map((g) => (typeof g[0]?.seed === "number" ? g[0].seed : null));
  const tables = groups.map((g) => scoreTable(g, ctx));
  const ref = t.reference;
  const withValues = (values: number[]) => ({ ...spread(values), values });
  return t.arms.map((a) => {
    const own = parseArmName(a);
    const out: SeedScores = { arm: a, seeds, average: withValues(tables.map((s) => armAverage(s, a))) };
    if (ref && a !== ref) {
      out.averageDelta = withValues(tables.map((s) => armAverage(s, a) - armAverage(s, ref)));
      if (own.kind === "single" && own.domain) {
        const d = own.domain;
        out.ownDomainDelta = withValues(
          tables.map((s) => (cellOf(s, a, d)?.avg ?? Number.NaN) - (cellOf(s, ref, d)?.avg ?? Number.NaN)),
        );
      }
    }
    return out;
  });
}

/**
 * A fraction as points with one decimal, signed for Δs, never in exponent form (a score of 0.078 points reads
 * "0.1", not "7.81e-2").
 */
function points(x: number, sign: boolean): string {
  return sign ? (signed(x * 100, 1) as string) : (x * 100).toFixed(1);
}

/** "45.3 [40.1, 50.2]" (points, 1 decimal); Δs signed: "+3.2 [−1.0, +7.5]"; null without tasks. */
export function ciText(
  ci: { value: number; lo: number; hi: number; n: number } | undefined,
  sign = false,
): string | null {
  if (!ci || ci.n === 0 || Number.isNaN(ci.value)) return null;
  return `${points(ci.value, sign)} [${points(ci.lo, sign)}, ${points(ci.hi, sign)}]`;
}

/** "mean ± SD (lowest to highest)" of a per-seed spread, in points; the mean alone with one seed. */
function spreadText(s: Spread | undefined, sign = false): string | null {
  if (!s || s.n === 0) return null;
  const m = points(s.mean, sign);
  if (Number.isNaN(s.sd)) return m;
  return `${m} ± ${fmt(s.sd * 100, 1)} (${points(s.min, sign)} to ${points(s.max, sign)})`;
}

/** The scores analysis's options, declared once: the type, the defaults and the analysis's JSON Schema. */
export const SCORES_OPTIONS = group("Options of the scores analysis.", {
  samplesPerCell: int(
    "Sample responses shown per arm × domain (a correct and a wrong one first; 0: no sample table; default 2).",
    2,
    0,
  ),
  maxResponseChars: int("Characters of a sample response shown (default 240).", 240, 20),
});

export const scores: Analysis<OptionsInput<typeof SCORES_OPTIONS>> = {
  name: "scores",
  description:
    "Arms × domains: Avg@K with bootstrap CIs, pass@K, paired deltas vs base and vs each domain's single-task expert; status counts; sample responses.",
  optionsSchema: schemaOf(SCORES_OPTIONS),
  applicable: (ctx) => (ctx.evalRows?.length ? true : "needs eval rows"),
  async run(ctx, given) {
    const options = withDefaults(SCORES_OPTIONS, given);
    const rows = ctx.evalRows ?? [];
    const cache = new DrawCache();
    const idx = taskScoreIndex(rows);
    const t = scoreTableWithCi(rows, ctx, cache, idx);
    const o = scoreBootstrap(ctx.seed, cache);
    const armRefs = t.arms.map(parseArmName);
    const ref = t.reference;
    const deltas = t.deltas ?? [];
    const deltaOf = (arm: string, domain: string, against: ScoreDelta["against"]) =>
      deltas.find((x) => x.arm === arm && x.domain === domain && x.against === against);
    const averageOf = (arm: string) => t.averages?.find((x) => x.arm === arm);
    const ciNote = `95% CI in brackets: percentile bootstrap over eval tasks (B = ${BOOTSTRAP_RESAMPLES}, seed ${ctx.seed})`;
    const tables: ReportTable[] = [];
    tables.push({
      title: "Avg@K (%) — rows: eval sets, columns: arms",
      columns: ["domain", ...t.arms],
      rows: [
        ...t.domains.map((d) => [d, ...t.arms.map((a) => ciText(domainStatistic(idx, a, d, undefined, o)))]),
        [AVERAGE, ...t.arms.map((a) => ciText(averageOf(a)))],
      ],
      caption: `Mean over eval tasks of each task's mean reward over its samples (Avg@K when every task has K samples). ${ciNote}; the average weighs domains equally and resamples each domain's tasks independently.`,
    });
    if (ref) {
      tables.push({
        title: `Δ vs ${ref} (points)`,
        columns: ["domain", ...t.arms],
        rows: [...t.domains, AVERAGE].map((d) => [
          d,
          ...t.arms.map((a) => ciText(deltaOf(a, d, "reference"), true)),
        ]),
        caption: `Paired: both arms on the same eval tasks. ${ciNote}.`,
      });
    }
    const experts = t.domains.map((d) => expertOf(armRefs, d));
    if (experts.some(Boolean)) {
      tables.push({
        title: "Δ vs the domain's single-task expert (points)",
        columns: ["domain", "expert", ...t.arms],
        rows: [
          ...t.domains.map((d, i) => [
            d,
            experts[i]?.name ?? null,
            ...t.arms.map((a) => ciText(deltaOf(a, d, "expert"), true)),
          ]),
          [AVERAGE, "each domain's", ...t.arms.map((a) => ciText(deltaOf(a, AVERAGE, "expert"), true))],
        ],
        caption: `Paired: both arms on the same eval tasks; the average is over the domains that have an expert. ${ciNote}.`,
      });
    }
    if (t.perSeed) {
      const seeds = t.perSeed[0]?.seeds ?? [];
      tables.push({
        title: `Per seed: mean ± SD (lowest to highest seed) over ${seeds.length} seeds (points)`,
        columns: ["arm", "average Avg@K", ...(ref ? [`average Δ vs ${ref}`, `own-domain Δ vs ${ref}`] : [])],
        rows: t.perSeed.map((p) => [
          p.arm,
          spreadText(p.average),
          ...(ref ? [spreadText(p.averageDelta, true), spreadText(p.ownDomainDelta, true)] : []),
        ]),
        caption: `Each seed's rows scored alone (seeds ${seeds.map((s) => s ?? "none").join(", ")}); SD = sample SD across seeds. Own-domain Δ: a single-task expert on its own domain. The CIs above pool the seeds: a task's score averages its samples over every seed.`,
      });
    }
    tables.push({
      title: "pass@K (%)",
      columns: ["domain", ...t.arms],
      rows: t.domains.map((d) => [d, ...t.arms.map((a) => pts(cellOf(t, a, d)?.passAtK))]),
      caption: "Share of eval items with at least one correct sample out of K.",
    });

    // Status counts.
    const statusCount = new Map<string, number>();
    for (const r of rows) {
      const k = `${r.arm}\u0000${r.domain}\u0000${r.status}`;
      statusCount.set(k, (statusCount.get(k) ?? 0) + 1);
    }
    tables.push({
      title: "Verification status counts",
      columns: ["arm", "domain", ...VERIFICATION_STATUSES],
      rows: t.arms.flatMap((a) =>
        t.domains.map((d) => [
          a,
          d,
          ...VERIFICATION_STATUSES.map((s) => statusCount.get(`${a}\u0000${d}\u0000${s}`) ?? 0),
        ]),
      ),
      caption:
        "A reward is never a silent 0: every sample is counted under the status its verifier returned.",
      collapsed: true,
    });

    // Sample table.
    const per = options.samplesPerCell;
    const maxChars = options.maxResponseChars;
    if (per > 0 && rows.some((r) => typeof r.response === "string")) {
      const sampleRows = [];
      for (const a of t.arms) {
        for (const d of t.domains) {
          const rs = rows.filter((r) => r.arm === a && r.domain === d && typeof r.response === "string");
          // one correct and one wrong when both exist
          const picked = [rs.find((r) => r.status === "correct"), rs.find((r) => r.status !== "correct")]
            .filter((r): r is EvalRow => r !== undefined)
            .concat(rs)
            .filter((r, i, xs) => xs.indexOf(r) === i)
            .slice(0, per);
          for (const r of picked) {
            sampleRows.push([
              a,
              d,
              r.taskId,
              clip(r.prompt ?? "", 120),
              clip(r.response ?? "", maxChars),
              r.extracted ?? null,
              r.status,
              fmt(r.reward, 2),
            ]);
          }
        }
      }
      tables.push({
        title: "Sample responses",
        columns: ["arm", "domain", "task", "prompt", "response", "extracted", "status", "reward"],
        rows: sampleRows,
        collapsed: true,
      });
    }

    const charts = [
      {
        title: "Avg@K per domain",
        spec: groupedBars(
          "Avg@K per domain",
          t.cells.map((c) => ({ group: c.domain, series: c.arm, value: finiteOrNull(c.avg) })),
          { yTitle: "Avg@K", seriesOrder: t.arms, domain: [0, 1] },
        ),
      },
      {
        title: "Verification status per arm and domain",
        spec: stackedBars(
          "Verification status per arm and domain",
          t.arms.flatMap((a) =>
            t.domains.flatMap((d) =>
              VERIFICATION_STATUSES.map((s) => ({
                row: a,
                stack: s,
                facet: d,
                value: statusCount.get(`${a}\u0000${d}\u0000${s}`) ?? 0,
              })),
            ),
          ),
          {
            stackOrder: [...VERIFICATION_STATUSES],
            colors: ["#59a14f", "#e15759", "#f28e2b", "#b07aa1", "#79706e"],
            normalize: true,
            rowOrder: t.arms,
          },
        ),
      },
    ];

    const findings: Finding[] = [];
    // Finding 2: interference and transfer between domains, from the single-task experts.
    const singles = armRefs.filter((a) => a.kind === "single");
    if (ref && singles.length >= 2) findings.push(findingTwo(t, idx, armRefs, ref, o));

    return {
      analysis: "scores",
      summary: {
        reference: ref,
        averages: Object.fromEntries((t.averages ?? []).map((a) => [a.arm, finiteOrNull(a.value)])),
        averageCi: Object.fromEntries(
          (t.averages ?? []).map((a) => [a.arm, [finiteOrNull(a.lo), finiteOrNull(a.hi)]]),
        ),
        bootstrap: t.bootstrap,
      },
      tables,
      charts,
      findings,
      data: t,
    };
  },
};

const REASONING = new Set(["math", "code", "science"]);

/**
 * Finding 2 (domains interfere little; reasoning domains help each other), decided by two statistics in points:
 * the mean Δ vs the reference of the reasoning experts on the other reasoning domains (all such pairs together;
 * a domain's pairs averaged per task and weighted by their number; tasks resampled per domain, jointly for the
 * pairs) vs 0, and the mix's worst Δ vs a domain's expert (min over domains, recomputed in every replicate) vs −5.
 */
function findingTwo(
  t: ScoreTable,
  idx: TaskScoreIndex,
  armRefs: readonly ArmRef[],
  ref: string,
  o: BootstrapOptions,
): Finding {
  const singles = armRefs.filter((a) => a.kind === "single");
  const cross: { from: string; to: string; delta: BootstrapCi }[] = [];
  for (const s of singles) {
    for (const d of t.domains) {
      if (d === s.domain || !idx.get(s.name)?.has(d) || !idx.get(ref)?.has(d)) continue;
      cross.push({ from: s.domain!, to: d, delta: domainStatistic(idx, s.name, d, ref, o) });
    }
  }
  const reasoningPairs = cross.filter((x) => REASONING.has(x.from) && REASONING.has(x.to));
  const statistics: FindingStatistic[] = [];
  const points = (name: string, ci: BootstrapCi, threshold: number) =>
    ciStatistic(name, ci, threshold, "above", 100);

  // transfer: per target domain, the per-task mean over its pairs' experts (tasks all of them and ref have)
  const strata: Stratum[] = [];
  for (const d of t.domains) {
    const y = idx.get(ref)?.get(d);
    if (!REASONING.has(d) || !y) continue;
    const arms = singles
      .filter((s) => s.domain !== d && REASONING.has(s.domain!))
      .map((s) => idx.get(s.name)?.get(d))
      .filter((x): x is Map<string, number> => x !== undefined);
    if (!arms.length) continue;
    const x = new Map<string, number>();
    for (const task of arms[0].keys()) {
      if (arms.every((a) => a.has(task))) x.set(task, mean(arms.map((a) => a.get(task)!)));
    }
    strata.push({ name: d, x, y, weight: arms.length });
  }
  const transfer = strata.length ? stratifiedBootstrap(strata, o) : undefined;
  if (transfer?.n)
    statistics.push(
      points(`mean Δ vs ${ref} of reasoning experts on the other reasoning domains (points)`, transfer, 0),
    );

  // interference: the mix's worst domain vs that domain's expert
  const mix = armRefs.find((a) => a.kind === "mix");
  const drops: { domain: string; values: Float64Array }[] = [];
  if (mix) {
    for (const d of t.domains) {
      const e = expertOf(armRefs, d);
      const x = idx.get(mix.name)?.get(d);
      const y = e ? idx.get(e.name)?.get(d) : undefined;
      if (!x || !y) continue;
      const { values } = pairedValues(x, y);
      if (values.length) drops.push({ domain: d, values });
    }
  }
  if (mix && drops.length) {
    const meanOf = (v: Float64Array, draw?: Int32Array) => {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[draw ? draw[i] : i];
      return s / v.length;
    };
    // worst = min_d mean_t (mix_dt − expert_dt), recomputed on every replicate's drawn tasks
    const reps = bootstrapReplicates(
      drops.map((x) => ({ name: x.domain, size: x.values.length })),
      (draws) => Math.min(...draws.map((dr, k) => meanOf(drops[k].values, dr))),
      o,
    );
    const [lo, hi] = percentileInterval(reps, o.level);
    const worst: BootstrapCi = {
      value: Math.min(...drops.map((x) => meanOf(x.values))),
      lo,
      hi,
      n: drops.reduce((a, x) => a + x.values.length, 0),
    };
    statistics.push(points(`${mix.name} − the domain's expert, worst domain (points)`, worst, -5));
  }

  const positive = reasoningPairs.filter((x) => x.delta.value > 0).length;
  const evidence = [
    reasoningPairs.length
      ? `${positive}/${reasoningPairs.length} reasoning expert → other-reasoning-domain transfers are positive: ${reasoningPairs.map((p) => `${p.from}→${p.to} ${ciText(p.delta, true)}`).join(", ")}`
      : "no pair of reasoning-domain experts",
    cross.length
      ? `all cross-domain transfers: mean ${signed(mean(cross.map((x) => x.delta.value)) * 100, 1)} pts`
      : "",
    mix && drops.length
      ? `${mix.name} vs expert on the expert's domain: ${drops.map((x) => `${x.domain} ${signed(mean([...x.values]) * 100, 1)}`).join(", ")} pts`
      : "",
  ]
    .filter(Boolean)
    .join("; ");
  return {
    id: "2",
    claim: "Domains interfere little; reasoning domains (math, code, science) help each other.",
    verdict: verdictOf(statistics),
    rule: ruleFromStatistics(statistics),
    statistics,
    evidence: `${evidence}.`,
  };
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
