/** The weight-geometry analysis plugin: task-vector norms, cosines, projections, footprints, subspaces. */
import type { Analysis, AnalysisResult, Finding, ReportTable } from "@m2rl/core";
import { ConfigError } from "@m2rl/core/errors";
import { schemaOf } from "@m2rl/core/plugin";
import { orderArms } from "../arms.ts";
import { finiteOrNull, fmt, pct } from "../format.ts";
import {
  cosine,
  jaccardFromCounts,
  mean,
  overlapCoefficientFromCounts,
  randomJaccard,
  randomOverlapCoefficient,
} from "../math/stats.ts";
import { groupedBars, type HeatCell, heatmap, lines } from "../report/charts.ts";
import { MODULE_TYPES } from "../tensors/names.ts";
import {
  computeWeightGeometry,
  GEOMETRY_OPTIONS,
  type GeometryAccumulator,
  type GeometryOptions,
  type WeightGeometry,
} from "./compute.ts";

export const GEOMETRY_OPTIONS_SCHEMA = schemaOf(GEOMETRY_OPTIONS);

/** Statistics of one arm pair derived from an accumulator. */
export interface PairGeometry {
  a: string;
  b: string;
  cosine: number | null;
  projectedCosine?: number | null;
  jaccard?: number | null;
  randomJaccard?: number | null;
  overlapCoefficient?: number | null;
  randomOverlapCoefficient?: number | null;
  signConflictRate?: number | null;
  subspaceOverlap?: number | null;
  meanPrincipalAngleDeg?: number | null;
}

export function pairStats(acc: GeometryAccumulator, A: number, a: number, b: number) {
  const g = acc.gram;
  const c = g[a * A + b] / Math.sqrt(g[a * A + a] * g[b * A + b]);
  const na = acc.inFootprint[a];
  const nb = acc.inFootprint[b];
  const both = acc.both[a * A + b];
  const pa = acc.numel > 0 ? na / acc.numel : 0;
  const pb = acc.numel > 0 ? nb / acc.numel : 0;
  return {
    cosine: finiteOrNull(c),
    jaccard: finiteOrNull(jaccardFromCounts(na, nb, both)),
    randomJaccard: finiteOrNull(randomJaccard(pa, pb)),
    overlapCoefficient: finiteOrNull(overlapCoefficientFromCounts(na, nb, both)),
    randomOverlapCoefficient: finiteOrNull(randomOverlapCoefficient(pa, pb)),
    signConflictRate: both > 0 ? acc.conflicts[a * A + b] / both : null,
  };
}

/** Turns raw geometry into pair rows (used by the report and by other analyses). */
export function summarizeGeometry(g: WeightGeometry): { pairs: PairGeometry[]; arms: ArmGeometry[] } {
  const A = g.arms.length;
  const pairs: PairGeometry[] = [];
  for (let a = 0; a < A; a++) {
    for (let b = a + 1; b < A; b++) {
      const s = pairStats(g.global, A, a, b);
      const row: PairGeometry = { a: g.arms[a], b: g.arms[b], cosine: s.cosine };
      if (g.projection)
        row.projectedCosine = finiteOrNull(cosine(g.projection.vectors[a], g.projection.vectors[b]));
      if (g.footprint) {
        row.jaccard = s.jaccard;
        row.randomJaccard = s.randomJaccard;
        row.overlapCoefficient = s.overlapCoefficient;
        row.randomOverlapCoefficient = s.randomOverlapCoefficient;
        row.signConflictRate = s.signConflictRate;
      }
      if (g.subspace && g.subspace.tensors.length > 0) {
        const xs = g.subspace.tensors.flatMap((t) => t.angles.filter((p) => p.a === a && p.b === b));
        const ov = xs.map((x) => x.overlap).filter((x) => Number.isFinite(x));
        const ang = xs.flatMap((x) => x.degrees);
        row.subspaceOverlap = ov.length ? mean(ov) : null;
        row.meanPrincipalAngleDeg = ang.length ? mean(ang) : null;
      }
      pairs.push(row);
    }
  }
  const arms: ArmGeometry[] = g.arms.map((name, a) => {
    const ss = g.global.gram[a * A + a];
    return {
      arm: name,
      norm: Math.sqrt(ss),
      rms: g.global.numel > 0 ? Math.sqrt(ss / g.global.numel) : 0,
      changed: g.global.numel > 0 ? g.global.changed[a] / g.global.numel : 0,
      footprintDensity: g.footprint && g.global.numel > 0 ? g.global.inFootprint[a] / g.global.numel : null,
      projectedNorm: g.projection ? Math.hypot(...g.projection.vectors[a]) : null,
    };
  });
  return { pairs, arms };
}

export interface ArmGeometry {
  arm: string;
  norm: number;
  rms: number;
  changed: number;
  footprintDensity: number | null;
  projectedNorm: number | null;
}

function thresholdText(g: Pick<WeightGeometry, "footprint">): string {
  const t = g.footprint?.threshold;
  if (!t) return "none";
  switch (t.kind) {
    case "bf16":
      return "updated = bf16 value changed (bf16(w_arm) ≠ bf16(w_base), round to nearest even)";
    case "relative":
      return `updated = |Δ| > ${t.value}·max(|w_arm|, |w_base|)`;
    case "absolute":
      return `updated = |Δ| > ${t.value}`;
    case "top":
      return `updated = top ${(t.fraction * 100).toFixed(2)}% of |Δ| per arm`;
    case "nonzero":
      return "updated = Δ ≠ 0 (float32)";
  }
}

/** The pairs the paper looks at first: among single-domain experts when there are two or more. */
function focusPairs(pairs: PairGeometry[], kinds: Map<string, string>): PairGeometry[] {
  const singles = pairs.filter((p) => kinds.get(p.a) === "single" && kinds.get(p.b) === "single");
  return singles.length > 0 ? singles : pairs;
}

export const weightGeometry: Analysis<GeometryOptions> = {
  name: "weight-geometry",
  description:
    "Task vectors (arm − base), streamed tensor by tensor: norms, cosines (global, per layer, per module), cosine after a seeded random projection, update footprints and their overlap, sign conflicts, principal angles between low-rank update subspaces.",
  optionsSchema: GEOMETRY_OPTIONS_SCHEMA,
  applicable(ctx) {
    if (!ctx.base?.weights) return "needs the base checkpoint's weights";
    if (!ctx.arms.some((a) => a.weights)) return "needs at least one arm with weights";
    return true;
  },
  async run(ctx, options) {
    if (!ctx.base?.weights)
      throw new ConfigError("weight-geometry needs the base checkpoint", { plugin: this.name });
    const arms = orderArms(ctx.arms.filter((a) => a.weights));
    const g = await computeWeightGeometry(
      { name: ctx.base.name, weights: ctx.base.weights },
      arms.map((a) => ({ name: a.name, weights: a.weights! })),
      { seed: ctx.seed, log: ctx.log, ...options },
    );
    return geometryResult(g, new Map(arms.map((a) => [a.name, a.kind])));
  },
};

/**
 * Finding 3 over `pairs` (the single-domain experts' pairs when there are two or more): yes when every pair's
 * footprint Jaccard exceeds the Jaccard of two independent random masks of the same densities and every projected
 * cosine is positive. Deterministic (no sampling), so the statistics carry no CI: min over pairs of (Jaccard −
 * random Jaccard) and min projected cosine, both against 0. n/a when footprints or the projection are off.
 */
export function findingThree(
  pairs: readonly PairGeometry[],
  arms: readonly ArmGeometry[],
  g: Pick<WeightGeometry, "footprint" | "projection">,
): Finding | undefined {
  if (!pairs.length) return undefined;
  const claim = "Update footprints overlap well above chance; projected task-vector cosines are positive.";
  const rule =
    "yes when every pair's footprint Jaccard exceeds its random-mask baseline pq/(p+q−pq) (p, q: the two densities) and every projected cosine is positive, i.e. min(Jaccard − baseline) > 0 and min projected cosine > 0; no otherwise; n/a without footprints or projection.";
  const excess = pairs
    .filter((p) => p.jaccard != null && p.randomJaccard != null)
    .map((p) => p.jaccard! - p.randomJaccard!);
  const pc = pairs.map((p) => p.projectedCosine).filter((x): x is number => x != null);
  if (!g.footprint || !g.projection || excess.length < pairs.length || pc.length < pairs.length) {
    const missing = [
      !g.footprint ? "footprints are off (footprint: false)" : "",
      !g.projection ? "the random projection is off (projection: false)" : "",
      g.footprint && excess.length < pairs.length ? "some pairs have no Jaccard" : "",
      g.projection && pc.length < pairs.length
        ? "some pairs have no projected cosine (a zero task vector)"
        : "",
    ].filter(Boolean);
    return { id: "3", claim, verdict: "n/a", rule, evidence: `${missing.join("; ")}.` };
  }
  const minExcess = Math.min(...excess);
  const minCos = Math.min(...pc);
  const above = excess.filter((x) => x > 0).length;
  const positive = pc.filter((x) => x > 0).length;
  const js = pairs.map((p) => p.jaccard!);
  const rj = pairs.map((p) => p.randomJaccard!);
  const inPairs = new Set(pairs.flatMap((p) => [p.a, p.b]));
  const dens = arms
    .filter((a) => inPairs.has(a.arm))
    .map((a) => a.footprintDensity)
    .filter((x): x is number => x != null);
  const dense = dens.length > 0 && Math.min(...dens) > 0.95;
  return {
    id: "3",
    claim,
    verdict: minExcess > 0 && minCos > 0 ? "yes" : "no",
    rule,
    statistics: [
      {
        name: "min over pairs of footprint Jaccard − random baseline",
        value: minExcess,
        threshold: 0,
        direction: "above",
      },
      {
        name: "min over pairs of projected task-vector cosine",
        value: minCos,
        threshold: 0,
        direction: "above",
      },
    ],
    evidence:
      `${pairs.length} pairs (${thresholdText(g)}): mean Jaccard ${fmt(mean(js))} vs random ${fmt(mean(rj))}, mean excess ${fmt(mean(excess), 4)} (${above}/${pairs.length} above chance); projected cosines ${fmt(minCos)} to ${fmt(Math.max(...pc))} (${positive}/${pairs.length} positive).` +
      (dense
        ? ` Footprint densities ${pct(Math.min(...dens), 1)}–${pct(Math.max(...dens), 1)}: nearly every weight counts as updated, so the overlap says little.`
        : ""),
  };
}

export function geometryResult(g: WeightGeometry, kinds: Map<string, string>): AnalysisResult {
  const { pairs, arms } = summarizeGeometry(g);
  const A = g.arms.length;
  const notes: string[] = g.skipped.map((s) => `tensor ${s.name} skipped: ${s.reason}`);
  if (g.subspace?.skipped.length) {
    notes.push(
      `${g.subspace.skipped.length} matrices over the subspace budget were not analysed (${g.subspace.skipped.slice(0, 3).join(", ")}${g.subspace.skipped.length > 3 ? ", …" : ""})`,
    );
  }
  const tables: ReportTable[] = [
    {
      title: "Task vectors (arm − base)",
      columns: ["arm", "‖τ‖₂", "RMS(τ)", "entries changed", "footprint density", "‖Pτ‖ (projected)"],
      rows: arms.map((r) => [
        r.arm,
        fmt(r.norm, 4),
        fmt(r.rms, 6),
        pct(r.changed, 2),
        pct(r.footprintDensity, 2),
        fmt(r.projectedNorm, 4),
      ]),
      caption: `${g.parameters.toLocaleString("en-US")} parameters in ${g.tensors?.length ?? "?"} tensors against ${g.base}. Footprint: ${thresholdText(g)}.`,
    },
    {
      title: "Arm pairs",
      columns: [
        "arm A",
        "arm B",
        "cosine",
        "projected cosine",
        "Jaccard",
        "random Jaccard",
        "overlap coef.",
        "random overlap",
        "sign conflicts",
        "subspace overlap",
        "mean angle",
      ],
      rows: pairs.map((p) => [
        p.a,
        p.b,
        fmt(p.cosine),
        fmt(p.projectedCosine),
        fmt(p.jaccard),
        fmt(p.randomJaccard),
        fmt(p.overlapCoefficient),
        fmt(p.randomOverlapCoefficient),
        pct(p.signConflictRate),
        fmt(p.subspaceOverlap),
        p.meanPrincipalAngleDeg == null ? null : `${p.meanPrincipalAngleDeg.toFixed(1)}°`,
      ]),
      caption: `${g.footprint ? `Footprints: ${thresholdText(g)}. ` : ""}${g.projection ? `Projected cosine: after a seeded ${g.projection.kind} random projection to k=${g.projection.dims} dimensions (seed ${g.projection.seed}). ` : ""}Random Jaccard: two independent random masks of the same densities, pq/(p+q−pq). Sign conflicts: share of the footprints' overlap where the updates have opposite signs (0.5 for unrelated signs). Subspace overlap: mean cos² of the principal angles between the top-r left singular subspaces of each matrix's update, averaged over matrices (r/m for random subspaces); mean angle: mean principal angle.`,
    },
  ];

  const charts = [];
  const matrixCells = (value: (a: number, b: number) => number | null): HeatCell[] => {
    const cells: HeatCell[] = [];
    for (let a = 0; a < A; a++)
      for (let b = 0; b < A; b++) cells.push({ row: g.arms[a], col: g.arms[b], value: value(a, b) });
    return cells;
  };
  const cosMat = (a: number, b: number) => pairStats(g.global, A, a, b).cosine;
  if (A >= 2) {
    charts.push({
      title: "Task-vector cosine similarity",
      spec: heatmap("Task-vector cosine similarity", matrixCells(cosMat), {
        diverging: true,
        domain: [-1, 1],
      }),
    });
    if (g.projection) {
      const v = g.projection.vectors;
      charts.push({
        title: `Cosine after random projection to ${g.projection.dims} dims`,
        spec: heatmap(
          `Cosine after random projection (k=${g.projection.dims})`,
          matrixCells((a, b) => finiteOrNull(cosine(v[a], v[b]))),
          { diverging: true, domain: [-1, 1] },
        ),
      });
    }
    if (g.footprint) {
      charts.push({
        title: "Update-footprint overlap (Jaccard)",
        spec: heatmap(
          "Update-footprint overlap (Jaccard)",
          matrixCells((a, b) => pairStats(g.global, A, a, b).jaccard),
          { domain: [0, 1] },
        ),
        caption: `Footprint: ${thresholdText(g)}.`,
      });
    }
    const shown = focusPairs(pairs, kinds).slice(0, 10);
    const idx = new Map(g.arms.map((n, i) => [n, i]));
    if (g.byLayer.length > 1) {
      const pts = shown.flatMap((p) =>
        g.byLayer.map((l) => ({
          x: l.layer,
          y: pairStats(l.acc, A, idx.get(p.a)!, idx.get(p.b)!).cosine,
          series: `${p.a} · ${p.b}`,
        })),
      );
      charts.push({
        title: "Cosine per layer",
        spec: lines("Task-vector cosine per layer", pts, {
          xTitle: "layer",
          yTitle: "cosine",
          integerX: true,
        }),
      });
    }
    const modCells: HeatCell[] = [];
    for (const p of shown) {
      for (const m of MODULE_TYPES) {
        const acc = g.byModule.find((x) => x.module === m)?.acc;
        if (!acc) continue;
        modCells.push({
          row: `${p.a} · ${p.b}`,
          col: m,
          value: pairStats(acc, A, idx.get(p.a)!, idx.get(p.b)!).cosine,
        });
      }
    }
    if (modCells.length) {
      charts.push({
        title: "Cosine per module type",
        spec: heatmap("Task-vector cosine per module type", modCells, { diverging: true, domain: [-1, 1] }),
      });
    }
    if (g.subspace?.tensors.length) {
      charts.push({
        title: "Subspace overlap of low-rank updates",
        spec: heatmap(
          `Subspace overlap (top-${g.subspace.rank} left singular vectors, mean cos²)`,
          matrixCells((a, b) => {
            if (a === b) return 1;
            const [x, y] = a < b ? [a, b] : [b, a];
            const ov = g.subspace!.tensors.flatMap((t) =>
              t.angles.filter((p) => p.a === x && p.b === y).map((p) => p.overlap),
            );
            return ov.length ? finiteOrNull(mean(ov)) : null;
          }),
          { domain: [0, 1] },
        ),
      });
    }
  }
  if (arms.length) {
    charts.push({
      title: "Task-vector norm per module type",
      spec: groupedBars(
        "Task-vector norm per module type",
        g.byModule.flatMap((m) =>
          g.arms.map((arm, a) => ({ group: m.module, series: arm, value: Math.sqrt(m.acc.gram[a * A + a]) })),
        ),
        { yTitle: "‖τ‖₂", seriesOrder: g.arms },
      ),
    });
  }

  const findings: Finding[] = [];
  const f3 = findingThree(focusPairs(pairs, kinds), arms, g);
  if (f3) findings.push(f3);
  return {
    analysis: "weight-geometry",
    summary: {
      parameters: g.parameters,
      arms: arms.map((a) => ({ arm: a.arm, norm: a.norm, footprintDensity: a.footprintDensity })),
      pairs,
    },
    tables,
    charts,
    findings,
    notes,
    data: {
      ...g,
      tensors: g.tensors?.map((t) => ({
        name: t.name,
        shape: t.shape,
        norms: g.arms.map((_, a) => Math.sqrt(t.acc.gram[a * A + a])),
        changed: t.acc.changed.map((c) => c / t.acc.numel),
        footprint: t.acc.inFootprint.map((c) => c / t.acc.numel),
      })),
    },
  };
}
