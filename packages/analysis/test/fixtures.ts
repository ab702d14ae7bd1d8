/** A tiny synthetic run for tests: Llama-layout weights, eval rows, metrics rows and a bigram fake Policy. */
import type {
  AnalysisContext,
  ArmInput,
  EvalRow,
  Generation,
  MetricsRow,
  Policy,
  SamplingOptions,
  SequencePair,
  Tokenizer,
} from "@m2rl/core";
import { Rng } from "@m2rl/core";
import { parseArmName } from "../src/arms.ts";
import { type MemoryTensor, MemoryTensorSource } from "../src/tensors/memory-source.ts";

export const DOMAINS = ["code", "math", "science"] as const;
export const ARMS = [
  "sft",
  "single:code",
  "single:math",
  "single:science",
  "merge:ties",
  "merge:task_arithmetic",
  "mix",
];

function layout(hidden = 16, inter = 32, layers = 2, vocab = 24): [string, number[]][] {
  const out: [string, number[]][] = [["model.embed_tokens.weight", [vocab, hidden]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      [`${p}.input_layernorm.weight`, [hidden]],
      [`${p}.self_attn.q_proj.weight`, [hidden, hidden]],
      [`${p}.self_attn.k_proj.weight`, [hidden / 2, hidden]],
      [`${p}.self_attn.v_proj.weight`, [hidden / 2, hidden]],
      [`${p}.self_attn.o_proj.weight`, [hidden, hidden]],
      [`${p}.post_attention_layernorm.weight`, [hidden]],
      [`${p}.mlp.gate_proj.weight`, [inter, hidden]],
      [`${p}.mlp.up_proj.weight`, [inter, hidden]],
      [`${p}.mlp.down_proj.weight`, [hidden, inter]],
    );
  }
  out.push(["model.norm.weight", [hidden]]);
  return out;
}

/** Base weights plus task vectors: each expert = shared direction + its own; merges and mix combine them. */
export function syntheticWeights(seed = 1): Map<string, Map<string, MemoryTensor>> {
  const rng = new Rng(seed);
  const shapes = layout();
  const base = new Map<string, MemoryTensor>();
  const shared = new Map<string, Float32Array>();
  const own = new Map<string, Map<string, Float32Array>>();
  for (const d of DOMAINS) own.set(d, new Map());
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = name.includes("norm");
    base.set(name, {
      shape,
      data: Float32Array.from({ length: n }, () => (isNorm ? 1 : rng.normal() * 0.05)),
    });
    // sparse-ish updates: ~40% of entries move
    shared.set(
      name,
      Float32Array.from({ length: n }, () => (rng.next() < 0.4 ? rng.normal() * 0.004 : 0)),
    );
    for (const d of DOMAINS)
      own.get(d)!.set(
        name,
        Float32Array.from({ length: n }, () => (rng.next() < 0.3 ? rng.normal() * 0.004 : 0)),
      );
  }
  const arm = (f: (name: string, i: number) => number) =>
    new Map(
      [...base].map(([name, t]) => [name, { shape: t.shape, data: t.data.map((x, i) => x + f(name, i)) }]),
    );
  const tau = (d: string, name: string, i: number) => shared.get(name)![i] + own.get(d)!.get(name)![i];
  const out = new Map<string, Map<string, MemoryTensor>>();
  out.set("sft", base);
  for (const d of DOMAINS)
    out.set(
      `single:${d}`,
      arm((n, i) => tau(d, n, i)),
    );
  out.set(
    "merge:task_arithmetic",
    arm((n, i) => DOMAINS.reduce((s, d) => s + tau(d, n, i), 0)),
  );
  out.set(
    "merge:ties",
    arm((n, i) => {
      const v = DOMAINS.map((d) => tau(d, n, i));
      const sign = Math.sign(v.reduce((a, b) => a + b, 0));
      const agree = v.filter((x) => Math.sign(x) === sign && x !== 0);
      return agree.length ? agree.reduce((a, b) => a + b, 0) / agree.length : 0;
    }),
  );
  out.set(
    "mix",
    arm(
      (n, i) =>
        (0.8 * DOMAINS.reduce((s, d) => s + tau(d, n, i), 0)) / 2 +
        rng.normal() * 0.0005 * +(rng.next() < 0.2),
    ),
  );
  return out;
}

/** Accuracy of each arm per domain (the "truth" the synthetic eval rows are drawn from). */
export const SKILL: Record<string, Record<string, number>> = {
  sft: { code: 0.3, math: 0.35, science: 0.4 },
  "single:code": { code: 0.55, math: 0.4, science: 0.45 },
  "single:math": { code: 0.35, math: 0.6, science: 0.5 },
  "single:science": { code: 0.33, math: 0.45, science: 0.6 },
  "merge:ties": { code: 0.5, math: 0.58, science: 0.57 },
  "merge:task_arithmetic": { code: 0.48, math: 0.55, science: 0.55 },
  mix: { code: 0.56, math: 0.61, science: 0.58 },
};

/** One hand-written eval row (sample 0, status from the reward); `extra` overrides any field (seed, sampleIndex, …). */
export function evalRow(
  arm: string,
  domain: string,
  taskId: string,
  reward: number,
  extra: Partial<EvalRow> = {},
): EvalRow {
  return {
    arm,
    domain,
    taskId,
    sampleIndex: 0,
    reward,
    status: reward >= 1 ? "correct" : "incorrect",
    responseLength: 10,
    truncated: false,
    ...extra,
  };
}

export function syntheticEvalRows(seed = 2, items = 16, samples = 4): EvalRow[] {
  const rng = new Rng(seed);
  const rows: EvalRow[] = [];
  // item difficulty shared by all arms, so that solved sets correlate
  const difficulty = new Map<string, number>();
  for (const d of DOMAINS) for (let i = 0; i < items; i++) difficulty.set(`${d}/${i}`, rng.next() - 0.5);
  for (const arm of ARMS) {
    for (const d of DOMAINS) {
      for (let i = 0; i < items; i++) {
        const p = Math.min(0.98, Math.max(0.02, SKILL[arm][d] - difficulty.get(`${d}/${i}`)!));
        for (let s = 0; s < samples; s++) {
          const ok = rng.next() < p;
          const truncated = !ok && rng.next() < 0.15;
          const status = ok
            ? "correct"
            : truncated
              ? "unparsable"
              : rng.next() < 0.05
                ? "error"
                : "incorrect";
          const len = truncated ? 64 : 12 + rng.int(40);
          rows.push({
            arm,
            domain: d,
            taskId: `${d}-${i}`,
            sampleIndex: s,
            reward: ok ? 1 : 0,
            status,
            responseLength: len,
            truncated,
            maxTokens: 64,
            prompt: `${d} problem ${i}: what is ${i} + ${i * 2}?`,
            response: ok
              ? `<think>add them</think> The answer is ${i * 3}.`
              : `<think>hmm</think> The answer is ${i * 3 + 1}`,
            extracted: ok ? String(i * 3) : String(i * 3 + 1),
            logprob: (ok ? -0.4 : -0.7) * len + rng.normal() * 2,
            stepsChecked: d === "math" ? 2 : undefined,
            stepsCorrect: d === "math" ? (ok && rng.next() < 0.9 ? 2 : 1) : undefined,
            judge: { outcome: ok === rng.next() < 0.7 ? 1 : 0, process: ok === rng.next() < 0.8 ? 1 : 0 },
          });
        }
      }
    }
  }
  return rows;
}

export function syntheticMetrics(seed = 3): Record<string, MetricsRow[]> {
  const rng = new Rng(seed);
  const out: Record<string, MetricsRow[]> = {};
  const runs: [string, string[], number][] = [
    ["single:code", ["code"], 20],
    ["single:math", ["math"], 20],
    ["single:science", ["science"], 20],
    ["mix", [...DOMAINS], 24],
  ];
  for (const [arm, domains, steps] of runs) {
    const rows: MetricsRow[] = [];
    for (let s = 0; s < steps; s++) {
      const rbd = Object.fromEntries(
        domains.map((d) => [d, Math.min(1, 0.3 + 0.3 * (s / steps) + rng.normal() * 0.03)]),
      );
      rows.push({
        step: s,
        arm,
        elapsedSeconds: (s + 1) * 2.5,
        reward: Object.values(rbd).reduce((a, b) => a + b, 0) / domains.length,
        rewardByDomain: rbd,
        statusCounts: Object.fromEntries(
          domains.map((d) => [
            d,
            { correct: 5 + rng.int(4), incorrect: 6, unparsable: rng.int(3), timeout: 0, error: 0 },
          ]),
        ),
        loss: 0.1 * Math.exp(-s / 10) + rng.normal() * 0.005,
        entropy: 1.2 - 0.3 * (s / steps),
        responseLength: 30 + rng.int(10),
        tokensGenerated: 16 * 40,
        tokensTrained: 16 * 70,
        tokensScored: 16 * 70,
      });
    }
    out[arm] = rows;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ fake policy

/** Minimal stand-in for a tf tensor: what the analyses call on lastLogits' result. */
function fakeTensor(rows: Float32Array[], v: number) {
  const data = new Float32Array(rows.length * v);
  for (let i = 0; i < rows.length; i++) data.set(rows[i], i * v);
  return { shape: [rows.length, v], data: async () => data, dataSync: () => data, dispose: () => {} };
}

class ByteTokenizer implements Tokenizer {
  constructor(readonly vocabSize: number) {}
  readonly eosId = 0;
  readonly padId = 0;
  encode(text: string): number[] {
    return [...text].map((c) => 1 + (c.charCodeAt(0) % (this.vocabSize - 1)));
  }
  decode(ids: readonly number[]): string {
    return ids.map((i) => String.fromCharCode(96 + i)).join("");
  }
}

/**
 * A bigram policy: the next-token logits depend only on the previous token, through a V×V table. Enough to test
 * divergences (closed forms per position) and the prediction pipeline without the real engine.
 */
export function bigramPolicy(table: Float32Array[], name = "bigram"): Policy & { name: string } {
  const V = table.length;
  const tokenizer = new ByteTokenizer(V);
  const policy = {
    name,
    tokenizer,
    config: {} as Policy["config"],
    params: new Map(),
    lastLogits(ids: readonly number[][]) {
      return fakeTensor(
        ids.map((r) => table[r[r.length - 1]]),
        V,
      );
    },
    async generate(prompts: readonly number[][], o: SamplingOptions): Promise<Generation[]> {
      const rng = new Rng(o.seed);
      return prompts.map((p) => {
        const ids: number[] = [];
        const logprobs: number[] = [];
        let prev = p[p.length - 1];
        for (let t = 0; t < o.maxNewTokens; t++) {
          const l = table[prev];
          const m = Math.max(...l);
          const w = Array.from(l, (x) => Math.exp((x - m) / o.temperature));
          const z = w.reduce((a, b) => a + b, 0);
          const tok = rng.categorical(w);
          ids.push(tok);
          logprobs.push(Math.log(w[tok] / z));
          prev = tok;
          if (tok === 0) break;
        }
        return {
          promptIds: [...p],
          ids,
          text: tokenizer.decode(ids),
          logprobs,
          finishReason: ids.at(-1) === 0 ? "eos" : "length",
        };
      });
    },
    score(_b: readonly SequencePair[]) {
      throw new Error("not used");
    },
    loadWeights() {},
    exportWeights: () => new Map(),
    dispose() {},
  };
  return policy as unknown as Policy & { name: string };
}

export function randomTable(V: number, seed: number, scale = 1): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: V }, () => Float32Array.from({ length: V }, () => rng.normal() * scale));
}

/** Mixes tables: a·x + (1 − a)·y (a policy "between" two others). */
export function blend(x: Float32Array[], y: Float32Array[], a: number): Float32Array[] {
  return x.map((r, i) => r.map((v, j) => a * v + (1 - a) * y[i][j]));
}

/** The whole synthetic context: weights, eval rows, metrics, prompts, bigram policies. */
export function syntheticContext(): AnalysisContext {
  const weights = syntheticWeights();
  const V = 12;
  const baseT = randomTable(V, 100, 0.5);
  const expertT = Object.fromEntries(
    DOMAINS.map((d, i) => [d, blend(randomTable(V, 200 + i, 1.5), baseT, 0.5)]),
  );
  const tables: Record<string, Float32Array[]> = {
    sft: baseT,
    ...Object.fromEntries(DOMAINS.map((d) => [`single:${d}`, expertT[d]])),
    "merge:ties": blend(blend(expertT.code, expertT.math, 0.5), expertT.science, 0.67),
    "merge:task_arithmetic": blend(blend(expertT.code, expertT.math, 0.5), baseT, 0.8),
    mix: blend(randomTable(V, 300, 1.5), baseT, 0.5),
  };
  const mk = (name: string): ArmInput => {
    const r = parseArmName(name);
    return {
      ...r,
      weights: new MemoryTensorSource(weights.get(name)!, name),
      loadPolicy: async () => bigramPolicy(tables[name], name),
    };
  };
  return {
    base: mk("sft"),
    arms: ARMS.filter((a) => a !== "sft").map(mk),
    evalRows: syntheticEvalRows(),
    metrics: syntheticMetrics(),
    prompts: DOMAINS.flatMap((d) =>
      Array.from({ length: 3 }, (_, i) => ({ domain: d, taskId: `${d}-${i}`, prompt: `${d} ${i}` })),
    ),
    seed: 7,
  };
}
