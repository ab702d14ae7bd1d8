/**
 * Prediction behaviour: how arms' next-token distributions differ on each domain's eval prompts.
 *
 * For a sampler arm s and a target arm t on domain d: s samples completions of d's prompts (seeded); on every
 * completion position both policies' full next-token distributions are computed (teacher forcing) and averaged
 * over all positions: KL(s‖t), KL(t‖s), JS(s, t), entropies. The "policy neighbourhood" test (PAPER.md): for
 * every arm m and domain d with an expert e_d, closeness = KL(π_{e_d} ‖ π_m) on e_d's samples, distance to base =
 * KL(π_m ‖ π_base) on m's samples; correlations of the score change (m vs base on d) with −closeness and with the
 * distance to base, Pearson and Spearman. Also the entropy profile along the response (10 relative-position bins).
 */
import type { Analysis, AnalysisContext, ArmInput, Finding, Policy, SequencePair } from "@m2rl/core";
import { Rng } from "@m2rl/core";
import { expertOf, orderArms } from "./arms.ts";
import { finiteOrNull, fmt } from "./format.ts";
import { positionDivergence } from "./math/divergence.ts";
import { mean, pearson, spearman } from "./math/stats.ts";
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

/**
 * A NextTokenModel over any Policy. Uses the policy's own `completionLogits` when it has one; else `lastLogits`
 * on every prefix (prompt + completion[:t]) in batches of `batch` (one forward pass per prefix: fine for small
 * models and short completions, which is what this analysis is for).
 */
export function nextTokenModel(policy: Policy, batch = 32): NextTokenModel {
  const ext = policy as unknown as Partial<CompletionLogitsCapable>;
  if (typeof ext.completionLogits === "function")
    return { completionLogits: (p) => ext.completionLogits!.call(policy, p) };
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
}

export interface PredictionOptions {
  promptsPerDomain?: number;
  samplesPerPrompt?: number;
  maxNewTokens?: number;
  temperature?: number;
  /** Divergences between every ordered pair of arms (default: only the pairs the neighbourhood test needs, plus expert × mix). */
  allPairs?: boolean;
  batch?: number;
}

interface Samples {
  pairs: SequencePair[];
  /** The sampler's own logits at every position (kept: reused against every target). */
  logits: Float32Array[][];
}

/** Token-level divergence statistics of `sampler`'s samples against a target's logits. */
export function divergenceOnSamples(samplerLogits: Float32Array[][], targetLogits: Float32Array[][]) {
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
  return {
    klSamplerTarget: m(kl1),
    klTargetSampler: m(kl2),
    js: m(js),
    entropySampler: m(h1),
    entropyTarget: m(h2),
    tokens: n,
  };
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
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      promptsPerDomain: { type: "integer", minimum: 1, default: 8 },
      samplesPerPrompt: { type: "integer", minimum: 1, default: 1 },
      maxNewTokens: { type: "integer", minimum: 1, default: 48 },
      temperature: { type: "number", exclusiveMinimum: 0, default: 1 },
      allPairs: { type: "boolean", default: false },
      batch: { type: "integer", minimum: 1, default: 32 },
    },
  },
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

export async function runPrediction(ctx: AnalysisContext, options: PredictionOptions) {
  const log = ctx.log ?? (() => {});
  const promptsPer = options.promptsPerDomain ?? 8;
  const samplesPer = options.samplesPerPrompt ?? 1;
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
          temperature: options.temperature ?? 1,
          maxNewTokens: options.maxNewTokens ?? 48,
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
            ...divergenceOnSamples(samples.logits, tl),
            meanResponseLength: mean(seqs.map((q) => q.completionIds.length)),
          });
        }
      }
    }
  } finally {
    for (const p of policies.values()) p.dispose();
  }
  return predictionResult(ctx, cells, profiles, base.name);
}

/** Neighbourhood correlations and the report pieces, from divergence cells (pure; tested with hand cells). */
export function predictionResult(
  ctx: Pick<AnalysisContext, "arms" | "evalRows" | "base">,
  cells: DivergenceCell[],
  profiles: { arm: string; domain: string; profile: (number | null)[] }[],
  baseName: string,
) {
  const arms = orderArms(ctx.arms);
  const domains = [...new Set(cells.map((c) => c.domain))].sort();
  const find = (s: string, t: string, d: string) =>
    cells.find((c) => c.sampler === s && c.target === t && c.domain === d);
  const st = ctx.evalRows?.length ? scoreTable(ctx.evalRows, ctx) : undefined;
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

  const tables = [
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
    } as (typeof tables)[number]);
  }
  const charts = [];
  const mixName = arms.find((a) => a.kind === "mix")?.name;
  const singles = arms.filter((a) => a.kind === "single");
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
  const findings: Finding[] = [];
  if (corr.neighbourhoodSpearman !== null && corr.klToBaseSpearman !== null) {
    findings.push({
      id: "4",
      claim:
        "KL to the base does not predict the performance change; closeness to the domain's expert (neighbourhood) does.",
      verdict: corr.neighbourhoodSpearman > Math.abs(corr.klToBaseSpearman) ? "yes" : "no",
      rule: "yes when ρ(score change, −KL(expert‖arm)) exceeds |ρ(score change, KL(arm‖base))|.",
      evidence: `Spearman ρ(score change, −KL(expert‖arm)) = ${fmt(corr.neighbourhoodSpearman)} vs ρ(score change, KL(arm‖base)) = ${fmt(corr.klToBaseSpearman)} over ${corr.points} arm × domain points.`,
    });
  }
  return {
    analysis: "prediction",
    summary: corr,
    tables,
    charts,
    findings,
    data: { cells, neighbourhood: points, correlations: corr, entropyProfiles: profiles },
  };
}
