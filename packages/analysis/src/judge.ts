/**
 * Self-judging: the policy grades its own responses (the paper's outcome- vs process-based verification without a
 * trained reward model). The judge prompt shows the task and either only the final answer (`outcome`) or the whole
 * response with its reasoning (`process`), then asks for "yes" or "no"; the verdict is the policy's probability of
 * " yes" against " no" at their first differing token: p(yes) / (p(yes) + p(no)). The evaluator writes it
 * into `EvalRow.judge`, which the information analysis scores against the verifier.
 */
import type { Policy } from "@m2rl/core";
import { logSoftmax } from "./math/divergence.ts";

export type JudgeMode = "outcome" | "process";

export interface JudgeItem {
  prompt: string;
  response: string;
  /** The extracted final answer (outcome mode); the response's last line when absent. */
  extracted?: string;
}

/** The judge prompt for one item. */
export function judgePrompt(item: JudgeItem, mode: JudgeMode): string {
  if (mode === "outcome") {
    const answer = item.extracted ?? item.response.trim().split("\n").pop() ?? "";
    return `${item.prompt}\nProposed final answer: ${answer}\nIs this final answer correct? Answer yes or no.\nAnswer:`;
  }
  return `${item.prompt}\nProposed solution:\n${item.response}\nIs this solution correct, every step included? Answer yes or no.\nAnswer:`;
}

/**
 * Where " yes" and " no" first differ as tokens: the shared prefix (a character tokenizer's " ") is appended to the
 * prompt, and the two differing tokens are compared at the next position.
 */
export function yesNoTokens(
  policy: Policy,
  yesWord: string,
  noWord: string,
): { prefix: number[]; yes: number; no: number } {
  const y = policy.tokenizer.encode(yesWord);
  const n = policy.tokenizer.encode(noWord);
  let c = 0;
  while (c < y.length && c < n.length && y[c] === n[c]) c++;
  if (c >= y.length || c >= n.length) {
    throw new Error(
      `${JSON.stringify(yesWord)} and ${JSON.stringify(noWord)} do not differ in a token; pass other words`,
    );
  }
  return { prefix: y.slice(0, c), yes: y[c], no: n[c] };
}

/** Verdicts in [0, 1] (probability of "yes" among yes/no) for each item, in batches. */
export async function judgeResponses(
  policy: Policy,
  items: readonly JudgeItem[],
  mode: JudgeMode,
  options: { batch?: number; yes?: string; no?: string } = {},
): Promise<number[]> {
  const { prefix, yes, no } = yesNoTokens(policy, options.yes ?? " yes", options.no ?? " no");
  const batch = options.batch ?? 16;
  const out: number[] = [];
  for (let k = 0; k < items.length; k += batch) {
    const chunk = items.slice(k, k + batch);
    const logits = policy.lastLogits(
      chunk.map((it) => [...policy.tokenizer.encode(judgePrompt(it, mode)), ...prefix]),
    );
    try {
      const data = (await logits.data()) as Float32Array;
      const v = logits.shape[1];
      for (let j = 0; j < chunk.length; j++) {
        const lp = logSoftmax(data.subarray(j * v, (j + 1) * v));
        const py = Math.exp(lp[yes]);
        const pn = Math.exp(lp[no]);
        out.push(py + pn > 0 ? py / (py + pn) : 0.5);
      }
    } finally {
      logits.dispose();
    }
  }
  return out;
}
