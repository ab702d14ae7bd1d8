/**
 * Prediction behaviour: how arms' next-token distributions differ on each domain's eval prompts.
 *
 * For a sampler arm s and a target arm t on domain d: s samples completions of d's prompts (seeded); on every
 * completion position both policies' full next-token distributions are computed (teacher forcing). Per cell:
 * token-level means over all positions of KL(s‖t), KL(t‖s), JS(s, t) and the entropies, and the Monte-Carlo
 * estimates of KL(s‖t) from the sampled tokens (log p_s(y|x) − log p_t(y|x) per sequence; mean per sequence and
 * per token).
 *
 * Finding 4, the policy neighbourhood: B is a neighbour of A when KL(π_single:B ‖ π_mix) on single:B's samples of
 * A's prompts ≤ factor × KL(π_single:A ‖ π_mix) on single:A's samples of A's prompts (see neighbourhood.ts); its
 * verdict checks that relation against the merges of two experts. Kept alongside: for every arm m and domain d with
 * an expert e_d, closeness = KL(π_{e_d} ‖ π_m) on e_d's samples, distance to base = KL(π_m ‖ π_base) on m's
 * samples, and the correlations (Pearson, Spearman) of the score change (m vs base on d) with −closeness and with
 * the distance to base. Also the entropy profile along the response (10 relative-position bins).
 */
import type {
  Analysis,
  AnalysisContext,
  ArmInput,
  Finding,
  Policy,
  ReportChart,
  ReportTable,
  SequencePair,
} from "@m2rl/core";
import { bool, group, int, num, type OptionsInput, schemaOf, withDefaults } from "@m2rl/core/plugin";
import { Rng } from "@m2rl/core/rng";
import { expertOf, orderArms } from "./arms.ts";
import { finiteOrNull, fmt } from "./format.ts";
import { positionDivergence, sequenceLogRatios } from "./math/divergence.ts";
import { mean, pearson, spearman } from "./math/stats.ts";
import {
  asymmetryCases,
  ESTIMATE_TEXT,
  findingFour,
  mergeDomainsOf,
  NEIGHBOURHOOD_OPTIONS,
  type NeighbourCell,
  type NeighbourhoodEstimate,
  neighbourhoodMatrix,
  neighboursOf,
} from "./neighbourhood.ts";
import { heatmap, lines, scatter } from "./report/charts.ts";
import { cellOf, scoreTable } from "./scores.ts";

/** Next-token logits at every completion position: result[i][t] predicts completionIds[t] of pair i. */
export interface NextTokenModel {
  completionLogits(pairs: readonly SequencePair[]): Promise<Float32Array[][]>;
}

/** Optional extension a Policy implementation may offer: all positions' logits in one pass. */
interface CompletionLogitsCapable {
  completionLogits(pairs: readonly SequencePair[]): Promise<Float32Array[][]>;
}

/** True when the policy computes every completion position's logits itself (one forward pass per pair). */
function hasCompletionLogits(policy: Policy): policy is Policy & CompletionLogitsCapable {
  return typeof (policy as Policy & Partial<CompletionLogitsCapable>).completionLogits === "function";
}

/**
 * A NextTokenModel over any Policy. Uses the policy's own `completionLogits` when it has one; else `lastLogits`
 * on every prefix (prompt + completion[:t]) in batches of `batch` (one forward pass per prefix: fine for small
 * models and short completions, which is what this analysis is for).
 */
export function nextTokenModel(policy: Policy, batch = 32): NextTokenModel {
  if (hasCompletionLogits(policy)) return { completionLogits: (p) => policy.completionLogits(p) };
  return {
    async completionLogits(pairs) {
      const prefixes: { i: number; t: number; ids: number[] }[] = [];
      pairs.forEach((p, i) => {
        for (let t = 0; t < p.completionIds.length; t++)
          prefixes.push({ i, t, ids: [...p.promptIds, ...p.completionIds.slice(0, t)] });
      });
      const out = pairs.map((p) => new Array<Float32Array>(p.completionIds.length));
      for (let k = 0; k < prefixes.length; k += batch) {
        const chunk = prefixes.slice(k, k + batch);
        const logits = policy.lastLogits(chunk.map((c) => c.ids));
        try {
          const data = (await logits.data()) as Float32Array;
          const v = logits.shape[1];
          for (let j = 0; j < chunk.length; j++) out[chunk[j].i][chunk[j].t] = data.slice(j * v, (j + 1) * v);
        } finally {
          logits.dispose();
        }
      }
      return out;
    },
  };
}

export interface DivergenceCell {
  sampler: string;
  target: string;
  domain: string;
  /** Token-level means over all completion positions of the sampler's samples. */
  klSamplerTarget: number;
  klTargetSampler: number;
  js: number;
  entropySampler: number;
  entropyTarget: number;
  tokens: number;
  meanResponseLength: number;
  /** Sampled sequences (with at least one completion token). */
  sequences?: number;
  /** Monte-Carlo KL(s‖t): mean over sequences of log p_s(y|x) − log p_t(y|x). */
  klMcSequence?: number;
  /** Monte-Carlo KL(s‖t) per token: Σ over sequences of that log ratio / Σ tokens. */
  klMcToken?: number;
  /** Sequence KL(s‖t) as the mean over sequences of Σ_t KL(s(·|y<t) ‖ t(·|y<t)) (exact per position). */
  klSequenceExact?: number;
}

/** The prediction analysis's options, declared once: the type, the defaults and the analysis's JSON Schema. */
export const PREDICTION_OPTIONS = group("Options of the prediction analysis.", {
  promptsPerDomain: int("Eval prompts per domain sampled from (default 8).", 8, 1),
  samplesPerPrompt: int("Completions sampled per prompt and sampler arm (default 1).", 1, 1),
  maxNewTokens: int("Tokens per sampled completion (default 48).", 48, 1),
  temperature: num(
    "Sampling temperature (default 1; the Monte-Carlo KLs assume samples at temperature 1).",
    1,
    { exclusiveMinimum: 0 },
  ),
  allPairs: bool(
    "Divergences between every ordered pair of arms (default false: the pairs the neighbourhood test needs, plus expert × mix).",
    false,
  ),
  batch: int(
    "Prefixes per forward pass when a policy has no completionLogits of its own (one pass per token; default 32).",
    32,
    1,
  ),
  neighbourhood: NEIGHBOURHOOD_OPTIONS,
});

/** Prediction options as given (every key optional). */
export type PredictionOptions = OptionsInput<typeof PREDICTION_OPTIONS>;

interface Samples {
  pairs: SequencePair[];
  /** The sampler's own logits at every position (kept: reused against every target). */
  logits: Float32Array[][];
}

/**
 * Divergence statistics of `sampler`'s samples against a target's logits: token-level means over positions and,
 * with the sampled `completionIds`, the Monte-Carlo KL estimates from the sampled tokens.
 */
export function divergenceOnSamples(
  samplerLogits: Float32Array[][],
  targetLogits: Float32Array[][],
  completionIds?: readonly (readonly number[])[],
): Omit<DivergenceCell, "sampler" | "target" | "domain" | "meanResponseLength"> {
  let kl1 = 0;
  let kl2 = 0;
  let js = 0;
  let h1 = 0;
  let h2 = 0;
  let n = 0;
  for (let i = 0; i < samplerLogits.length; i++) {
    for (let t = 0; t < samplerLogits[i].length; t++) {
      const d = positionDivergence(samplerLogits[i][t], targetLogits[i][t]);
      kl1 += d.klPQ;
      kl2 += d.klQP;
      js += d.js;
      h1 += d.entropyP;
      h2 += d.entropyQ;
      n++;
    }
  }
  const m = (x: number) => (n ? x / n : Number.NaN);
  const out = {
    klSamplerTarget: m(kl1),
    klTargetSampler: m(kl2),
    js: m(js),
    entropySampler: m(h1),
    entropyTarget: m(h2),
    tokens: n,
  };
  if (!completionIds) return out;
  const ratios = sequenceLogRatios(samplerLogits, targetLogits, completionIds);
  const seqs = samplerLogits.length;
  return {
    ...out,
    sequences: seqs,
    klMcSequence: seqs ? mean(ratios) : Number.NaN,
    klMcToken: n ? ratios.reduce((a, b) => a + b, 0) / n : Number.NaN,
    klSequenceExact: seqs ? kl1 / seqs : Number.NaN,
  };
}

/** The KL estimate a neighbourhood option names, from a cell. */
export function cellKl(c: DivergenceCell, estimate: NeighbourhoodEstimate): number | undefined {
  return estimate === "sequence" ? c.klMcSequence : estimate === "token" ? c.klMcToken : c.klSequenceExact;
}

/** Mean entropy per relative-position bin (position t of a length-T response falls in bin ⌊bins·t/T⌋). */
export function entropyProfile(logits: Float32Array[][], bins = 10): (number | null)[] {
  const sum = new Array(bins).fill(0);
  const cnt = new Array(bins).fill(0);
  for (const seq of logits) {
    for (let t = 0; t < seq.length; t++) {
      const b = Math.min(bins - 1, Math.floor((bins * t) / seq.length));
      sum[b] += positionDivergence(seq[t], seq[t]).entropyP;
      cnt[b]++;
    }
  }
  return sum.map((s, i) => (cnt[i] ? s / cnt[i] : null));
}

export const prediction: Analysis<PredictionOptions> = {
  name: "prediction",
  description:
    "Token-level KL (both directions), JS and entropy between arms' next-token distributions on sampled completions of each domain's eval prompts; the policy-neighbourhood test; entropy along the response.",
  after: ["scores"],
  optionsSchema: schemaOf(PREDICTION_OPTIONS),
  applicable(ctx) {
    if (!ctx.prompts?.length) return "needs eval prompts";
    if (!ctx.base?.loadPolicy) return "needs the base policy";
    if (!ctx.arms.some((a) => a.loadPolicy)) return "needs arm policies";
    return true;
  },
  async run(ctx, options) {
    return runPrediction(ctx, options);
  },
};

export async function runPrediction(ctx: AnalysisContext, given: PredictionOptions) {
  const options = withDefaults(PREDICTION_OPTIONS, given);
  const log = ctx.log ?? (() => {});
  const promptsPer = options.promptsPerDomain;
  const samplesPer = options.samplesPerPrompt;
  const arms = orderArms(ctx.arms.filter((a) => a.loadPolicy));
  const base = ctx.base!;
  const all: ArmInput[] = [base, ...arms.filter((a) => a.name !== base.name)];
  const domains = [...new Set((ctx.prompts ?? []).map((p) => p.domain))].sort();
  const mix = arms.find((a) => a.kind === "mix");

  // Which (sampler, target) pairs each domain needs.
  const needed = new Map<string, Set<string>>(); // domain → "s\0t"
  const need = (d: string, s: string, t: string) => {
    if (s === t) return;
    if (!needed.has(d)) needed.set(d, new Set());
    needed.get(d)!.add(`${s}\u0000${t}`);
  };
  for (const d of domains) {
    const e = expertOf(arms, d);
    for (const m of all) {
      if (m.name !== base.name) need(d, m.name, base.name); // KL(m ‖ base) on m's samples
      if (e) need(d, e.name, m.name); // KL(e_d ‖ m) on e_d's samples
    }
    if (mix) for (const x of arms.filter((a) => a.kind === "single")) need(d, x.name, mix.name); // the paper's KL matrix
    if (options.allPairs) for (const s of all) for (const t of all) need(d, s.name, t.name);
  }

  const policies = new Map<string, Policy>();
  const cells: DivergenceCell[] = [];
  const profiles: { arm: string; domain: string; profile: (number | null)[] }[] = [];
  try {
    for (const a of all) policies.set(a.name, await a.loadPolicy!());
    const models = new Map([...policies].map(([n, p]) => [n, nextTokenModel(p, options.batch)]));
    for (const d of domains) {
      const prompts = (ctx.prompts ?? []).filter((p) => p.domain === d).slice(0, promptsPer);
      const pairs = [...(needed.get(d) ?? [])].map((k) => k.split("\u0000") as [string, string]);
      const samplers = [...new Set(pairs.map(([s]) => s))];
      for (const s of samplers) {
        const policy = policies.get(s)!;
        const promptIds = prompts.flatMap((p) =>
          Array.from({ length: samplesPer }, () => policy.tokenizer.encode(p.prompt)),
        );
        const seed = Rng.derive(ctx.seed, `prediction:${s}:${d}`).nextUint32();
        log(`prediction: ${s} samples ${promptIds.length} completions on ${d}`);
        const gens = await policy.generate(promptIds, {
          temperature: options.temperature,
          maxNewTokens: options.maxNewTokens,
          seed,
        });
        const seqs: SequencePair[] = gens
          .map((g, i) => ({ promptIds: promptIds[i], completionIds: g.ids }))
          .filter((p) => p.completionIds.length > 0);
        const samples: Samples = { pairs: seqs, logits: await models.get(s)!.completionLogits(seqs) };
        profiles.push({ arm: s, domain: d, profile: entropyProfile(samples.logits) });
        for (const [, t] of pairs.filter(([x]) => x === s)) {
          const tl = await models.get(t)!.completionLogits(seqs);
          cells.push({
            sampler: s,
            target: t,
            domain: d,
            ...divergenceOnSamples(
              samples.logits,
              tl,
              seqs.map((q) => q.completionIds),
            ),
            meanResponseLength: mean(seqs.map((q) => q.completionIds.length)),
          });
        }
      }
    }
  } finally {
    for (const p of policies.values()) p.dispose();
  }
  const result = predictionResult(ctx, cells, profiles, base.name, options);
  if (options.temperature !== 1)
    result.notes.push(
      `samples were drawn at temperature ${options.temperature}: the Monte-Carlo KLs assume samples from the policy itself (temperature 1), so the neighbourhood reads biased estimates`,
    );
  return result;
}

/** Neighbourhood correlations and the report pieces, from divergence cells (pure; tested with hand cells). */
export function predictionResult(
  ctx: Pick<AnalysisContext, "arms" | "evalRows" | "base" | "costs"> & { seed?: number },
  cells: DivergenceCell[],
  profiles: { arm: string; domain: string; profile: (number | null)[] }[],
  baseName: string,
  options: Pick<PredictionOptions, "neighbourhood"> = {},
) {
  const arms = orderArms(ctx.arms);
  const domains = [...new Set(cells.map((c) => c.domain))].sort();
  const find = (s: string, t: string, d: string) =>
    cells.find((c) => c.sampler === s && c.target === t && c.domain === d);
  const st = ctx.evalRows?.length ? scoreTable(ctx.evalRows, ctx) : undefined;
  const mixName = arms.find((a) => a.kind === "mix")?.name;
  const singles = arms.filter((a) => a.kind === "single" && a.domain !== undefined);
  const ref = st?.reference ?? baseName;

  // Neighbourhood points: (arm m, domain d).
  const points: { arm: string; domain: string; delta: number; closeness: number; klToBase: number }[] = [];
  for (const d of domains) {
    const e = expertOf(arms, d);
    if (!e) continue;
    for (const m of arms) {
      const close = m.name === e.name ? 0 : find(e.name, m.name, d)?.klSamplerTarget;
      const kb = find(m.name, baseName, d)?.klSamplerTarget;
      const sc = st ? cellOf(st, m.name, d)?.avg : undefined;
      const sr = st ? cellOf(st, ref, d)?.avg : undefined;
      if (close === undefined || kb === undefined || sc === undefined || sr === undefined) continue;
      points.push({ arm: m.name, domain: d, delta: sc - sr, closeness: close, klToBase: kb });
    }
  }
  const dy = points.map((p) => p.delta);
  const corr = {
    points: points.length,
    neighbourhoodPearson: finiteOrNull(
      pearson(
        dy,
        points.map((p) => -p.closeness),
      ),
    ),
    neighbourhoodSpearman: finiteOrNull(
      spearman(
        dy,
        points.map((p) => -p.closeness),
      ),
    ),
    klToBasePearson: finiteOrNull(
      pearson(
        dy,
        points.map((p) => p.klToBase),
      ),
    ),
    klToBaseSpearman: finiteOrNull(
      spearman(
        dy,
        points.map((p) => p.klToBase),
      ),
    ),
  };

  const tables: ReportTable[] = [
    {
      title: "Token-level divergences on the sampler's completions",
      columns: [
        "domain",
        "sampler",
        "target",
        "KL(s‖t)",
        "KL(t‖s)",
        "JS",
        "H(s)",
        "H(t)",
        "tokens",
        "mean length",
      ],
      rows: cells.map((c) => [
        c.domain,
        c.sampler,
        c.target,
        fmt(c.klSamplerTarget, 4),
        fmt(c.klTargetSampler, 4),
        fmt(c.js, 4),
        fmt(c.entropySampler),
        fmt(c.entropyTarget),
        c.tokens,
        fmt(c.meanResponseLength, 1),
      ]),
      caption:
        "Means over every completion position, in nats. s samples; both policies score the same tokens.",
      collapsed: true,
    },
  ];
  if (points.length) {
    tables.push({
      title: "Policy neighbourhood vs KL to base",
      columns: ["", "Pearson", "Spearman", "points"],
      rows: [
        [
          "score change vs −KL(expert ‖ arm) (neighbourhood)",
          fmt(corr.neighbourhoodPearson),
          fmt(corr.neighbourhoodSpearman),
          corr.points,
        ],
        [
          "score change vs KL(arm ‖ base)",
          fmt(corr.klToBasePearson),
          fmt(corr.klToBaseSpearman),
          corr.points,
        ],
      ],
      caption: `Each point: an arm on a domain that has a single-task expert. Score change: Avg@K − ${ref}'s Avg@K.`,
    });
  }
  const charts: ReportChart[] = [];
  if (mixName && singles.length) {
    charts.push({
      title: "KL(expert ‖ mix) per domain's prompts",
      spec: heatmap(
        `KL(expert ‖ ${mixName}) on each domain's prompts`,
        singles.flatMap((e) =>
          domains.map((d) => ({
            row: e.name,
            col: d,
            value: finiteOrNull(find(e.name, mixName, d)?.klSamplerTarget ?? Number.NaN),
          })),
        ),
        { format: ".3f" },
      ),
      caption:
        "The paper's KL cross-comparison: rows = single-domain experts, columns = the domain whose prompts are used.",
    });
  }
  if (points.length) {
    charts.push({
      title: "Neighbourhood: score change vs closeness to the expert",
      spec: scatter(
        "Score change vs KL(expert ‖ arm)",
        points.map((p) => ({
          x: p.closeness,
          y: p.delta,
          series: p.domain,
          label: `${p.arm} on ${p.domain}`,
        })),
        { xTitle: "KL(expert of the domain ‖ arm)", yTitle: "Avg@K change vs base", trend: true },
      ),
    });
    charts.push({
      title: "Score change vs KL to base",
      spec: scatter(
        "Score change vs KL(arm ‖ base)",
        points.map((p) => ({
          x: p.klToBase,
          y: p.delta,
          series: p.domain,
          label: `${p.arm} on ${p.domain}`,
        })),
        { xTitle: "KL(arm ‖ base)", yTitle: "Avg@K change vs base", trend: true },
      ),
    });
  }
  if (profiles.length) {
    charts.push({
      title: "Entropy along the response",
      spec: lines(
        "Next-token entropy along the response (own samples)",
        profiles.flatMap((p) =>
          p.profile.map((y, i) => ({ x: (i + 0.5) / p.profile.length, y, series: p.arm, facet: p.domain })),
        ),
        { xTitle: "relative position in the response", yTitle: "entropy (nats)" },
      ),
    });
  }
  // Finding 4: the neighbourhood matrix over the experts, and the two-expert merges it should predict.
  const nb = withDefaults(NEIGHBOURHOOD_OPTIONS, options.neighbourhood);
  const expertDomains = singles.map((e) => e.domain!).filter((d) => d !== undefined);
  const matrix: NeighbourCell[] = mixName
    ? neighbourhoodMatrix(
        expertDomains.filter((d) => domains.includes(d)),
        expertDomains,
        (a, b) => {
          const c = find(expertOf(arms, b)!.name, mixName, a);
          return c ? cellKl(c, nb.estimate) : undefined;
        },
        nb.factor,
      )
    : [];
  const merges = mergeDomainsOf(arms, ctx.costs, nb.mergeDomains);
  const unknownMerges = arms.filter((a) => a.kind === "merge" && !merges.has(a.name)).map((a) => a.name);
  const cases = asymmetryCases(merges, matrix, ctx.evalRows ?? [], {
    samples: nb.bootstrapSamples,
    seed: ctx.seed ?? 0,
    expertName: (d) => expertOf(arms, d)?.name ?? `single:${d}`,
  });
  const finding4 = findingFour({
    cases,
    merges,
    unknownMerges,
    hasMix: mixName !== undefined,
    factor: nb.factor,
    estimate: nb.estimate,
    correlations: corr,
  });
  const neighbours = Object.fromEntries(neighboursOf(matrix));
  if (matrix.length) {
    const rowsA = [...new Set(matrix.map((c) => c.promptDomain))];
    tables.push({
      title: "Policy neighbourhood (finding 4)",
      columns: [
        "prompts of A",
        "KL_AA (own expert)",
        `threshold (${nb.factor} × KL_AA)`,
        ...expertDomains.map((b) => `KL_AB, B = ${b}`),
        "neighbours of A",
      ],
      rows: rowsA.map((a) => {
        const row = matrix.filter((c) => c.promptDomain === a);
        return [
          a,
          fmt(row[0].reference, 4),
          fmt(row[0].threshold, 4),
          ...expertDomains.map((b) => {
            const c = row.find((x) => x.expertDomain === b)!;
            return c.kl === null ? null : `${fmt(c.kl, 4)}${c.neighbour && b !== a ? " ✓" : ""}`;
          }),
          (neighbours[a] ?? []).join(", ") || "none",
        ];
      }),
      caption: `KL_AB = KL(π_single:B ‖ π_${mixName}) on single:B's samples of A's prompts (${ESTIMATE_TEXT[nb.estimate]}; nats). B is a neighbour of A (✓) when KL_AB ≤ ${nb.factor} × KL_AA (estimates below 0 read as 0). Not symmetric: each row is measured on A's prompts against A's own expert.`,
    });
  }
  if (cases.length) {
    tables.push({
      title: "Two-expert merges vs the neighbourhood (finding 4)",
      columns: [
        "merge",
        "domain A",
        "partner B",
        "Δ vs expert A (pts)",
        "95% CI",
        "tasks",
        "B neighbour of A",
        "predicted",
        "right",
      ],
      rows: cases.map((c) => [
        c.merge,
        c.domain,
        c.partner,
        c.delta === null ? null : fmt(c.delta * 100, 1),
        c.ci ? `[${fmt(c.ci[0] * 100, 1)}, ${fmt(c.ci[1] * 100, 1)}]` : null,
        c.tasks,
        c.neighbour,
        c.predicted,
        c.agrees,
      ]),
      caption: `Δ = mean over tasks of (merge − expert A) mean reward on A's eval tasks, paired by task; 95% CI: percentile bootstrap over tasks (${nb.bootstrapSamples} resamples, seeded). Predicted: B a neighbour of A ⇒ the merge does not hurt A (Δ ≥ 0); otherwise it hurts (Δ < 0).`,
    });
  }
  if (mixName && matrix.length) {
    charts.push({
      title: "Policy neighbourhood: KL_AB / threshold",
      spec: heatmap(
        `KL(π_single:B ‖ π_${mixName}) / (${nb.factor} × KL_AA); ≤ 1 = neighbour`,
        matrix.map((c) => ({
          row: c.promptDomain,
          col: c.expertDomain,
          value:
            c.kl === null || c.threshold === null || c.threshold === 0
              ? null
              : finiteOrNull(Math.max(c.kl, 0) / c.threshold),
        })),
        { format: ".2f" },
      ),
      caption: "Rows: prompt domain A; columns: expert domain B. A cell ≤ 1 means B is a neighbour of A.",
    });
  }

  return {
    analysis: "prediction",
    summary: {
      ...corr,
      neighbourhood: {
        factor: nb.factor,
        estimate: nb.estimate,
        neighbours,
        twoExpertMergeCases: cases.length,
        verdict: finding4.verdict,
      },
    },
    tables,
    charts,
    findings: [finding4] as Finding[],
    notes: [] as string[],
    data: {
      cells,
      neighbourhood: points,
      correlations: corr,
      entropyProfiles: profiles,
      neighbourhoodMatrix: matrix,
      twoExpertMerges: Object.fromEntries(merges),
      mergeCases: cases,
    },
  };
}
