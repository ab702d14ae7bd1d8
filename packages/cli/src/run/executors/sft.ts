/** The `sft` arm: supervised warm-up of the base on every domain's train references (and judge examples). */
import { appendFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { judgeSftTasks } from "@m2rl/analysis";
import { policyParameterCount, sftWarmup, type Task, trainingFlops } from "@m2rl/core";
import type { ArmJob, ArmOutput } from "../runner.ts";
import { domainList, type ExecutorContext, loadArm, report, saveArm } from "./context.ts";
import { judgeStyle } from "./evaluate.ts";

export async function produceSft(ctx: ExecutorContext, job: ArmJob): Promise<ArmOutput> {
  const { config } = ctx;
  const arm = job.node.resolved;
  if (arm.role !== "sft") throw new Error(`not an SFT arm: ${arm.id}`);
  const { options, judgeExamples, seed } = arm;
  const policy = await loadArm(job, "base");
  try {
    const domains = domainList(ctx);
    const tasks: Task[] = [];
    for (const d of domains) {
      const train = await d.tasks({ split: "train", seed });
      tasks.push(...train);
      // Self-judging: the SFT also teaches the judge format, labelled by the verifier on the train references.
      if (judgeExamples > 0)
        tasks.push(
          ...(await judgeSftTasks(d, train, { count: judgeExamples, seed, style: judgeStyle(config) })),
        );
    }
    const steps = options.steps;
    let tokens = 0;
    for (const t of tasks) tokens += t.prompt.length + (t.reference?.length ?? 0) + 1;
    const meanTokens = tasks.length ? tokens / tasks.length : 0;
    const batch = options.batchSize;
    const metrics = join(job.store.armDir(job.node.id), "metrics.jsonl");
    await mkdir(job.store.armDir(job.node.id), { recursive: true });
    await rm(metrics, { force: true });
    const t0 = performance.now();
    await sftWarmup(policy, tasks, options, async (step, loss) => {
      report(ctx, job.node.id, step + 1, steps, "steps");
      const row = {
        arm: job.node.id,
        step: step + 1,
        loss,
        elapsedSeconds: (performance.now() - t0) / 1000,
      };
      await appendFile(metrics, `${JSON.stringify(row)}\n`);
    });
    await saveArm(job, policy);
    const trained = steps * batch * meanTokens;
    return {
      tokensGenerated: 0,
      tokensTrained: Math.round(trained),
      flops: trainingFlops(policyParameterCount(policy), { trained }),
    };
  } finally {
    policy.dispose();
  }
}
