/** RL arms (single, mix, MOPD): the GRPO-family trainer with resumable checkpoints, metrics and held-out curves. */
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isTrainerCheckpoint, measuresKl, type Policy, type StepMetrics, Trainer } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import type { ArmJob, ArmOutput } from "../runner.ts";
import { domainList, type ExecutorContext, loadArm, report, saveArm } from "./context.ts";
import { evalOptions } from "./evaluate.ts";

type Obj = Record<string, unknown>;

export async function produceTrained(ctx: ExecutorContext, job: ArmJob): Promise<ArmOutput> {
  const { config } = ctx;
  const resolved = job.node.resolved;
  if (resolved.role !== "rl") throw new Error(`not an arm trained here: ${resolved.id}`);
  const { arm, trainerInput, trainer: trainerConfig, domains: domainIds } = resolved;
  const policy = await loadArm(job, job.plan.start);
  const teachers = new Map<string, Policy>();
  // The KL term (kl.coef > 0) and the KL metric (kl.monitor) are measured against the arm's start policy, frozen.
  const reference = measuresKl(trainerConfig) ? await loadArm(job, job.plan.start, false) : undefined;
  const dir = job.store.armDir(arm.id);
  const work = job.store.workDir(arm.id);
  const metricsFile = join(dir, "metrics.jsonl");
  const heldOutFile = join(dir, HELD_OUT_FILE);
  try {
    // MOPD: one teacher per domain, the domain's single arm
    for (const [i, teacher] of resolved.teachers.entries())
      teachers.set(domainIds[i], await loadArm(job, teacher, false));
    // The resumable state belongs to exactly this arm configuration.
    const stamp = JSON.stringify({ hash: job.hash });
    const stampFile = join(work, "stamp.json");
    const oldStamp = await readFile(stampFile, "utf8").catch(() => "");
    if (oldStamp !== stamp) {
      await rm(work, { recursive: true, force: true });
      await rm(metricsFile, { force: true });
      await rm(heldOutFile, { force: true });
    }
    await mkdir(work, { recursive: true });
    await writeFile(stampFile, stamp);

    const steps = trainerConfig.steps;
    let elapsed = 0;
    // Resumable: a checkpoint every checkpointEvery steps (default a tenth of the run), and one at the end.
    const every = Math.max(1, Math.min(steps, trainerConfig.checkpointEvery || Math.ceil(steps / 10)));
    const trainer = new Trainer({
      policy,
      domains: domainList(ctx, domainIds),
      config: { ...trainerInput, checkpointEvery: every, checkpointAtEnd: true },
      teachers: teachers.size ? teachers : undefined,
      reference,
      // trainer.evalEvery: held-out curves, scored like the final evaluation (on trainer.evalTasks per domain).
      eval: evalOptions(config),
      schedulerRegistry: { get: (name) => ctx.host.registry.mixingSchedulers.find(name) },
      checkpointStore: async (step) => {
        const d = join(work, `step-${String(step).padStart(6, "0")}`);
        await mkdir(d, { recursive: true });
        return new NodeFileStore(d);
      },
      metrics: async (row) => {
        if (row.type === "eval") {
          const points = row.domains.map((d) => ({
            step: row.step,
            domain: d.domain,
            avg: d.meanReward,
            tasks: d.tasks,
          }));
          await appendFile(heldOutFile, points.map((p) => `${JSON.stringify(p)}\n`).join(""));
          return;
        }
        if (row.type !== "step") return;
        const m = row;
        elapsed += m.wallMs / 1000;
        await appendFile(
          metricsFile,
          `${JSON.stringify({ arm: arm.id, ...m, ...analysisFields(m, elapsed) })}\n`,
        );
        report(ctx, arm.id, m.step + 1, steps, "steps");
      },
    });
    // Plugins of the experiment tap this arm's trainer (reward shaping, early stopping, a custom stage...).
    ctx.host.hooks.trainer.call(trainer, { id: arm.id, kind: arm.kind, domains: domainIds });
    trainer.hooks.checkpoint.tapPromise("m2rl:cli:prune", async ({ step }) => {
      // Keep the newest checkpoint only: older ones are never needed to resume.
      for (const name of await readdir(work)) {
        const m = /^step-(\d+)$/.exec(name);
        if (m && Number(m[1]) < step) await rm(join(work, name), { recursive: true, force: true });
      }
    });
    const latest = await latestCheckpoint(work);
    if (latest) {
      await trainer.restore(new NodeFileStore(latest.dir));
      elapsed = await truncateMetrics(metricsFile, latest.step);
      await truncateHeldOut(heldOutFile, latest.step);
      ctx.log?.(`${arm.id}: resuming from step ${latest.step}`);
    } else {
      // No checkpoint yet (killed before the first one): the arm restarts at step 0, so do its rows.
      await rm(metricsFile, { force: true });
      await rm(heldOutFile, { force: true });
    }
    // The held-out curve starts at the start policy, on the same tasks as the later points.
    if (!latest && trainerConfig.evalEvery > 0) await trainer.evaluate();
    const summary = await trainer.run();
    await saveArm(job, policy);
    await rm(work, { recursive: true, force: true });
    const rows = await readMetrics(metricsFile);
    const sum = (k: string) =>
      rows.reduce((a, r) => a + (typeof r[k] === "number" ? (r[k] as number) : 0), 0);
    return {
      tokensGenerated: Math.round(sum("tokensGenerated")),
      tokensTrained: Math.round(sum("tokensTrained")),
      flops: summary.totalFlops,
    };
  } finally {
    policy.dispose();
    reference?.dispose();
    for (const t of teachers.values()) t.dispose();
  }
}

/** Periodic held-out evaluations of a training arm: one `HeldOutPoint` per line. */
export const HELD_OUT_FILE = "heldout.jsonl";

/** Drops held-out points measured after the checkpoint a resumed run restarts from (step = steps done). */
async function truncateHeldOut(file: string, step: number): Promise<void> {
  await keepRows(file, (r) => typeof r.step === "number" && r.step <= step);
}

/** Rewrites a JSON-lines file with the rows that pass `keep`; returns them. A missing file stays missing. */
async function keepRows(file: string, keep: (row: Obj) => boolean): Promise<Obj[]> {
  const rows = await readMetrics(file);
  if (!rows.length) return rows;
  const kept = rows.filter(keep);
  await writeFile(file, kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
  return kept;
}

async function latestCheckpoint(work: string): Promise<{ dir: string; step: number } | undefined> {
  let names: string[];
  try {
    names = await readdir(work);
  } catch {
    return undefined;
  }
  const steps = names
    .map((n) => /^step-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  for (const step of steps) {
    const dir = join(work, `step-${String(step).padStart(6, "0")}`);
    if (await isTrainerCheckpoint(new NodeFileStore(dir))) return { dir, step };
  }
  return undefined;
}

async function readMetrics(file: string): Promise<Obj[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Obj);
}

/** Drops metrics rows written after the checkpoint a resumed run restarts from; returns the elapsed seconds kept. */
async function truncateMetrics(file: string, step: number): Promise<number> {
  // Trainer rows carry the 0-based index of their step: a checkpoint after N steps covers rows 0..N-1.
  const kept = await keepRows(file, (r) => typeof r.step !== "number" || r.step < step);
  const last = kept.at(-1)?.elapsedSeconds;
  return typeof last === "number" ? last : 0;
}

/**
 * The keys the analyses read from a metrics row (MetricsRow), derived from the trainer's StepMetrics.
 * Token columns (the cost table and the training-efficiency analysis read them):
 * - tokensGenerated: completion tokens sampled (every rollout, dropped groups included) — not the trainer's
 *   `generatedTokens`, which adds the prompts (the rollout's prefill);
 * - tokensTrained: tokens through forward + backward = prompt + completion of the kept samples × ppoEpochs. The
 *   trainer's loss (`policy.score` over the whole prompt + completion sequence, PG loss masked to completion
 *   tokens) back-propagates through the prompt positions too, so they count; dropped groups are not trained;
 * - tokensScored: forward-only scoring (old log-probs, reference, MOPD teachers).
 */
export function analysisFields(m: StepMetrics, elapsedSeconds: number): Obj {
  return {
    elapsedSeconds,
    reward: m.meanReward,
    rewardByDomain: Object.fromEntries(Object.entries(m.perDomain).map(([d, v]) => [d, v.meanReward])),
    statusCounts: Object.fromEntries(Object.entries(m.perDomain).map(([d, v]) => [d, v.statusCounts])),
    responseLength: m.meanResponseTokens,
    tokensGenerated: m.responseTokens,
    tokensTrained: m.trainedTokens,
    tokensScored: m.scoredTokens,
  };
}
