/**
 * The real work behind each arm kind: build or load policies, SFT, GRPO / MOPD training with resumable
 * checkpoints, merges through @m2rl/mergers, evaluation with one row per sample. Wired into `runPlan` by the
 * `m2rl run` command.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { JUDGE_MODES, type JudgeMode, type JudgeStyle, judgeResponses, judgeSftTasks } from "@m2rl/analysis";
import {
  CausalLM,
  CharTokenizer,
  type Domain,
  type EvalOptions,
  type EvalRow,
  type ExperimentConfig,
  evaluatePolicy,
  isTrainerCheckpoint,
  loadPolicy,
  measuresKl,
  type PluginHost,
  type Policy,
  policyParameterCount,
  Rng,
  resolveTrainerConfig,
  type StepMetrics,
  savePolicy,
  sftWarmup,
  type Task,
  Trainer,
  tinyConfig,
  trainingFlops,
} from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { parseMergeConfig, planMerge, runMerge } from "@m2rl/mergers";
import { stringify } from "yaml";
import { armDomains, armTrainerInput, isTrainedArm } from "./arm-trainer.ts";
import type { ArmExecutors, ArmJob, ArmOutput } from "./runner.ts";

/** `done` of `total` units of the current arm (steps, tensors, eval tasks). */
export type ProgressSink = (armId: string, done: number, total: number, unit: string) => void;

export interface ExecutorContext {
  config: ExperimentConfig;
  host: PluginHost;
  /** Folder of the experiment file: relative paths resolve against it. */
  baseDir: string;
  domains: ReadonlyMap<string, Domain>;
  progress?: ProgressSink;
  log?: (line: string) => void;
}

type Obj = Record<string, unknown>;

/** Seed of the eval task draw of every run: fixed, so that runs with different seeds share their eval tasks. */
export const EVAL_TASK_SEED = 0;

/** Seed of one arm: depends only on the experiment seed and the arm id. */
export function armSeed(config: ExperimentConfig, armId: string): number {
  return Rng.derive(config.seed, armId).nextUint32();
}

export function createExecutors(ctx: ExecutorContext): ArmExecutors {
  const { config } = ctx;
  const report = (id: string, done: number, total: number, unit: string) =>
    ctx.progress?.(id, done, total, unit);
  const domainList = (ids?: readonly string[]) =>
    (ids ?? Object.keys(config.domains)).map((id) => {
      const d = ctx.domains.get(id);
      if (!d) throw new Error(`unknown domain '${id}'`);
      return d;
    });

  async function load(job: ArmJob, armId: string, trainable = true): Promise<Policy> {
    return loadPolicy(new NodeFileStore(job.store.checkpointDir(armId)), { trainable });
  }

  async function save(job: ArmJob, policy: Policy): Promise<void> {
    const dir = job.store.checkpointDir(job.node.id);
    await rm(dir, { recursive: true, force: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await savePolicy(policy, new NodeFileStore(tmp));
    await rename(tmp, dir);
  }

  async function produceBase(job: ArmJob): Promise<ArmOutput> {
    const p = config.policy;
    if (p.source === "path") {
      // The base is the folder itself: link it instead of copying gigabytes.
      await mkdir(job.store.armDir(job.node.id), { recursive: true });
      await symlink(resolve(ctx.baseDir, p.path), job.store.checkpointDir(job.node.id), "dir");
      return { tokensGenerated: 0, tokensTrained: 0, flops: 0 };
    }
    const tokenizer = new CharTokenizer();
    const model = p.model as Obj;
    const modelConfig = tinyConfig({
      vocabSize: tokenizer.vocabSize,
      eosId: tokenizer.eosId,
      padId: tokenizer.padId,
      ...(model as object),
    });
    const policy = new CausalLM(modelConfig, tokenizer, { seed: armSeed(config, "base") });
    try {
      await save(job, policy);
    } finally {
      policy.dispose();
    }
    return { tokensGenerated: 0, tokensTrained: 0, flops: 0 };
  }

  async function produceSft(job: ArmJob): Promise<ArmOutput> {
    const policy = await load(job, "base");
    try {
      const domains = domainList();
      const seed = armSeed(config, "sft");
      const tasks: Task[] = [];
      for (const d of domains) {
        const train = await d.tasks({ split: "train", seed });
        tasks.push(...train);
        // Self-judging: the SFT also teaches the judge format, labelled by the verifier on the train references.
        const judgeExamples = config.evaluation.selfJudge?.sftExamples ?? 0;
        if (judgeExamples > 0)
          tasks.push(
            ...(await judgeSftTasks(d, train, { count: judgeExamples, seed, style: judgeStyle(config) })),
          );
      }
      const options = { ...(config.policy.sft ?? {}), seed } as Obj;
      const steps = Number(options.steps ?? 200);
      let tokens = 0;
      for (const t of tasks) tokens += t.prompt.length + (t.reference?.length ?? 0) + 1;
      const meanTokens = tasks.length ? tokens / tasks.length : 0;
      const batch = Number(options.batchSize ?? 32);
      const metrics = join(job.store.armDir(job.node.id), "metrics.jsonl");
      await mkdir(job.store.armDir(job.node.id), { recursive: true });
      await rm(metrics, { force: true });
      const t0 = performance.now();
      await sftWarmup(policy, tasks, options, async (step, loss) => {
        report(job.node.id, step + 1, steps, "steps");
        const row = {
          arm: job.node.id,
          step: step + 1,
          loss,
          elapsedSeconds: (performance.now() - t0) / 1000,
        };
        await appendFile(metrics, `${JSON.stringify(row)}\n`);
      });
      await save(job, policy);
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

  async function produceTrained(job: ArmJob): Promise<ArmOutput> {
    const arm = job.node.arm;
    if (!isTrainedArm(arm)) throw new Error(`not a trained arm: ${arm.id}`);
    const trainerInput = armTrainerInput(config, arm, armSeed(config, arm.id));
    const trainerConfig = resolveTrainerConfig(trainerInput);
    const domainIds = armDomains(arm);
    const policy = await load(job, job.plan.start);
    const teachers = new Map<string, Policy>();
    // The KL term (kl.coef > 0) and the KL metric (kl.monitor) are measured against the arm's start policy, frozen.
    const reference = measuresKl(trainerConfig) ? await load(job, job.plan.start, false) : undefined;
    const dir = job.store.armDir(arm.id);
    const work = job.store.workDir(arm.id);
    const metricsFile = join(dir, "metrics.jsonl");
    const heldOutFile = join(dir, HELD_OUT_FILE);
    try {
      if (arm.kind === "mopd")
        for (const d of arm.domains) teachers.set(d, await load(job, `single:${d}`, false));
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
        domains: domainList(domainIds),
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
          report(arm.id, m.step + 1, steps, "steps");
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
      await save(job, policy);
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

  async function produceMerge(job: ArmJob): Promise<ArmOutput> {
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
    const mergeConfig = parseMergeConfig(yamlText, configFile, (name) =>
      ctx.host.registry.mergeMethods.find(name),
    );
    const out = job.store.checkpointDir(arm.id);
    await rm(out, { recursive: true, force: true });
    const plan = await planMerge(mergeConfig, { outDir: out });
    await runMerge(plan, {
      outDir: out,
      workers: 0,
      onProgress: (p) => report(arm.id, p.tensorsDone, p.tensorsTotal, "tensors"),
    });
    return { tokensGenerated: 0, tokensTrained: 0, flops: 0 };
  }

  return {
    async produce(job) {
      switch (job.node.arm.kind) {
        case "base":
          return produceBase(job);
        case "sft":
          return produceSft(job);
        case "merge":
          return produceMerge(job);
        default:
          return produceTrained(job);
      }
    },

    async evaluate(job) {
      const policy = await load(job, job.node.id, false);
      const rows: EvalRow[] = [];
      const domains = domainList();
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
            if (s.sampleIndex === 0) report(job.node.id, ++done, Number.NaN, "eval tasks");
          },
        });
        if (config.evaluation.selfJudge)
          await selfJudge(
            policy,
            rows,
            config.evaluation.selfJudge.tasks,
            judgeStyle(config),
            (done, total) => report(job.node.id, done, total, "judged samples"),
          );
        const file = join(job.store.armDir(job.node.id), "eval.json");
        await job.store.writeFileAtomic(file, `${JSON.stringify({ arm: job.node.id, result, rows })}\n`);
        return Object.fromEntries(result.domains.map((d) => [d.domain, d.accuracy]));
      } finally {
        policy.dispose();
      }
    },
  };
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

/** Periodic held-out evaluations of a training arm: one `HeldOutPoint` per line. */
export const HELD_OUT_FILE = "heldout.jsonl";

/**
 * How every evaluation of the experiment samples and scores (final and periodic alike). Token budget:
 * `evaluation.maxTokens`, else the rollouts' `trainer.sampling.maxNewTokens`.
 */
function evalOptions(config: ExperimentConfig): Partial<EvalOptions> & { maxNewTokens: number } {
  const ev = config.evaluation;
  const sampling = config.trainer.sampling as Obj | undefined;
  return {
    mode: ev.samples > 1 || ev.temperature > 0 ? "sampled" : "greedy",
    samples: ev.samples,
    k: ev.passAtK,
    temperature: ev.temperature,
    topP: ev.topP,
    maxNewTokens: ev.maxTokens ?? Number(sampling?.maxNewTokens ?? 64),
    stop: sampling?.stop as string[] | undefined,
    seed: config.seed,
    // Every seed of an experiment is scored on the same eval tasks (drawn with seed 0), so that scores pair task by
    // task across arms and seeds; the run seed varies the sampling.
    taskSeed: EVAL_TASK_SEED,
  };
}

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
