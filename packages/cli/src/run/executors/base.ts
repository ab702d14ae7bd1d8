/** The `base` arm: a fresh built-in policy, or a link to the model folder the experiment names. */
import { mkdir, symlink } from "node:fs/promises";
import { resolve } from "node:path";
import { CausalLM, CharTokenizer } from "@m2rl/core";
import { builtinModelConfig } from "../cost.ts";
import type { ArmJob, ArmOutput } from "../runner.ts";
import { type ExecutorContext, saveArm } from "./context.ts";

export async function produceBase(ctx: ExecutorContext, job: ArmJob): Promise<ArmOutput> {
  const { config } = ctx;
  const p = config.policy;
  if (p.source === "path") {
    // The base is the folder itself: link it instead of copying gigabytes.
    await mkdir(job.store.armDir(job.node.id), { recursive: true });
    await symlink(resolve(ctx.baseDir, p.path), job.store.checkpointDir(job.node.id), "dir");
    return { tokensGenerated: 0, tokensTrained: 0, flops: 0 };
  }
  const policy = new CausalLM(builtinModelConfig(p.model), new CharTokenizer(), {
    seed: job.node.resolved.seed,
  });
  try {
    await saveArm(job, policy);
  } finally {
    policy.dispose();
  }
  return { tokensGenerated: 0, tokensTrained: 0, flops: 0 };
}
