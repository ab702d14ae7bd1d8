/**
 * Information and verification, from eval rows: response-length budget use and truncation; self-discrimination
 * (AUC of the policy's own mean token log-probability separating its correct from its wrong samples); outcome-
 * vs process-based verification (final answer only vs also every intermediate step the domain can check); and the
 * policy judging its own responses in both modes (judge accuracy). Definitions in the package README.
 */
import type { Analysis, EvalRow, ReportTable } from "@m2rl/core";
import { group, schemaOf } from "@m2rl/core/plugin";
import { orderArms, parseArmName } from "./arms.ts";
import { finiteOrNull, fmt, pct } from "./format.ts";
import { auc, mean, quantile } from "./math/stats.ts";
import { groupedBars, heatmap } from "./report/charts.ts";
import { selfJudgingCells, selfJudgingNotes, selfJudgingTable } from "./self-judging.ts";

export interface CellInfo {
  arm: string;
  domain: string;
  samples: number;
  meanLength: number;
  p50Length: number;
  p90Length: number;
  maxLength: number;
  budget: number | null;
  /** mean length / budget. */
  budgetUse: number | null;
  truncationRate: number;
  accuracy: number;
  accuracyTruncated: number | null;
  /** AUC of mean token log-prob, correct vs not correct samples. */
  selfDiscriminationAuc: number | null;
  /** Outcome correct and every checked step correct. */
  processAccuracy: number | null;
  /** Share of outcome-correct samples with a wrong checked step. */
  rightForWrongReasons: number | null;
  judgeOutcomeAccuracy: number | null;
  judgeProcessAccuracy: number | null;
}

const isCorrect = (r: EvalRow) => r.status === "correct";

/** Mean token log-probability of a sample under its own policy (the self-discrimination score). */
export function meanTokenLogprob(r: EvalRow): number | undefined {
  if (typeof r.logprob !== "number" || !(r.responseLength > 0)) return undefined;
  return r.logprob / r.responseLength;
}

/** Share of samples whose verdict (judge ≥ 0.5 = "correct") matches the verifier. */
export function judgeAccuracy(rows: readonly EvalRow[], mode: "outcome" | "process"): number | null {
  const judged = rows.filter((r) => typeof r.judge?.[mode] === "number");
  if (!judged.length) return null;
  return judged.filter((r) => r.judge![mode]! >= 0.5 === isCorrect(r)).length / judged.length;
}

export function cellInfo(arm: string, domain: string, rows: readonly EvalRow[]): CellInfo {
  const lens = rows.map((r) => r.responseLength);
  const budgets = rows.map((r) => r.maxTokens).filter((x): x is number => typeof x === "number");
  const budget = budgets.length ? Math.max(...budgets) : null;
  const trunc = rows.filter((r) => r.truncated);
  const pos: number[] = [];
  const neg: number[] = [];
  for (const r of rows) {
    const s = meanTokenLogprob(r);
    if (s === undefined) continue;
    (isCorrect(r) ? pos : neg).push(s);
  }
  const checked = rows.filter((r) => typeof r.stepsChecked === "number" && r.stepsChecked > 0);
  const stepsOk = (r: EvalRow) => (r.stepsCorrect ?? 0) >= (r.stepsChecked ?? 0);
  const outcomeOk = checked.filter(isCorrect);
  return {
    arm,
    domain,
    samples: rows.length,
    meanLength: mean(lens),
    p50Length: quantile(lens, 0.5),
    p90Length: quantile(lens, 0.9),
    maxLength: lens.length ? Math.max(...lens) : Number.NaN,
    budget,
    budgetUse: budget ? mean(lens) / budget : null,
    truncationRate: rows.length ? trunc.length / rows.length : Number.NaN,
    accuracy: rows.length ? rows.filter(isCorrect).length / rows.length : Number.NaN,
    accuracyTruncated: trunc.length ? trunc.filter(isCorrect).length / trunc.length : null,
    selfDiscriminationAuc: finiteOrNull(auc(pos, neg)),
    processAccuracy: checked.length
      ? checked.filter((r) => isCorrect(r) && stepsOk(r)).length / checked.length
      : null,
    rightForWrongReasons: outcomeOk.length
      ? outcomeOk.filter((r) => !stepsOk(r)).length / outcomeOk.length
      : null,
    judgeOutcomeAccuracy: judgeAccuracy(rows, "outcome"),
    judgeProcessAccuracy: judgeAccuracy(rows, "process"),
  };
}

export const information: Analysis = {
  name: "information",
  description:
    "Response-length budget and truncation, self-discrimination AUC, outcome- vs process-based verification and self-judging accuracy, per arm and domain.",
  optionsSchema: schemaOf(group("The information analysis takes no options.", {})),
  applicable: (ctx) => (ctx.evalRows?.length ? true : "needs eval rows"),
  async run(ctx) {
    const rows = ctx.evalRows ?? [];
    const domains = [...new Set(rows.map((r) => r.domain))].sort();
    const arms = orderArms([...new Set(rows.map((r) => r.arm))].map(parseArmName), domains).map(
      (a) => a.name,
    );
    const cells: CellInfo[] = [];
    for (const a of arms) {
      for (const d of domains) {
        const rs = rows.filter((r) => r.arm === a && r.domain === d);
        if (rs.length) cells.push(cellInfo(a, d, rs));
      }
    }
    const tables: ReportTable[] = [
      {
        title: "Response length and truncation",
        columns: [
          "arm",
          "domain",
          "samples",
          "mean len",
          "p50",
          "p90",
          "max",
          "budget",
          "budget use",
          "truncated",
          "acc. if truncated",
        ],
        rows: cells.map((c) => [
          c.arm,
          c.domain,
          c.samples,
          fmt(c.meanLength, 1),
          fmt(c.p50Length, 0),
          fmt(c.p90Length, 0),
          c.maxLength,
          c.budget,
          pct(c.budgetUse),
          pct(c.truncationRate),
          pct(c.accuracyTruncated),
        ]),
        caption: 'Lengths in tokens. Truncated: generation hit the token budget (finishReason "length").',
      },
    ];
    const hasAuc = cells.some((c) => c.selfDiscriminationAuc !== null);
    const hasProcess = cells.some((c) => c.processAccuracy !== null);
    const hasJudge = cells.some((c) => c.judgeOutcomeAccuracy !== null || c.judgeProcessAccuracy !== null);
    if (hasAuc || hasProcess || hasJudge) {
      tables.push({
        title: "Verification and self-discrimination",
        columns: [
          "arm",
          "domain",
          "accuracy (outcome)",
          "accuracy (process)",
          "right for wrong reasons",
          "judge acc. (outcome)",
          "judge acc. (process)",
          "self-discrimination AUC",
        ],
        rows: cells.map((c) => [
          c.arm,
          c.domain,
          pct(c.accuracy),
          pct(c.processAccuracy),
          pct(c.rightForWrongReasons),
          pct(c.judgeOutcomeAccuracy),
          pct(c.judgeProcessAccuracy),
          fmt(c.selfDiscriminationAuc),
        ]),
        caption:
          "Process: the final answer is right and every intermediate step the domain could check is right. Judge: the arm's own verdict on its response matches the verifier. AUC: P(mean token log-prob of a correct sample > that of a wrong one); 0.5 = no self-discrimination.",
      });
    }
    const judging = hasJudge ? selfJudgingCells(rows, arms, domains) : [];
    if (judging.length) tables.push(selfJudgingTable(judging));
    const charts = [
      {
        title: "Truncation rate",
        spec: groupedBars(
          "Truncation rate (share of samples that hit the token budget)",
          cells.map((c) => ({ group: c.domain, series: c.arm, value: finiteOrNull(c.truncationRate) })),
          { yTitle: "truncated", seriesOrder: arms, domain: [0, 1] },
        ),
      },
      {
        title: "Mean response length",
        spec: groupedBars(
          "Mean response length (tokens)",
          cells.map((c) => ({ group: c.domain, series: c.arm, value: finiteOrNull(c.meanLength) })),
          { yTitle: "tokens", seriesOrder: arms },
        ),
      },
    ];
    if (hasAuc) {
      charts.push({
        title: "Self-discrimination AUC",
        spec: heatmap(
          "Self-discrimination AUC (own log-prob, correct vs wrong)",
          cells.map((c) => ({ row: c.arm, col: c.domain, value: c.selfDiscriminationAuc })),
          { domain: [0, 1], diverging: false },
        ),
      });
    }
    return {
      analysis: "information",
      summary: {
        truncationRate: Object.fromEntries(
          arms.map((a) => [
            a,
            finiteOrNull(mean(cells.filter((c) => c.arm === a).map((c) => c.truncationRate))),
          ]),
        ),
      },
      tables,
      charts,
      notes: [
        ...(hasAuc ? [] : ["no eval row carries `logprob`: self-discrimination not computed"]),
        ...(hasProcess
          ? []
          : [
              "process accuracy: no verifier of this run checks intermediate steps (no eval row carries `stepsChecked`), so only outcome accuracy is shown",
            ]),
        ...(hasJudge
          ? selfJudgingNotes(judging)
          : [
              "judge accuracy (outcome- vs process-based self-judging): no arm judged its own responses in this run (no eval row carries `judge`); the columns stay empty rather than show numbers this run did not measure",
            ]),
      ],
      data: { cells, selfJudging: judging },
    };
  },
};
