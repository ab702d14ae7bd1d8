/**
 * The real work behind each arm kind, one module per kind: build or load policies (base), SFT, GRPO / MOPD
 * training with resumable checkpoints (single, mix, mopd), merges through @m2rl/mergers, evaluation with one row per
 * sample. Wired into `runPlan` by the `m2rl run` command.
 */
import type { ArmConfig } from "@m2rl/core";
import type { ArmExecutors, ArmJob, ArmOutput } from "../runner.ts";
import { produceBase } from "./base.ts";
import type { ExecutorContext } from "./context.ts";
import { evaluateArm } from "./evaluate.ts";
import { produceMerge } from "./merge.ts";
import { produceSft } from "./sft.ts";
import { produceTrained } from "./trained.ts";

export * from "./context.ts";
export { evalOptions, judgeStyle, selfJudge } from "./evaluate.ts";
export { analysisFields, HELD_OUT_FILE } from "./trained.ts";

type Producer = (ctx: ExecutorContext, job: ArmJob) => Promise<ArmOutput>;

/** The executor of each arm kind. */
export const PRODUCERS: Readonly<Record<ArmConfig["kind"], Producer>> = {
  base: produceBase,
  sft: produceSft,
  single: produceTrained,
  mix: produceTrained,
  mopd: produceTrained,
  merge: produceMerge,
};

export function createExecutors(ctx: ExecutorContext): ArmExecutors {
  return {
    produce: (job) => PRODUCERS[job.node.arm.kind](ctx, job),
    evaluate: (job) => evaluateArm(ctx, job),
  };
}
