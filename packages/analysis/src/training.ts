/**
 * Training: curves from metrics.jsonl (reward per domain, loss, entropy, response length, KL) and efficiency:
 * tokens generated / trained / scored, estimated FLOPs and wall time per arm, and the cost of "mix" relative to
 * "separate + merge" (the paper: 2,166.4 vs 6,524.8 GPU hours, 33.2%).
 *
 * FLOPs estimate (Kaplan et al. 2020): a forward pass costs ≈ 2N FLOPs per token and forward + backward ≈ 6N, N =
 * parameters; so FLOPs ≈ 2N·(tokens generated + tokens scored) + 6N·tokens trained (attention's quadratic term
 * ignored).
 */
import type { Analysis, ArmCost, Finding, MetricsRow, ReportTable } from "@m2rl/core";
import { VERIFICATION_STATUSES } from "@m2rl/core";
import { orderArms, parseArmName } from "./arms.ts";
import { finiteOrNull, fmt, pct } from "./format.ts";
import { lines } from "./report/charts.ts";

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
  return 2 * parameters * (c.tokensGenerated + c.tokensScored) + 6 * parameters * c.tokensTrained;
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
  after: ["scores", "weight-geometry"],
  optionsSchema: { type: "object", additionalProperties: false, properties: {} },
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
    const other = (["loss", "entropy", "responseLength", "kl"] as const).flatMap((k) =>
      arms.flatMap((a) =>
        (metrics[a] ?? [])
          .filter((r) => typeof r[k] === "number")
          .map((r) => ({ x: r.step, y: finiteOrNull(r[k] as number), series: a, facet: k })),
      ),
    );
    if (other.length) {
      charts.push({
        title: "Training curves",
        spec: lines("Loss, entropy, response length, KL", other, { xTitle: "step" }),
      });
    }

    const findings: Finding[] = [];
    const sc = previous.get("scores")?.summary as { averages?: Record<string, number | null> } | undefined;
    const mix = costs.find((c) => c.kind === "mix");
    if (mix && sc?.averages && ratios.length) {
      const merges = Object.entries(sc.averages).filter(
        ([a, v]) => v !== null && ["merge", "mopd"].includes(parseArmName(a).kind),
      );
      const mixAvg = sc.averages[mix.arm];
      const best = merges.length ? merges.reduce((x, y) => ((y[1] ?? -1) > (x[1] ?? -1) ? y : x)) : undefined;
      const ratio = ratios.map((r) => r.flopsRatio ?? r.wallRatio).find((x) => x !== null) ?? null;
      if (mixAvg != null && best && ratio !== null) {
        findings.push({
          id: "1",
          claim: "Mix matches merge in average score at about a third of the compute.",
          verdict: mixAvg >= (best[1] as number) - 0.01 && ratio <= 0.5 ? "yes" : "no",
          rule: "yes when the mix average is within 1 point of the best merge and its cost is at most half of the separate runs'.",
          evidence: `${mix.arm} average ${fmt(mixAvg * 100, 2)} vs best merge ${best[0]} ${fmt((best[1] as number) * 100, 2)}; cost ratio ${pct(ratio)} (paper: 59.99 vs 59.41 at 33.2%).`,
        });
      }
    }
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

function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}
