/** Log-probabilities of sampled completions under a policy, outside any gradient scope (old, reference, teacher). */
import type { Policy } from "../../policy/types.ts";
import type { Sample } from "../types.ts";

export interface ScoreOptions {
  /** Sequences per forward pass (0: all at once). */
  microBatchSize: number;
  /** The sampling temperature the log-probs are taken at. */
  temperature: number;
}

/** Per-sample log-probs of each completion token under `policy`. */
export function scoreCompletions(policy: Policy, samples: readonly Sample[], o: ScoreOptions): number[][] {
  const out: number[][] = [];
  const chunk = o.microBatchSize > 0 ? o.microBatchSize : samples.length;
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    const pairs = part.map((s) => ({ promptIds: s.promptIds, completionIds: s.generation.ids }));
    const sc = policy.score(pairs, { temperature: o.temperature });
    const data = sc.logprobs.arraySync();
    sc.logprobs.dispose();
    sc.mask.dispose();
    sc.entropy?.dispose();
    part.forEach((s, j) => {
      out.push(data[j].slice(0, s.generation.ids.length));
    });
  }
  return out;
}
