/**
 * Self-judging: the policy grades its own responses (the paper's outcome- vs process-based verification without a
 * trained reward model). The judge prompt shows the task and either only the final answer (`outcome`) or the whole
 * response with its reasoning (`process`), then asks for "yes" or "no"; the verdict is the policy's probability of
 * " yes" against " no" at their first differing token: p(yes) / (p(yes) + p(no)). `m2rl run` writes it into
 * `EvalRow.judge`, which the information analysis scores against the verifier.
 *
 * Two prompt styles: `instruction` (a sentence an instruction-tuned model understands) and `compact` (short enough
 * for the built-in char-level policy's context, whose SFT learns the format from `judgeSftTasks`).
 */
import type { Domain, Policy, Task } from "@m2rl/core";
import { mapConcurrent } from "@m2rl/core/async";
import { Rng } from "@m2rl/core/rng";
import { logSoftmax } from "./math/divergence.ts";

export type JudgeMode = "outcome" | "process";
export const JUDGE_MODES: readonly JudgeMode[] = ["outcome", "process"];
export type JudgeStyle = "instruction" | "compact";

export interface JudgeItem {
  prompt: string;
  response: string;
  /** The extracted final answer (outcome mode); the response's last line when absent or empty. */
  extracted?: string;
}

/** What outcome mode shows: the extracted answer, else the response's last non-empty line. */
export function finalAnswer(item: JudgeItem): string {
  if (item.extracted?.trim()) return item.extracted.trim();
  const lines = item.response.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

/** The judge prompt for one item. */
export function judgePrompt(item: JudgeItem, mode: JudgeMode, style: JudgeStyle = "instruction"): string {
  if (style === "compact") {
    return mode === "outcome"
      ? `${item.prompt}\nanswer: ${finalAnswer(item)}\ncorrect?`
      : `${item.prompt}\nsolution: ${item.response.trim()}\ncorrect?`;
  }
  if (mode === "outcome") {
    return `${item.prompt}\nProposed final answer: ${finalAnswer(item)}\nIs this final answer correct? Answer yes or no.\nAnswer:`;
  }
  return `${item.prompt}\nProposed solution:\n${item.response}\nIs this solution correct, every step included? Answer yes or no.\nAnswer:`;
}

/** The words whose probabilities make the verdict (a leading space: they follow "Answer:" / "correct?"). */
export const JUDGE_YES = " yes";
export const JUDGE_NO = " no";

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

export interface JudgeOptions {
  /** Prompts per forward pass (default 16). */
  batch?: number;
  style?: JudgeStyle;
  yes?: string;
  no?: string;
  /** Called after each batch with the items judged so far. */
  onProgress?: (done: number) => void;
}

/** Verdicts in [0, 1] (probability of "yes" among yes/no) for each item, in batches. */
export async function judgeResponses(
  policy: Policy,
  items: readonly JudgeItem[],
  mode: JudgeMode,
  options: JudgeOptions = {},
): Promise<number[]> {
  const { prefix, yes, no } = yesNoTokens(policy, options.yes ?? JUDGE_YES, options.no ?? JUDGE_NO);
  const batch = options.batch ?? 16;
  const out: number[] = [];
  for (let k = 0; k < items.length; k += batch) {
    const chunk = items.slice(k, k + batch);
    const logits = policy.lastLogits(
      chunk.map((it) => [...policy.tokenizer.encode(judgePrompt(it, mode, options.style)), ...prefix]),
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
    options.onProgress?.(out.length);
  }
  return out;
}

export interface JudgeSftOptions {
  /** Judge examples to build (at most one per task; modes alternate outcome, process). */
  count: number;
  seed: number;
  style?: JudgeStyle;
  /** Verifications in flight at once (default 8: a code check is a sandboxed process). */
  concurrency?: number;
}

/**
 * Judge-format SFT examples from a domain's train tasks: each shows a task with its reference (a noisy teacher's
 * references are sometimes wrong) in one mode, and the target is " yes" when the domain's verifier grades the
 * reference correct, else " no". The labels are the verifier's, the same standard the judge is scored against.
 */
export async function judgeSftTasks(
  domain: Domain,
  tasks: readonly Task[],
  options: JudgeSftOptions,
): Promise<Task[]> {
  const rng = new Rng(`judge-sft:${options.seed}:${domain.name}`);
  const picked = rng
    .shuffle(tasks.filter((t) => t.reference !== undefined))
    .slice(0, Math.max(0, options.count));
  const verdicts = await mapConcurrent(picked, options.concurrency ?? 8, (t) =>
    domain.verify({ response: t.reference!, groundTruth: t.groundTruth, task: t }),
  );
  return picked.map((t, i) => {
    const mode = JUDGE_MODES[i % JUDGE_MODES.length];
    const item = { prompt: t.prompt, response: t.reference!, extracted: verdicts[i].extracted };
    return {
      id: `judge-${mode}:${t.id}`,
      domain: t.domain,
      prompt: judgePrompt(item, mode, options.style),
      groundTruth: verdicts[i].status === "correct",
      reference: verdicts[i].status === "correct" ? JUDGE_YES : JUDGE_NO,
      meta: { judgeMode: mode, judged: t.id },
    };
  });
}
