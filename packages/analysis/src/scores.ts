/**
 * Scores: every arm on every domain's eval set (Avg@K = mean reward over all samples of all items, pass@K = share
 * of items with at least one correct sample), deltas against the base and against the domain's single-task
 * expert, verification status counts and a table of sample responses. Layout as in the paper: rows = domains'
 * eval sets, columns = base, SFT, each single RL, each merge, MOPD, mix.
 */
import type { Analysis, AnalysisContext, EvalRow, Finding, ReportTable } from "@m2rl/core";
import { VERIFICATION_STATUSES } from "@m2rl/core";
import { expertOf, orderArms, parseArmName, referenceArm } from "./arms.ts";
import { finiteOrNull, fmt, signed } from "./format.ts";
import { mean } from "./math/stats.ts";
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
}

export interface ScoreTable {
  arms: string[];
  domains: string[];
  reference?: string;
  cells: ScoreCell[];
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
  return { arms, domains, reference: referenceArm(arms, ctx?.base), cells };
}

export function cellOf(t: ScoreTable, arm: string, domain: string): ScoreCell | undefined {
  return t.cells.find((c) => c.arm === arm && c.domain === domain);
}

/** Mean Avg@K of an arm over the domains (each domain weighs the same). */
export function armAverage(t: ScoreTable, arm: string): number {
  return mean(t.domains.map((d) => cellOf(t, arm, d)?.avg ?? Number.NaN).filter((x) => !Number.isNaN(x)));
}

const pts = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : fmt(x * 100, 2));

export const scores: Analysis<{ samplesPerCell?: number; maxResponseChars?: number }> = {
  name: "scores",
  description:
    "Arms × domains: Avg@K, pass@K, deltas vs base and vs each domain's single-task expert; status counts; sample responses.",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      samplesPerCell: { type: "integer", minimum: 0, default: 2 },
      maxResponseChars: { type: "integer", minimum: 20, default: 240 },
    },
  },
  applicable: (ctx) => (ctx.evalRows?.length ? true : "needs eval rows"),
  async run(ctx, options) {
    const rows = ctx.evalRows ?? [];
    const t = scoreTable(rows, ctx);
    const armRefs = t.arms.map(parseArmName);
    const ref = t.reference;
    const avgRow = (label: string, value: (arm: string) => number | null) => [
      label,
      ...t.arms.map((a) => fmt(value(a), 2)),
    ];
    const tables: ReportTable[] = [];
    tables.push({
      title: "Avg@K (%) — rows: eval sets, columns: arms",
      columns: ["domain", ...t.arms],
      rows: [
        ...t.domains.map((d) => [d, ...t.arms.map((a) => pts(cellOf(t, a, d)?.avg))]),
        avgRow("average", (a) => armAverage(t, a) * 100),
      ],
      caption: `Mean reward over all samples of every eval item. Bold in the HTML: best arm per domain.`,
    });
    if (ref) {
      tables.push({
        title: `Δ vs ${ref} (points)`,
        columns: ["domain", ...t.arms],
        rows: [
          ...t.domains.map((d) => {
            const r = cellOf(t, ref, d)?.avg;
            return [
              d,
              ...t.arms.map((a) => {
                const c = cellOf(t, a, d)?.avg;
                return c === undefined || r === undefined ? null : signed((c - r) * 100);
              }),
            ];
          }),
          ["average", ...t.arms.map((a) => signed((armAverage(t, a) - armAverage(t, ref)) * 100))],
        ],
      });
    }
    const experts = t.domains.map((d) => expertOf(armRefs, d));
    if (experts.some(Boolean)) {
      tables.push({
        title: "Δ vs the domain's single-task expert (points)",
        columns: ["domain", "expert", ...t.arms],
        rows: t.domains.map((d, i) => {
          const e = experts[i];
          const r = e ? cellOf(t, e.name, d)?.avg : undefined;
          return [
            d,
            e?.name ?? null,
            ...t.arms.map((a) => {
              const c = cellOf(t, a, d)?.avg;
              return c === undefined || r === undefined ? null : signed((c - r) * 100);
            }),
          ];
        }),
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
    const per = options.samplesPerCell ?? 2;
    const maxChars = options.maxResponseChars ?? 240;
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
    if (ref && singles.length >= 2) {
      const reasoning = new Set(["math", "code", "science"]);
      const cross: { from: string; to: string; delta: number }[] = [];
      for (const s of singles) {
        for (const d of t.domains) {
          if (d === s.domain) continue;
          const c = cellOf(t, s.name, d)?.avg;
          const r = cellOf(t, ref, d)?.avg;
          if (c !== undefined && r !== undefined) cross.push({ from: s.domain!, to: d, delta: c - r });
        }
      }
      const reasoningPairs = cross.filter((x) => reasoning.has(x.from) && reasoning.has(x.to));
      const mix = armRefs.find((a) => a.kind === "mix");
      const mixDrops = mix
        ? t.domains
            .map((d) => {
              const e = expertOf(armRefs, d);
              const c = cellOf(t, mix.name, d)?.avg;
              const r = e ? cellOf(t, e.name, d)?.avg : undefined;
              return c !== undefined && r !== undefined ? c - r : Number.NaN;
            })
            .filter((x) => !Number.isNaN(x))
        : [];
      const help = reasoningPairs.length
        ? reasoningPairs.filter((x) => x.delta > 0).length / reasoningPairs.length
        : Number.NaN;
      findings.push({
        id: "2",
        claim: "Domains interfere little; reasoning domains (math, code, science) help each other.",
        verdict:
          reasoningPairs.length === 0 && mixDrops.length === 0
            ? "n/a"
            : (reasoningPairs.length === 0 || help >= 0.5) &&
                (mixDrops.length === 0 || Math.min(...mixDrops) > -0.05)
              ? "yes"
              : "no",
        rule: "yes when at least half of the reasoning expert → other reasoning domain transfers are positive and the mix loses at most 5 points to any expert on its domain.",
        evidence:
          [
            reasoningPairs.length
              ? `${reasoningPairs.filter((x) => x.delta > 0).length}/${reasoningPairs.length} reasoning expert→other-reasoning-domain transfers are positive (mean ${signed(mean(reasoningPairs.map((x) => x.delta)) * 100)} pts)`
              : "no pair of reasoning-domain experts",
            cross.length
              ? `all cross-domain transfers: mean ${signed(mean(cross.map((x) => x.delta)) * 100)} pts`
              : "",
            mixDrops.length
              ? `mix vs expert on the expert's domain: worst ${signed(Math.min(...mixDrops) * 100)} pts (interference threshold −5)`
              : "",
          ]
            .filter(Boolean)
            .join("; ") + ".",
      });
    }

    return {
      analysis: "scores",
      summary: {
        reference: ref,
        averages: Object.fromEntries(t.arms.map((a) => [a, finiteOrNull(armAverage(t, a))])),
      },
      tables,
      charts,
      findings,
      data: t,
    };
  },
};

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
