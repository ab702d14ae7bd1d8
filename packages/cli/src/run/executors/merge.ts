/** Merge arms: the typed arm written as a mergekit config (kept as merge.yaml) and merged by @m2rl/mergers. */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseMergeConfig, planMerge, runMerge } from "@m2rl/mergers";
import { stringify } from "yaml";
import type { ArmJob, ArmOutput } from "../runner.ts";
import { armSeed, type ExecutorContext, report } from "./context.ts";

export async function produceMerge(ctx: ExecutorContext, job: ArmJob): Promise<ArmOutput> {
  const { config } = ctx;
  const arm = job.node.arm;
  if (arm.kind !== "merge") throw new Error(`not a merge arm: ${arm.id}`);
  const yamlText = stringify({
    merge_method: arm.method,
    base_model: job.store.checkpointDir(job.plan.start),
    models: arm.domains.map((d) => ({ model: job.store.checkpointDir(`single:${d}`), parameters: {} })),
    parameters: arm.parameters,
    dtype: "float32",
    // DARE / DELLA / breadcrumbs masks are seeded per tensor name from this seed.
    seed: armSeed(config, arm.id),
  });
  const configFile = join(job.store.armDir(arm.id), "merge.yaml");
  await mkdir(job.store.armDir(arm.id), { recursive: true });
  await writeFile(configFile, yamlText);
  const mergeConfig = parseMergeConfig(yamlText, configFile, ctx.host.registry.mergeMethods);
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
