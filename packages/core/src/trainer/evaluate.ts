/**
 * Evaluation of a policy on the eval split of each domain: greedy (temperature 0, one sample per task) or
 * sampled (n samples per task): accuracy (Avg@n: mean over samples of status `correct`), mean reward, unbiased
 * pass@k, status counts and mean response length, per domain.
 */
import type { Domain, Task, Verification, VerificationStatus } from "../domain/types.ts";
import { VERIFICATION_STATUSES } from "../domain/types.ts";
import type { Generation, Policy } from "../policy/types.ts";
import { passAtK } from "./pass-at-k.ts";
import { mapConcurrent } from "./yield.ts";

export interface EvalOptions {
  /** "greedy": temperature 0 and one sample per task; "sampled": `samples` per task at `temperature`. */
  mode: "greedy" | "sampled";
  /** Samples per task in sampled mode (n of pass@k). Default 4. */
  samples: number;
  /** The k of pass@k (values above n are skipped). Default [1]. */
  k: number[];
  /** Default 1.0 (the paper evaluates at temperature 1.0). */
  temperature: number;
  /** Default 0.7 (the paper evaluates at top-p 0.7). */
  topP: number;
  maxNewTokens: number;
  stop?: string[];
  /** Seed of the sampling. */
  seed: number;
  /**
   * Seed of the eval task draw (default: `seed`). Keep it fixed across runs that differ only in their seed, so that
   * every run is scored on the same tasks and scores pair task by task.
   */
  taskSeed?: number;
  /** Eval tasks per domain (undefined: the domain's default). */
  count?: number;
  /** Sequences per generate call. Default 64. */
  batchSize: number;
  /** Verifications in flight at once. Default 64. */
  verifyConcurrency: number;
  /** Called for every sample (the CLI writes one eval row per sample for the analyses). */
  onSample?: (sample: EvalSample) => void;
}

/** One generated and verified eval sample. */
export interface EvalSample {
  task: Task;
  sampleIndex: number;
  generation: Generation;
  verification: Verification;
}

export const DEFAULT_EVAL: EvalOptions = {
  mode: "greedy",
  samples: 4,
  k: [1],
  temperature: 1,
  topP: 0.7,
  maxNewTokens: 256,
  seed: 0,
  batchSize: 64,
  verifyConcurrency: 64,
};

export interface DomainEval {
  domain: string;
  tasks: number;
  samples: number;
  accuracy: number;
  meanReward: number;
  passAtK: Record<string, number>;
  statusCounts: Record<VerificationStatus, number>;
  meanResponseTokens: number;
}

export interface EvalResult {
  mode: "greedy" | "sampled";
  domains: DomainEval[];
  /** Unweighted mean of the domains' accuracies. */
  meanAccuracy: number;
}

export function emptyStatusCounts(): Record<VerificationStatus, number> {
  return Object.fromEntries(VERIFICATION_STATUSES.map((s) => [s, 0])) as Record<VerificationStatus, number>;
}

/** Evaluates `policy` on each domain's eval split (or the given tasks). */
export async function evaluatePolicy(
  policy: Policy,
  domains: readonly Domain[],
  options: Partial<EvalOptions> = {},
  tasksByDomain?: ReadonlyMap<string, readonly Task[]>,
): Promise<EvalResult> {
  const o = { ...DEFAULT_EVAL, ...options };
  const n = o.mode === "greedy" ? 1 : o.samples;
  const out: DomainEval[] = [];
  for (const domain of domains) {
    const tasks =
      tasksByDomain?.get(domain.name) ??
      (await domain.tasks({ split: "eval", seed: o.taskSeed ?? o.seed, count: o.count }));
    const statusCounts = emptyStatusCounts();
    let correct = 0;
    let reward = 0;
    let tokens = 0;
    const passSums: Record<string, number> = {};
    const ks = o.k.filter((k) => k <= n);
    for (const k of ks) passSums[k] = 0;
    const perPrompt = Math.max(1, Math.floor(o.batchSize / n));
    for (let start = 0; start < tasks.length; start += perPrompt) {
      const chunk = tasks.slice(start, start + perPrompt);
      const prompts: number[][] = [];
      for (const t of chunk) {
        const ids = policy.tokenizer.encode(t.prompt);
        for (let s = 0; s < n; s++) prompts.push(ids);
      }
      const gens = await policy.generate(prompts, {
        temperature: o.mode === "greedy" ? 0 : o.temperature,
        topP: o.mode === "greedy" ? undefined : o.topP,
        maxNewTokens: o.maxNewTokens,
        stop: o.stop,
        seed: (o.seed + start * 7919) >>> 0,
      });
      const verdicts = await mapConcurrent(gens, o.verifyConcurrency, (g, j) => {
        const task = chunk[Math.floor(j / n)];
        return domain
          .verify({ response: g.text, groundTruth: task.groundTruth, task })
          .catch((err: unknown) => ({
            reward: 0,
            status: "error" as const,
            detail: `verifier threw: ${(err as Error)?.message ?? String(err)}`,
          }));
      });
      for (let i = 0; i < chunk.length; i++) {
        let c = 0;
        for (let s = 0; s < n; s++) {
          const g = gens[i * n + s];
          const v = verdicts[i * n + s];
          o.onSample?.({ task: chunk[i], sampleIndex: s, generation: g, verification: v });
          statusCounts[v.status]++;
          reward += v.reward;
          tokens += g.ids.length;
          if (v.status === "correct") c++;
        }
        correct += c;
        for (const k of ks) passSums[k] += passAtK(n, c, k);
      }
    }
    const total = tasks.length * n;
    const passAt: Record<string, number> = {};
    for (const k of ks) passAt[k] = tasks.length ? passSums[k] / tasks.length : 0;
    out.push({
      domain: domain.name,
      tasks: tasks.length,
      samples: n,
      accuracy: total ? correct / total : 0,
      meanReward: total ? reward / total : 0,
      passAtK: passAt,
      statusCounts,
      meanResponseTokens: total ? tokens / total : 0,
    });
  }
  const meanAccuracy = out.length ? out.reduce((a, d) => a + d.accuracy, 0) / out.length : 0;
  return { mode: o.mode, domains: out, meanAccuracy };
}
