/** Evaluation of an arm: one row per sample of every domain's eval split, self-judging where configured. */

import { join } from "node:path";
import { JUDGE_MODES, type JudgeMode, type JudgeStyle, judgeResponses } from "@m2rl/analysis";
import {
  type EvalOptions,
  type EvalRow,
  type ExperimentConfig,
  evaluatePolicy,
  type Policy,
} from "@m2rl/core";
import { evalGeneration } from "../arms.ts";
import type { ArmJob } from "../runner.ts";
import { domainList, EVAL_TASK_SEED, type ExecutorContext, loadArm, report } from "./context.ts";

export async function evaluateArm(ctx: ExecutorContext, job: ArmJob): Promise<Record<string, number>> {
  const { config } = ctx;
  const policy = await loadArm(job, job.node.id, false);
  const rows: EvalRow[] = [];
  const domains = domainList(ctx);
  const options = evalOptions(config);
  const maxTokens = options.maxNewTokens;
  try {
    let done = 0;
    const result = await evaluatePolicy(policy, domains, {
      ...options,
      onSample: (s) => {
        rows.push({
          arm: job.node.id,
          domain: s.task.domain,
          taskId: s.task.id,
          sampleIndex: s.sampleIndex,
          reward: s.verification.reward,
          status: s.verification.status,
          responseLength: s.generation.ids.length,
          truncated: s.generation.finishReason === "length",
          maxTokens,
          prompt: s.task.prompt,
          response: s.generation.text,
          extracted: s.verification.extracted,
          logprob: s.generation.logprobs.reduce((a, b) => a + b, 0),
          seed: config.seed,
        });
        if (s.sampleIndex === 0) report(ctx, job.node.id, ++done, Number.NaN, "eval tasks");
      },
    });
    if (config.evaluation.selfJudge)
      await selfJudge(policy, rows, config.evaluation.selfJudge.tasks, judgeStyle(config), (done, total) =>
        report(ctx, job.node.id, done, total, "judged samples"),
      );
    const file = join(job.store.armDir(job.node.id), "eval.json");
    await job.store.writeFileAtomic(file, `${JSON.stringify({ arm: job.node.id, result, rows })}\n`);
    return Object.fromEntries(result.domains.map((d) => [d.domain, d.accuracy]));
  } finally {
    policy.dispose();
  }
}

/** The judge prompt style: compact for the built-in char-level policy (its SFT teaches it), else an instruction. */
export function judgeStyle(config: ExperimentConfig): JudgeStyle {
  return config.policy.source === "builtin" ? "compact" : "instruction";
}

/**
 * The arm judges its own samples of the first `tasksPerDomain` eval tasks of each domain, in both modes; each
 * judged row gets `judge: { outcome, process }` (p(yes) / (p(yes) + p(no))).
 */
export async function selfJudge(
  policy: Policy,
  rows: EvalRow[],
  tasksPerDomain: number,
  style: JudgeStyle,
  progress?: (done: number, total: number) => void,
): Promise<void> {
  const chosen = new Map<string, Set<string>>();
  const judged = rows.filter((r) => {
    let ids = chosen.get(r.domain);
    if (!ids) chosen.set(r.domain, (ids = new Set()));
    if (!ids.has(r.taskId) && ids.size < tasksPerDomain) ids.add(r.taskId);
    return ids.has(r.taskId);
  });
  const items = judged.map((r) => ({
    prompt: String(r.prompt ?? ""),
    response: String(r.response ?? ""),
    extracted: typeof r.extracted === "string" ? r.extracted : undefined,
  }));
  const verdicts: Record<JudgeMode, number[]> = { outcome: [], process: [] };
  for (const [m, mode] of JUDGE_MODES.entries()) {
    verdicts[mode] = await judgeResponses(policy, items, mode, {
      style,
      batch: 64,
      onProgress: (done) => progress?.(m * items.length + done, JUDGE_MODES.length * items.length),
    });
  }
  judged.forEach((r, i) => {
    r.judge = { outcome: verdicts.outcome[i], process: verdicts.process[i] };
  });
}

/**
 * How every evaluation of the experiment samples and scores (final and periodic alike); token budget and stop
 * strings: `evalGeneration`.
 */
export function evalOptions(config: ExperimentConfig): Partial<EvalOptions> & { maxNewTokens: number } {
  const ev = config.evaluation;
  const { maxNewTokens, stop } = evalGeneration(config);
  return {
    mode: ev.samples > 1 || ev.temperature > 0 ? "sampled" : "greedy",
    samples: ev.samples,
    k: ev.passAtK,
    temperature: ev.temperature,
    topP: ev.topP,
    maxNewTokens,
    stop,
    seed: config.seed,
    // Every seed of an experiment is scored on the same eval tasks (drawn with seed 0), so that scores pair task by
    // task across arms and seeds; the run seed varies the sampling.
    taskSeed: EVAL_TASK_SEED,
  };
}
