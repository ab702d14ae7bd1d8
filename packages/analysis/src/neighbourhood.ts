/**
 * The policy neighbourhood (finding 4). For domains A and B with single-domain experts e_A = `single:A`,
 * e_B = `single:B` and the multi-domain policy π_mix (the `mix` arm):
 *
 *   KL_AB = KL(π_{e_B} ‖ π_mix) estimated on e_B's samples of A's prompts,
 *   KL_AA = KL(π_{e_A} ‖ π_mix) estimated on e_A's samples of A's prompts,
 *   B is a neighbour of A  ⇔  KL_AB ≤ factor · KL_AA   (factor 1.5 by default).
 *
 * The relation is not symmetric (A's row uses A's prompts and A's own expert as the yardstick). It predicts what a
 * merge of the two experts does: B a neighbour of A ⇒ merging e_A with e_B does not hurt A (Δ ≥ 0 on A's eval set
 * vs e_A); not a neighbour ⇒ it hurts (Δ < 0). The asymmetry check compares that prediction with the Δ of every
 * merge arm built from exactly two experts, on each of its two domains, paired by task.
 *
 * Pure functions over KL values and eval rows: the prediction analysis supplies the KLs.
 */
import type { ArmCost, EvalRow, Finding, FindingStatistic } from "@m2rl/core";
import {
  choice,
  defaultsOf,
  group,
  int,
  num,
  type OptionsInput,
  optional,
  schemaOf,
  value,
} from "@m2rl/core/plugin";
import { fmt } from "./format.ts";
import { pairedBootstrap, taskScores } from "./math/bootstrap.ts";

/**
 * Which KL estimate the rule reads, all from the same samples y ~ π_sampler (temperature 1):
 * `sequence`: mean over samples of log p(y|x) − log q(y|x) (Monte-Carlo sequence KL);
 * `token`: Σ over all samples of that log ratio / Σ tokens (Monte-Carlo KL per token);
 * `exact`: mean over samples of Σ_t KL(p(·|x, y_<t) ‖ q(·|x, y_<t)) (the same sequence KL, lower variance).
 */
export const NEIGHBOURHOOD_ESTIMATES = ["sequence", "token", "exact"] as const;
export type NeighbourhoodEstimate = (typeof NEIGHBOURHOOD_ESTIMATES)[number];

/** Finding 4's rule, declared once: the options type, the defaults and the schema of `prediction`'s `neighbourhood`. */
export const NEIGHBOURHOOD_OPTIONS = group("Finding 4's neighbourhood rule.", {
  factor: num("B is a neighbour of A when KL_AB ≤ factor · KL_AA (default 1.5).", 1.5, {
    exclusiveMinimum: 0,
  }),
  estimate: choice(
    NEIGHBOURHOOD_ESTIMATES,
    "Which KL estimate the rule reads: sequence (default; Monte-Carlo sequence KL), token (Monte-Carlo KL per token) or exact (sequence KL from the per-position KLs).",
    "sequence",
  ),
  bootstrapSamples: int(
    "Bootstrap resamples of tasks for the merge deltas' 95% CIs (default 2000).",
    2000,
    1,
  ),
  mergeDomains: optional(
    value<Record<string, string[]>>(
      { type: "object", additionalProperties: { type: "array", items: { type: "string" }, minItems: 1 } },
      'Domains of merge arms by arm name, when neither the run\'s costs nor the arm say them, e.g. { "merge:ties-math-code": [math, code] }.',
      {},
    ),
  ),
});

/** Neighbourhood options as given (every key optional). */
export type NeighbourhoodOptions = OptionsInput<typeof NEIGHBOURHOOD_OPTIONS>;

export const NEIGHBOURHOOD_DEFAULTS = defaultsOf(NEIGHBOURHOOD_OPTIONS);

export const NEIGHBOURHOOD_OPTIONS_SCHEMA = schemaOf(NEIGHBOURHOOD_OPTIONS);

/**
 * The neighbour rule. Monte-Carlo estimates can fall below 0 by sampling noise; both sides are read as
 * max(·, 0), so a negative own-expert KL makes only KL_AB ≤ 0 a neighbour. Inclusive at the boundary.
 */
export function isNeighbour(klAB: number, klAA: number, factor: number): boolean {
  return Math.max(klAB, 0) <= factor * Math.max(klAA, 0);
}

/** One cell of the neighbourhood matrix: row A (prompt domain), column B (expert domain). */
export interface NeighbourCell {
  promptDomain: string;
  expertDomain: string;
  /** KL(π_{e_B} ‖ π_mix) on e_B's samples of A's prompts. */
  kl: number | null;
  /** KL(π_{e_A} ‖ π_mix) on e_A's samples of A's prompts (the row's yardstick). */
  reference: number | null;
  /** factor · max(reference, 0). */
  threshold: number | null;
  /** null when a KL is missing. The diagonal (B = A) is a neighbour by definition. */
  neighbour: boolean | null;
}

/**
 * The matrix: rows = prompt domains A (each with its own expert), columns = expert domains B. `kl(A, B)` =
 * KL(π_{e_B} ‖ π_mix) on e_B's samples of A's prompts, undefined when not computed.
 */
export function neighbourhoodMatrix(
  promptDomains: readonly string[],
  expertDomains: readonly string[],
  kl: (promptDomain: string, expertDomain: string) => number | undefined,
  factor: number = NEIGHBOURHOOD_DEFAULTS.factor,
): NeighbourCell[] {
  const cells: NeighbourCell[] = [];
  for (const a of promptDomains) {
    const ref = finite(kl(a, a));
    for (const b of expertDomains) {
      const x = finite(kl(a, b));
      cells.push({
        promptDomain: a,
        expertDomain: b,
        kl: x,
        reference: ref,
        threshold: ref === null ? null : factor * Math.max(ref, 0),
        neighbour: a === b ? true : x === null || ref === null ? null : isNeighbour(x, ref, factor),
      });
    }
  }
  return cells;
}

/** The neighbours of each prompt domain A (B ≠ A with B a neighbour of A). */
export function neighboursOf(cells: readonly NeighbourCell[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of cells) {
    if (!out.has(c.promptDomain)) out.set(c.promptDomain, []);
    if (c.neighbour && c.expertDomain !== c.promptDomain) out.get(c.promptDomain)!.push(c.expertDomain);
  }
  return out;
}

/**
 * The domains each merge arm was built from: `explicit[name]`, else the run's costs (`builtFrom`: the runner lists
 * a merge's `single:<d>` experts there), else a `domains` array on the arm itself. Arms with none are left out.
 */
export function mergeDomainsOf(
  arms: readonly { name: string; kind: string }[],
  costs?: readonly ArmCost[],
  explicit?: Record<string, string[]>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const arm of arms) {
    if (arm.kind !== "merge") continue;
    const fromCosts = costs
      ?.find((c) => c.arm === arm.name)
      ?.builtFrom?.filter((x) => x.startsWith("single:"))
      .map((x) => x.slice("single:".length));
    const own = (arm as { domains?: unknown }).domains;
    const ds =
      explicit?.[arm.name] ??
      (fromCosts?.length ? fromCosts : undefined) ??
      (Array.isArray(own) && own.every((d) => typeof d === "string") ? (own as string[]) : undefined);
    if (ds?.length) out.set(arm.name, [...new Set(ds)]);
  }
  return out;
}

/**
 * Δ = mean over the tasks both arms have of (arm − reference) mean reward on `domain` (a task's score averages
 * its samples over every seed), with the 95% paired percentile bootstrap CI over tasks.
 */
export function pairedDelta(
  rows: readonly EvalRow[],
  arm: string,
  reference: string,
  domain: string,
  o: { samples: number; seed: number },
): { delta: number; ci: [number, number]; tasks: number } | undefined {
  const x = taskScores(rows, arm, domain);
  const y = taskScores(rows, reference, domain);
  const b = pairedBootstrap(x, y, {
    resamples: o.samples,
    seed: o.seed,
    label: `neighbourhood:${arm}:${reference}:${domain}`,
  });
  if (b.n === 0) return undefined;
  return { delta: b.value, ci: [b.lo, b.hi], tasks: b.n };
}

/** One side of a two-expert merge: the merge of e_A and e_B on A's eval set, against e_A. */
export interface MergeCase {
  merge: string;
  domain: string;
  partner: string;
  expert: string;
  /** Mean over tasks of (merge − expert) reward; null without paired eval rows. */
  delta: number | null;
  ci: [number, number] | null;
  tasks: number;
  /** Is the partner B a neighbour of A? null when its KLs are missing. */
  neighbour: boolean | null;
  /** The neighbourhood's prediction: a neighbour ⇒ "not hurt" (Δ ≥ 0), else "hurt" (Δ < 0). */
  predicted: "not hurt" | "hurt" | null;
  /** Whether Δ's sign matches the prediction; null when either is missing. */
  agrees: boolean | null;
  /** Δ's CI excludes 0. */
  resolved: boolean | null;
}

/** The asymmetry check: both sides of every merge arm built from exactly two experts. */
export function asymmetryCases(
  merges: ReadonlyMap<string, readonly string[]>,
  cells: readonly NeighbourCell[],
  rows: readonly EvalRow[],
  o: { samples?: number; seed: number; expertName?: (domain: string) => string },
): MergeCase[] {
  const expertName = o.expertName ?? ((d: string) => `single:${d}`);
  const out: MergeCase[] = [];
  for (const [merge, ds] of merges) {
    if (ds.length !== 2) continue;
    for (const [a, b] of [
      [ds[0], ds[1]],
      [ds[1], ds[0]],
    ]) {
      const expert = expertName(a);
      const cell = cells.find((c) => c.promptDomain === a && c.expertDomain === b);
      const neighbour = cell?.neighbour ?? null;
      const d = pairedDelta(rows, merge, expert, a, {
        samples: o.samples ?? NEIGHBOURHOOD_DEFAULTS.bootstrapSamples,
        seed: o.seed,
      });
      const predicted = neighbour === null ? null : neighbour ? "not hurt" : "hurt";
      out.push({
        merge,
        domain: a,
        partner: b,
        expert,
        delta: d?.delta ?? null,
        ci: d?.ci ?? null,
        tasks: d?.tasks ?? 0,
        neighbour,
        predicted,
        agrees: d && predicted ? d.delta >= 0 === (predicted === "not hurt") : null,
        resolved: d ? d.ci[0] > 0 || d.ci[1] < 0 : null,
      });
    }
  }
  return out;
}

export const FINDING_FOUR_CLAIM =
  "KL to the base does not predict the performance change; closeness to the domain's expert (the policy neighbourhood) does.";

/** Finding 4's rule, in words. */
export function findingFourRule(factor: number, estimate: NeighbourhoodEstimate): string {
  return `B is a neighbour of A when KL(π_single:B ‖ π_mix) on single:B's samples of A's prompts ≤ ${factor} × KL(π_single:A ‖ π_mix) on single:A's samples of A's prompts (${ESTIMATE_TEXT[estimate]}); a neighbour predicts that merging single:A with single:B does not hurt A (Δ ≥ 0 vs single:A on A's tasks), a non-neighbour that it hurts (Δ < 0). Over both sides of every merge arm built from exactly two experts: yes when the prediction matches the sign of Δ in ≥ 3/4 of ≥ 2 cases, no when it does not; inconclusive when most Δs' 95% bootstrap CIs (over tasks) include 0 or there are fewer than 2 cases; n/a without two-expert merges.`;
}

export const ESTIMATE_TEXT: Record<NeighbourhoodEstimate, string> = {
  sequence: "Monte-Carlo sequence KL: mean over samples of log p(y|x) − log q(y|x)",
  token: "Monte-Carlo KL per token: Σ log p(y|x) − log q(y|x) over samples / Σ tokens",
  exact: "sequence KL as the mean over samples of Σ_t KL(p(·|y<t) ‖ q(·|y<t))",
};

/**
 * Finding 4 decided by the neighbourhood rule (see `findingFourRule`); the correlations of the score change with
 * −KL(expert ‖ arm) and with KL(arm ‖ base) only go into the evidence.
 */
export function findingFour(input: {
  cases: readonly MergeCase[];
  /** Merge arms with known domains (to tell "no two-expert merges" from "no merges"). */
  merges: ReadonlyMap<string, readonly string[]>;
  /** Merge arms whose domains are unknown (named in the n/a evidence). */
  unknownMerges?: readonly string[];
  hasMix: boolean;
  factor: number;
  estimate: NeighbourhoodEstimate;
  correlations?: { neighbourhoodSpearman: number | null; klToBaseSpearman: number | null; points: number };
}): Finding {
  const rule = findingFourRule(input.factor, input.estimate);
  const corr = input.correlations;
  const corrText =
    corr && corr.points > 0
      ? ` Correlations (not deciding): Spearman ρ(score change, −KL(expert‖arm)) = ${fmt(corr.neighbourhoodSpearman)} vs ρ(score change, KL(arm‖base)) = ${fmt(corr.klToBaseSpearman)} over ${corr.points} arm × domain points.`
      : "";
  const na = (why: string): Finding => ({
    id: "4",
    claim: FINDING_FOUR_CLAIM,
    verdict: "n/a",
    rule,
    evidence: `n/a: ${why}.${corrText}`,
  });
  const two = [...input.merges].filter(([, ds]) => ds.length === 2);
  if (!two.length) {
    const known = [...input.merges].map(([m, ds]) => `${m} merges ${ds.length} domain(s)`);
    const unknown = input.unknownMerges?.length
      ? [
          `the domains of ${input.unknownMerges.join(", ")} are unknown (the runner's costs list them as builtFrom; else set prediction option neighbourhood.mergeDomains)`,
        ]
      : [];
    const why = [...known, ...unknown];
    return na(`the run has no two-expert merge arms${why.length ? ` (${why.join("; ")})` : ""}`);
  }
  if (!input.hasMix) return na("the run has no mix arm, so the neighbourhood (KL to π_mix) is undefined");
  const cases = input.cases.filter((c) => c.agrees !== null);
  if (!cases.length) {
    const missing = input.cases
      .map(
        (c) =>
          `${c.merge} on ${c.domain}: ${c.delta === null ? "no paired eval rows vs " + c.expert : "no KL for the pair"}`,
      )
      .join("; ");
    return na(`no two-expert merge case has both a Δ and a neighbourhood prediction (${missing})`);
  }
  const n = cases.length;
  const agree = cases.filter((c) => c.agrees).length;
  const resolved = cases.filter((c) => c.resolved).length;
  const statistics: FindingStatistic[] = [
    {
      name: "share of two-expert-merge Δs whose sign the neighbourhood predicts (yes at ≥ 0.75)",
      value: agree / n,
      threshold: 0.75,
      direction: "above",
    },
    {
      name: "share of those Δs whose 95% CI excludes 0 (inconclusive below 0.5)",
      value: resolved / n,
      threshold: 0.5,
      direction: "above",
    },
  ];
  const verdict = n - resolved > n / 2 || n < 2 ? "inconclusive" : agree / n >= 0.75 ? "yes" : "no";
  const list = cases
    .map(
      (c) =>
        `${c.merge} on ${c.domain}: Δ ${fmt(c.delta! * 100, 1)} pts [${fmt(c.ci![0] * 100, 1)}, ${fmt(c.ci![1] * 100, 1)}] vs ${c.expert}, ${c.partner} ${c.neighbour ? "is" : "is not"} a neighbour → predicted ${c.predicted}, ${c.agrees ? "right" : "wrong"}`,
    )
    .join("; ");
  const skipped = input.cases.length - n;
  return {
    id: "4",
    claim: FINDING_FOUR_CLAIM,
    verdict,
    rule,
    statistics,
    evidence: `${agree}/${n} signs predicted, ${resolved}/${n} Δs with a CI excluding 0${n < 2 ? " (fewer than 2 cases)" : ""}: ${list}.${skipped ? ` ${skipped} case(s) lacked a Δ or KL.` : ""}${corrText}`,
  };
}

function finite(x: number | undefined): number | null {
  return x !== undefined && Number.isFinite(x) ? x : null;
}
