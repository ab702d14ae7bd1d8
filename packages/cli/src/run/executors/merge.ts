/**
 * Merge arms: the resolved arm becomes a mergekit config object (the single arms' checkpoints over the start point),
 * checked and merged by @m2rl/mergers; its YAML is kept as merge.yaml beside the checkpoint, as a record.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mergeConfigFromObject, planMerge, type RawMergeConfig, runMerge } from "@m2rl/mergers";
import type { ArmJob, ArmOutput } from "../runner.ts";
import { type ExecutorContext, report } from "./context.ts";

export async function produceMerge(ctx: ExecutorContext, job: ArmJob): Promise<ArmOutput> {
  const arm = job.node.resolved;
  if (arm.role !== "merge") throw new Error(`not a merge arm: ${arm.id}`);
  const raw: RawMergeConfig = {
    merge_method: arm.method,
    base_model: job.store.checkpointDir(job.plan.start),
    models: arm.domains.map((d) => ({ model: job.store.checkpointDir(`single:${d}`), parameters: {} })),
    parameters: arm.parameters as RawMergeConfig["parameters"],
    dtype: "float32",
    // DARE / DELLA / breadcrumbs masks are seeded per tensor name from this seed.
    seed: arm.seed,
  };
  // (relative paths in it resolve against the file's folder, where its YAML is written)
  const file = join(job.store.armDir(arm.id), "merge.yaml");
  const mergeConfig = mergeConfigFromObject(raw, { file, lookup: ctx.host.registry.mergeMethods });
  await mkdir(job.store.armDir(arm.id), { recursive: true });
  await writeFile(file, mergeConfig.text);
  const out = job.store.checkpointDir(arm.id);
  await rm(out, { recursive: true, force: true });
  const plan = await planMerge(mergeConfig, { outDir: out });
  await runMerge(plan, {
    outDir: out,
    workers: 0,
    onProgress: (p) => report(ctx, arm.id, p.tensorsDone, p.tensorsTotal, "tensors"),
  });
  return { tokensGenerated: 0, tokensTrained: 0, flops: 0 };
}
