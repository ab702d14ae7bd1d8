/**
 * Outcome- vs process-based self-judging, from eval rows that carry `judge`: per arm and domain, the share of
 * judged samples whose verdict (≥ 0.5 = "correct") matches the verifier, in each mode, with paired bootstrap CIs
 * over eval tasks (a task's score: the share of its judged samples judged right), and process − outcome paired on
 * the same tasks. A judge that always answers the majority verdict scores max(p, 1 − p), p = share correct: that
 * baseline is shown next to it.
 */
import type { EvalRow, ReportTable } from "@m2rl/core";
import { pct } from "./format.ts";
import { finalAnswer, type JudgeMode } from "./judge.ts";
import { type BootstrapCi, DrawCache, pairedBootstrap } from "./math/bootstrap.ts";
import { ciText } from "./scores.ts";

export interface SelfJudgingCell {
  arm: string;
  domain: string;
  samples: number;
  tasks: number;
  /** Share of judged samples the verifier grades correct. */
  correctShare: number;
  outcome: BootstrapCi;
  process: BootstrapCi;
  /** process − outcome, paired over tasks. */
  processMinusOutcome: BootstrapCi;
  /** Share of judged samples where both modes show the same text (the response is its final answer). */
  sameText: number;
}

const judgedRight = (r: EvalRow, mode: JudgeMode) => r.judge![mode]! >= 0.5 === (r.status === "correct");

/** taskId → share of its judged samples judged right in `mode`. */
function taskShares(rows: readonly EvalRow[], mode: JudgeMode): Map<string, number> {
  const sums = new Map<string, [number, number]>();
  for (const r of rows) {
    const s = sums.get(r.taskId) ?? [0, 0];
    s[0] += judgedRight(r, mode) ? 1 : 0;
    s[1]++;
    sums.set(r.taskId, s);
  }
  return new Map([...sums].map(([id, [a, n]]) => [id, a / n]));
}

export function selfJudgingCells(
  rows: readonly EvalRow[],
  arms: readonly string[],
  domains: readonly string[],
) {
  const judged = rows.filter(
    (r) => typeof r.judge?.outcome === "number" && typeof r.judge?.process === "number",
  );
  const cache = new DrawCache();
  const cells: SelfJudgingCell[] = [];
  for (const arm of arms) {
    for (const domain of domains) {
      const rs = judged.filter((r) => r.arm === arm && r.domain === domain);
      if (!rs.length) continue;
      const outcome = taskShares(rs, "outcome");
      const process = taskShares(rs, "process");
      const label = `self-judging/${domain}`;
      const same = rs.filter((r) => {
        const item = {
          prompt: "",
          response: String(r.response ?? ""),
          extracted: r.extracted as string | undefined,
        };
        return finalAnswer(item) === item.response.trim();
      }).length;
      cells.push({
        arm,
        domain,
        samples: rs.length,
        tasks: outcome.size,
        correctShare: rs.filter((r) => r.status === "correct").length / rs.length,
        outcome: pairedBootstrap(outcome, undefined, { label, cache }),
        process: pairedBootstrap(process, undefined, { label, cache }),
        processMinusOutcome: pairedBootstrap(process, outcome, { label, cache }),
        sameText: same / rs.length,
      });
    }
  }
  return cells;
}

export function selfJudgingTable(cells: readonly SelfJudgingCell[]): ReportTable {
  return {
    title: "Self-judging: outcome- vs process-based (95% CI over eval tasks)",
    columns: [
      "arm",
      "domain",
      "judged samples",
      "judge acc. (outcome)",
      "judge acc. (process)",
      "process − outcome",
      "majority baseline",
      "same text in both modes",
    ],
    rows: cells.map((c) => [
      c.arm,
      c.domain,
      c.samples,
      ciText(c.outcome),
      ciText(c.process),
      ciText(c.processMinusOutcome, true),
      pct(Math.max(c.correctShare, 1 - c.correctShare)),
      pct(c.sameText),
    ]),
    caption:
      "Each arm grades its own eval samples, seeing the final answer only (outcome) or the whole response (process); verdict p(yes)/(p(yes)+p(no)) ≥ 0.5 = correct. Judge accuracy: share of judged samples whose verdict matches the verifier. Majority baseline: the accuracy of a judge that always gives the more common verdict.",
  };
}

/** The notes a reader needs to read the table: where the modes cannot differ, and the paper's claim to compare. */
export function selfJudgingNotes(cells: readonly SelfJudgingCell[]): string[] {
  const domains = [...new Set(cells.map((c) => c.domain))];
  const identical = domains.filter((d) =>
    cells.filter((c) => c.domain === d).every((c) => c.sameText >= 0.99),
  );
  const notes = [
    "the paper finds process judging more accurate on math and code and outcome judging on instruction following; a process − outcome CI that crosses 0 does not decide it",
  ];
  // A judge that always gives the more common verdict scores max(p, 1 − p): beating it is the evidence of judging.
  const beats = (ci: BootstrapCi, c: SelfJudgingCell) => ci.lo > Math.max(c.correctShare, 1 - c.correctShare);
  const outcomeBeats = cells.filter((c) => beats(c.outcome, c)).length;
  const processBeats = cells.filter((c) => beats(c.process, c)).length;
  notes.push(
    `judge accuracy above the majority baseline (CI lower bound above it): ${outcomeBeats} of ${cells.length} arm × domain cells in outcome mode, ${processBeats} of ${cells.length} in process mode` +
      (outcomeBeats + processBeats === 0
        ? "; no arm judges better than always giving the more common verdict, so this run shows no self-judging ability to compare between modes"
        : ""),
  );
  if (identical.length)
    notes.push(
      `in ${identical.join(", ")} the response is its own final answer (no reasoning shown) in ≥ 99% of judged samples: both modes show the judge the same text, so the outcome/process difference cannot appear there, and any gap is the prompt wording alone`,
    );
  return notes;
}
