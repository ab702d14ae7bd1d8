/**
 * The real work behind each arm kind, one module per kind: build or load policies (base), SFT, GRPO / MOPD
 * training with resumable checkpoints (single, mix, mopd), merges through @m2rl/mergers, evaluation with one row per
 * sample. Wired into `runPlan` by the `m2rl run` command.
 */
import type { ResolvedArm } from "../arms.ts";
import { evaluateArmOrImported, importedFingerprint, produceImported } from "../imported/index.ts";
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

/**
 * The executor of each resolved arm's role: an imported arm (`checkpoint:`) is linked in instead of trained.
 */
export const PRODUCERS: Readonly<Record<ResolvedArm["role"], Producer>> = {
  base: produceBase,
  sft: produceSft,
  rl: produceTrained,
  imported: produceImported,
  merge: produceMerge,
};

/**
 * Each arm produced by its role's executor; every arm is scored from its imported `generations` when it has some,
 * else evaluated here when it fits `evaluation.maxParameters`.
 */
export function createExecutors(ctx: ExecutorContext): ArmExecutors {
  return {
    produce: (job) => PRODUCERS[job.node.resolved.role](ctx, job),
    evaluate: (job) => evaluateArmOrImported(ctx, job, evaluateArm),
    fingerprint: (node) => importedFingerprint(node.arm, ctx.baseDir),
  };
}
