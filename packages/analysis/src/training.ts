/**
 * Training: curves from metrics.jsonl (reward per domain, loss, entropy, response length, KL) and efficiency:
 * tokens generated / trained / scored, estimated FLOPs and wall time per arm, and the cost of "mix" relative to
 * "separate + merge" (the paper: 2,166.4 vs 6,524.8 GPU hours, 33.2%).
 *
 * FLOPs estimate (Kaplan et al. 2020): a forward pass costs ≈ 2N FLOPs per token and forward + backward ≈ 6N, N =
 * parameters; so FLOPs ≈ 2N·(tokens generated + tokens scored) + 6N·tokens trained (attention's quadratic term
 * ignored).
 */
import type {
  Analysis,
  ArmCost,
  EvalRow,
  Finding,
  FindingStatistic,
  MetricsRow,
  ReportTable,
} from "@m2rl/core";
import { VERIFICATION_STATUSES } from "@m2rl/core/domain";
import { trainingFlops } from "@m2rl/core/flops";
import { group, schemaOf } from "@m2rl/core/plugin";
import { orderArms, parseArmName } from "./arms.ts";
import { finiteOrNull, pct } from "./format.ts";
import { taskScoreIndex } from "./math/bootstrap.ts";
import { ciStatistic, ruleFromStatistics, verdictOf } from "./math/verdict.ts";
import { lines } from "./report/charts.ts";
import { averageStatistic, ciText, scoreBootstrap } from "./scores.ts";

export interface CostRow {
  arm: string;
  kind: string;
  steps: number | null;
  tokensGenerated: number;
  tokensTrained: number;
  tokensScored: number;
  wallSeconds: number | null;
  parameters: number | null;
  flops: number | null;
  builtFrom?: string[];
}

/** FLOPs ≈ 2N (generated + scored) + 6N trained. */
export function estimateFlops(
  parameters: number,
  c: { tokensGenerated: number; tokensTrained: number; tokensScored: number },
): number {
  return trainingFlops(parameters, {
    generated: c.tokensGenerated,
    scored: c.tokensScored,
    trained: c.tokensTrained,
  });
}

/** Sums a run's metrics rows into a cost; explicit `costs` entries override the sums field by field. */
export function costOf(
  arm: string,
  rows: readonly MetricsRow[],
  explicit?: ArmCost,
  parameters?: number,
): CostRow {
  let g = 0;
  let t = 0;
  let s = 0;
  let wall: number | null = null;
  let steps: number | null = null;
  for (const r of rows) {
    g += r.tokensGenerated ?? 0;
    t += r.tokensTrained ?? 0;
    s += r.tokensScored ?? 0;
    if (typeof r.elapsedSeconds === "number") wall = Math.max(wall ?? 0, r.elapsedSeconds);
    steps = Math.max(steps ?? 0, r.step + 1);
  }
  const c = {
    tokensGenerated: explicit?.tokensGenerated ?? g,
    tokensTrained: explicit?.tokensTrained ?? t,
    tokensScored: explicit?.tokensScored ?? s,
  };
  const n = explicit?.parameters ?? parameters ?? null;
  return {
    arm,
    kind: parseArmName(arm).kind,
    steps: explicit?.steps ?? steps,
    ...c,
    wallSeconds: explicit?.wallSeconds ?? wall,
    parameters: n,
    flops: n ? estimateFlops(n, c) : null,
    builtFrom: explicit?.builtFrom,
  };
}

export interface MixVsMerge {
  mix: string;
  merge: string;
  /** cost(mix) / (Σ cost(experts the merge is built from) + cost(merge itself)). */
  flopsRatio: number | null;
  wallRatio: number | null;
  tokensRatio: number | null;
}

export function mixVsMerge(costs: readonly CostRow[]): MixVsMerge[] {
  const mix = costs.find((c) => c.kind === "mix");
  if (!mix) return [];
  const singles = costs.filter((c) => c.kind === "single");
  const out: MixVsMerge[] = [];
  const merges = costs.filter((c) => c.kind === "merge" || c.kind === "mopd");
  const targets = merges.length ? merges : singles.length ? [undefined] : [];
  for (const m of targets) {
    const parts = [
      ...(m?.builtFrom ? costs.filter((c) => m.builtFrom!.includes(c.arm)) : singles),
      ...(m ? [m] : []),
    ];
    const sum = (f: (c: CostRow) => number | null) => {
      let total = 0;
      for (const p of parts) {
        const v = f(p);
        if (v === null) return null;
        total += v;
      }
      return total;
    };
    const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
    out.push({
      mix: mix.arm,
      merge: m?.arm ?? "experts (no merge arm)",
      flopsRatio: ratio(
        mix.flops,
        sum((c) => c.flops ?? (c.kind === "merge" ? 0 : null)),
      ),
      wallRatio: ratio(
        mix.wallSeconds,
        sum((c) => c.wallSeconds ?? (c.kind === "merge" ? 0 : null)),
      ),
      tokensRatio: ratio(
        mix.tokensGenerated + mix.tokensTrained,
        sum((c) => c.tokensGenerated + c.tokensTrained),
      ),
    });
  }
  return out;
}

export const training: Analysis = {
  name: "training",
  description:
    "Training curves from metrics.jsonl, tokens / FLOPs / wall time per arm, and the cost of mix vs separate + merge.",
  after: ["weight-geometry"],
  optionsSchema: schemaOf(group("The training analysis takes no options.", {})),
  applicable: (ctx) =>
    (ctx.metrics && Object.keys(ctx.metrics).length) || ctx.costs?.length
      ? true
      : "needs metrics.jsonl rows or arm costs",
  async run(ctx, _options, previous) {
    const metrics = ctx.metrics ?? {};
    const geo = previous.get("weight-geometry")?.summary as { parameters?: number } | undefined;
    const names = new Set([...Object.keys(metrics), ...(ctx.costs ?? []).map((c) => c.arm)]);
    const arms = orderArms([...names].map(parseArmName)).map((a) => a.name);
    const costs = arms.map((a) =>
      costOf(
        a,
        metrics[a] ?? [],
        ctx.costs?.find((c) => c.arm === a),
        geo?.parameters,
      ),
    );
    const ratios = mixVsMerge(costs);
    const tables: ReportTable[] = [
      {
        title: "Cost per arm",
        columns: [
          "arm",
          "steps",
          "tokens generated",
          "tokens trained",
          "tokens scored",
          "FLOPs (est.)",
          "wall time",
        ],
        rows: costs.map((c) => [
          c.arm,
          c.steps,
          c.tokensGenerated.toLocaleString("en-US"),
          c.tokensTrained.toLocaleString("en-US"),
          c.tokensScored.toLocaleString("en-US"),
          c.flops === null ? null : c.flops.toExponential(2),
          c.wallSeconds === null ? null : formatSeconds(c.wallSeconds),
        ]),
        caption: "FLOPs ≈ 2N·(generated + scored) + 6N·trained tokens, N = parameters.",
      },
    ];
    if (ratios.length) {
      tables.push({
        title: "Mix vs separate + merge",
        columns: ["mix", "vs", "FLOPs ratio", "wall-time ratio", "token ratio"],
        rows: ratios.map((r) => [r.mix, r.merge, pct(r.flopsRatio), pct(r.wallRatio), pct(r.tokensRatio)]),
        caption: "cost(mix) / (Σ cost(single-task experts) + cost(merge)). The paper: 33.2% of GPU hours.",
      });
    }
    // Status counts seen during training.
    const statusRows = [];
    for (const a of arms) {
      const sums = new Map<string, Record<string, number>>();
      for (const r of metrics[a] ?? []) {
        for (const [d, counts] of Object.entries(r.statusCounts ?? {})) {
          const s = sums.get(d) ?? {};
          for (const [k, v] of Object.entries(counts)) s[k] = (s[k] ?? 0) + (v ?? 0);
          sums.set(d, s);
        }
      }
      for (const [d, s] of [...sums].sort())
        statusRows.push([a, d, ...VERIFICATION_STATUSES.map((k) => s[k] ?? 0)]);
    }
    if (statusRows.length) {
      tables.push({
        title: "Verification status counts during training",
        columns: ["arm", "domain", ...VERIFICATION_STATUSES],
        rows: statusRows,
        collapsed: true,
      });
    }

    const charts = [];
    const rewardPts = arms.flatMap((a) =>
      (metrics[a] ?? []).flatMap((r) =>
        r.rewardByDomain
          ? Object.entries(r.rewardByDomain).map(([d, v]) => ({
              x: r.step,
              y: finiteOrNull(v),
              series: a,
              facet: d,
            }))
          : typeof r.reward === "number"
            ? [{ x: r.step, y: finiteOrNull(r.reward), series: a, facet: "all domains" }]
            : [],
      ),
    );
    if (rewardPts.length) {
      charts.push({
        title: "Training reward per domain",
        spec: lines("Training reward per domain", rewardPts, { xTitle: "step", yTitle: "mean reward" }),
      });
    }
    const heldOutPts = Object.entries(ctx.heldOut ?? {}).flatMap(([arm, points]) =>
      points.map((p) => ({ x: p.step, y: finiteOrNull(p.avg), series: arm, facet: p.domain })),
    );
    if (heldOutPts.length) {
      charts.push({
        title: "Held-out Avg@K during training",
        spec: lines("Held-out Avg@K during training", heldOutPts, {
          xTitle: "step",
          yTitle: "held-out Avg@K",
          integerX: true,
        }),
        caption:
          "The trainer's periodic evaluation (trainer.evalEvery, on trainer.evalTasks eval tasks per domain, sampled as the final evaluation); step 0 is the arm's start policy.",
      });
    }
    // RL arms only: SFT's thousands of steps would squeeze the RL curves into the first pixels (its loss is below).
    const rlArms = arms.filter((a) => parseArmName(a).kind !== "sft");
    const other = (["loss", "entropy", "responseLength", "kl", "clipFraction"] as const).flatMap((k) =>
      rlArms.flatMap((a) =>
        (metrics[a] ?? [])
          .filter((r) => typeof r[k] === "number")
          .map((r) => ({ x: r.step, y: finiteOrNull(r[k] as number), series: a, facet: k })),
      ),
    );
    if (other.length) {
      charts.push({
        title: "Training curves",
        spec: lines("Loss, entropy, response length, KL to the start policy, clip fraction", other, {
          xTitle: "step",
        }),
        caption:
          "Per RL step. KL: k3 estimate against the arm's start policy (trainer.kl.monitor; absent when off). With one on-policy update per step (ppoEpochs 1, miniBatches 1) the importance ratio is 1 and the clip fraction stays 0.",
      });
    }
    const sftLoss = arms
      .filter((a) => parseArmName(a).kind === "sft")
      .flatMap((a) =>
        (metrics[a] ?? [])
          .filter((r) => typeof r.loss === "number")
          .map((r) => ({ x: r.step, y: finiteOrNull(r.loss as number), series: a })),
      );
    if (sftLoss.length) {
      charts.push({
        title: "SFT loss",
        spec: lines("SFT warm-up loss (token mean)", sftLoss, { xTitle: "step", yTitle: "loss" }),
      });
    }

    const findings: Finding[] = [];
    const mix = costs.find((c) => c.kind === "mix");
    if (mix && ratios.length) findings.push(findingOne(mix.arm, ratios, ctx.evalRows ?? [], ctx.seed));
    return {
      analysis: "training",
      summary: { costs, mixVsMerge: ratios },
      tables,
      charts,
      findings,
      notes: costs.some((c) => c.parameters === null)
        ? [
            "parameter count unknown for some arms: FLOPs not estimated (give it in costs or run weight-geometry)",
          ]
        : [],
      data: { costs, mixVsMerge: ratios },
    };
  },
};

/**
 * Finding 1, decided by two statistics: the paired Δ (mix − best merge) of the domain-average Avg@K in points, with
 * its stratified bootstrap CI over eval tasks (the same draws as the scores analysis), vs −1 ("matches" = not more
 * than 1 point worse); and the compute ratio mix / (experts + that merge), FLOPs else wall time, vs 0.5 (no CI).
 * The best merge (merge or MOPD arm) is the one with the highest domain-average point estimate.
 */
export function findingOne(
  mix: string,
  ratios: readonly MixVsMerge[],
  rows: readonly EvalRow[],
  seed: number,
): Finding {
  const idx = taskScoreIndex(rows);
  const domains = [...new Set(rows.map((r) => r.domain))].sort();
  const o = scoreBootstrap(seed);
  const merges = [...idx.keys()]
    .filter((a) => ["merge", "mopd"].includes(parseArmName(a).kind))
    .sort()
    .map((arm) => ({ arm, avg: averageStatistic(idx, arm, domains, undefined, o) }))
    .filter((m) => m.avg.n > 0);
  const best = merges.reduce<(typeof merges)[number] | undefined>(
    (x, y) => (x === undefined || y.avg.value > x.avg.value ? y : x),
    undefined,
  );
  const own = best ? ratios.find((r) => r.merge === best.arm) : undefined;
  const pick = (r: MixVsMerge | undefined) =>
    r?.flopsRatio != null
      ? { value: r.flopsRatio, unit: "FLOPs" }
      : r?.wallRatio != null
        ? { value: r.wallRatio, unit: "wall time" }
        : undefined;
  const ratioOf = pick(own) ? own : ratios.find((r) => pick(r) !== undefined);
  const ratio = pick(ratioOf);
  const mixAvg = idx.has(mix) ? averageStatistic(idx, mix, domains, undefined, o) : undefined;
  const statistics: FindingStatistic[] = [];
  const evidence: string[] = [];
  if (best && mixAvg?.n) {
    const delta = averageStatistic(idx, mix, domains, best.arm, o);
    statistics.push(
      ciStatistic(
        `${mix} − ${best.arm} (best merge), domain-average Avg@K (points)`,
        delta,
        -1,
        "above",
        100,
      ),
    );
    evidence.push(
      `${mix} average ${ciText(mixAvg)} vs best merge ${best.arm} ${ciText(best.avg)}; paired Δ ${ciText(delta, true)} pts over ${delta.n} tasks`,
    );
  } else {
    evidence.push(best ? `no eval rows of ${mix}` : "no eval rows of a merge or MOPD arm");
  }
  if (ratio) {
    statistics.push({
      name: `${ratio.unit} ratio ${mix} / ${ratioOf && ["merge", "mopd"].includes(parseArmName(ratioOf.merge).kind) ? `(experts + ${ratioOf.merge})` : "experts"}`,
      value: ratio.value,
      threshold: 0.5,
      direction: "below",
    });
    evidence.push(`cost ratio ${pct(ratio.value)} (${ratio.unit})`);
  } else evidence.push("no FLOPs or wall-time ratio");
  // both statistics are needed: without one of them the finding cannot be answered
  const complete = statistics.length === 2;
  return {
    id: "1",
    claim: "Mix matches merge in average score at about a third of the compute.",
    verdict: complete ? verdictOf(statistics) : "n/a",
    rule: complete
      ? ruleFromStatistics(statistics)
      : "needs the domain-average Avg@K of the mix and of a merge (eval rows) and a FLOPs or wall-time ratio.",
    statistics,
    evidence: `${evidence.join("; ")} (paper: 59.99 vs 59.41 at 33.2%).`,
  };
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}
