/**
 * Where an arm's eval rows come from: its imported `generations` (scored here with the experiment's verifiers), else
 * generation on this machine when the model fits `evaluation.maxParameters`, else none (the arm is not evaluated,
 * and its eval.json says why). eval.json carries `evaluation` for the first and the last case; an arm generated here
 * has none, exactly as before.
 */
import { join } from "node:path";
import type { ExperimentConfig } from "@m2rl/core";
import type { ExecutorContext } from "../executors/context.ts";
import type { ArmJob } from "../runner.ts";
import { checkpointParameters } from "./checkpoint.ts";
import { type ImportedEvaluation, scoreGenerations } from "./generations.ts";

/** An arm not evaluated: too large to generate from here and no imported generations. */
export interface SkippedEvaluation {
  source: "skipped";
  parameters: number;
  reason: string;
}

/** `evaluation` of an arm's eval.json; absent: generated on this machine. */
export type EvalSource = ImportedEvaluation | SkippedEvaluation;

/** "494.0M" */
export function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** Whether a model of `parameters` may be generated from on this machine (`evaluation.maxParameters`). */
export function fitsHere(config: ExperimentConfig, parameters: number): boolean {
  const max = config.evaluation.maxParameters;
  return max === undefined || parameters <= max;
}

/**
 * Evaluates the job's arm: imported generations first, then `generate` (the evaluation on this machine) when the
 * model fits, else a skipped evaluation. Returns the mean reward per domain (none when skipped).
 */
export async function evaluateArmOrImported(
  ctx: ExecutorContext,
  job: ArmJob,
  generate: (ctx: ExecutorContext, job: ArmJob) => Promise<Record<string, number>>,
): Promise<Record<string, number>> {
  const arm = job.node.arm;
  const file = join(job.store.armDir(arm.id), "eval.json");
  if (arm.generations) {
    const scored = await scoreGenerations(ctx, job, arm.generations);
    const result = {
      mode: "imported",
      domains: scored.domains,
      meanAccuracy: scored.domains.reduce((a, d) => a + d.accuracy, 0) / Math.max(1, scored.domains.length),
    };
    const e = scored.evaluation;
    ctx.log?.(
      `${arm.id}: scored ${e.samples} imported samples (${e.format}; ${e.matched} on this experiment's eval tasks)` +
        (e.engineCompared
          ? `; verdicts agree with the engine's reward on ${e.engineAgreed}/${e.engineCompared}`
          : ""),
    );
    await job.store.writeFileAtomic(
      file,
      `${JSON.stringify({ arm: arm.id, result, rows: scored.rows, evaluation: e })}\n`,
    );
    return Object.fromEntries(scored.domains.map((d) => [d.domain, d.accuracy]));
  }
  const max = ctx.config.evaluation.maxParameters;
  if (max !== undefined) {
    const parameters = await checkpointParameters(job.store.checkpointDir(arm.id));
    if (parameters > max) {
      const skipped: SkippedEvaluation = {
        source: "skipped",
        parameters,
        reason: `${formatParameters(parameters)} parameters > evaluation.maxParameters ${formatParameters(max)}, and no imported generations`,
      };
      ctx.log?.(`${arm.id}: not evaluated (${skipped.reason})`);
      await job.store.writeFileAtomic(
        file,
        `${JSON.stringify({ arm: arm.id, result: { mode: "skipped", domains: [], meanAccuracy: Number.NaN }, rows: [], evaluation: skipped })}\n`,
      );
      return {};
    }
  }
  return generate(ctx, job);
}
