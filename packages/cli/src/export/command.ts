/**
 * `m2rl export <experiment.yaml> --engine verl|openrlhf --out DIR`: every RL arm of the experiment (single:<d> and
 * mix; MOPD where the engine has a teacher: neither has) as a job folder for a distributed engine, with the data
 * M2RL would train and evaluate the arm on, in the order it would draw it. The wiring: load the experiment as
 * `m2rl run` does, build its domains, and for each arm (and seed) draw its prompts with M2RL's trainer, map its
 * options, and hand everything to the engine's writer. `<out>/manifest.json` lists the jobs and the arms not
 * exported, with the reason.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type ArmConfig, type ExperimentConfig, experimentSeeds, formatProblem } from "@m2rl/core";
import { loadExperimentFile } from "../plugins/experiment.ts";
import { createDomains } from "../run/domains.ts";
import { armFolder, planExperiment } from "../run/plan.ts";
import { seedRunDir } from "../run/store.ts";
import { type ExportRow, evalRows, exportRow, maxPromptTokens } from "./arm-data.ts";
import { type JobInput, serveCommand } from "./job.ts";
import { ENGINE_REVISIONS, engineKeys } from "./keys.ts";
import type { JobManifest } from "./manifest.ts";
import { adaptivePool, rewardDependent, trainerDrawOrder } from "./mix-order.ts";
import { writeOpenRlhfJob } from "./openrlhf.ts";
import type { Engine } from "./options.ts";
import { writeVerlJob } from "./verl.ts";

export interface ExportOptions {
  engine: string;
  out: string;
  gpus: number;
  nodes: number;
  /** The Hugging Face model (folder or hub id) the arms start from in the engine. */
  model?: string;
  /** Only these arms. */
  arm?: string[];
  maxPromptLength?: number;
  /** Replace existing job folders. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface ExportSummary {
  jobs: { arm: string; seed: number; dir: string; manifest: JobManifest }[];
  skipped: { arm: string; reason: string }[];
}

/** Bad input found while exporting (exit 2): a job folder that exists without --force. */
export class ExportInputError extends Error {}

/** Why an arm of the plan is not exported (undefined: it is). */
function notExported(arm: ArmConfig, engine: Engine): string | undefined {
  if ((arm as { checkpoint?: unknown }).checkpoint !== undefined)
    return "imported: the arm already comes from a checkpoint";
  switch (arm.kind) {
    case "base":
      return "not trained: the policy as loaded (the engine job's MODEL_PATH)";
    case "sft":
      return "supervised warm-up, not RL: run it before the RL jobs (their MODEL_PATH is its result)";
    case "merge":
      return "a weight merge of the single-domain arms: m2rl run does it once they are imported";
    case "mopd":
      return engine === "verl"
        ? "MOPD needs a teacher per domain; verl's main_ppo (b178a3cd) has no teacher model (no teacher key in " +
            "_generated_ppo_trainer.yaml; the on-policy distillation recipe, recipe/gkd, is a single-teacher " +
            "top-k KL trainer outside main_ppo), so M2RL's A_t = log p_teacher − log p_student per domain cannot be expressed"
        : "MOPD needs a teacher per domain; OpenRLHF v0.11.0's train_ppo_ray has no teacher model (its models: " +
            "actor, critic, reference, reward), so M2RL's A_t = log p_teacher − log p_student cannot be expressed";
    default:
      return undefined;
  }
}

/** Exports the experiment's RL arms; throws on a runtime failure. Resolves to the jobs written and arms skipped. */
export async function exportJobs(
  config: ExperimentConfig,
  loaded: { host: import("@m2rl/core").PluginHost; baseDir: string },
  file: string,
  engine: Engine,
  o: ExportOptions,
): Promise<ExportSummary> {
  const log = o.log ?? (() => {});
  const plan = planExperiment(config);
  const wanted = o.arm ? new Set(o.arm) : undefined;
  const skipped: ExportSummary["skipped"] = [];
  // ids of the RL arms to export (each seed's plan resolves them with its seed)
  const armIds: string[] = [];
  for (const node of plan.nodes) {
    if (wanted && !wanted.has(node.id)) continue;
    const why = notExported(node.arm, engine);
    if (why || node.resolved.role !== "rl") skipped.push({ arm: node.id, reason: why ?? "not an RL arm" });
    else armIds.push(node.id);
  }
  const schedulers = loaded.host.registry.mixingSchedulers;
  const domains = await createDomains(config, loaded.host, loaded.baseDir);
  const allEval = await evalRows(config, domains);
  const chat = config.policy.chatTemplate;
  const modelFolder =
    o.model ?? (config.policy.source === "path" ? resolve(loaded.baseDir, config.policy.path) : undefined);
  const start: JobInput["start"] =
    plan.start === "sft"
      ? {
          arm: "sft",
          ...(o.model ? { model: o.model } : {}),
          note:
            "M2RL trains this arm from the experiment's sft arm (supervised warm-up of the base policy): MODEL_PATH " +
            `must be that warmed-up model${o.model ? ` (--model ${o.model})` : ""}`,
        }
      : modelFolder
        ? { arm: "base", model: modelFolder, note: `the base policy, ${modelFolder}` }
        : {
            arm: "base",
            note:
              "the base policy; the experiment's is the built-in tiny recipe, which no engine loads: set " +
              "MODEL_PATH to a Hugging Face model (or export with --model)",
          };
  const seeds = experimentSeeds(config);
  const out = resolve(o.out);
  const jobs: ExportSummary["jobs"] = [];
  for (const seed of seeds) {
    const seeded = new Map(planExperiment({ ...config, seed }).nodes.map((n) => [n.id, n.resolved]));
    for (const id of armIds) {
      const resolved = seeded.get(id);
      if (resolved?.role !== "rl") throw new Error(`arm '${id}' is not trained here`);
      const { arm, domains: ids, trainerInput: input, trainer } = resolved;
      const armDomainList = ids.map((id) => domains.get(id)!);
      const verifierOf = (id: string) => config.domains[id].verifier;
      let train: ExportRow[];
      let planFile: JobInput["plan"];
      if (
        arm.kind === "mix" &&
        rewardDependent(trainer.scheduler.name, trainer.scheduler.options, ids, schedulers)
      ) {
        if (engine !== "verl" || trainer.scheduler.name !== "adaptive") {
          skipped.push({
            arm: arm.id,
            reason:
              engine !== "verl"
                ? `scheduler '${trainer.scheduler.name}' reacts to rewards; OpenRLHF v0.11.0 has no sampler hook ` +
                  "(a fixed --data.prompt_probs, a shuffled dataloader), so its draw cannot be reproduced: export to verl"
                : `scheduler '${trainer.scheduler.name}' reacts to rewards and has no verl sampler port (only ` +
                  "M2RL's adaptive scheduler has one)",
          });
          continue;
        }
        const pool = await adaptivePool(armDomainList, trainer);
        train = pool.tasks.map((t) => exportRow(t, verifierOf(t.domain), chat !== undefined));
        planFile = pool.plan;
      } else {
        const order = await trainerDrawOrder(armDomainList, input, schedulers);
        train = order.flat().map((t) => exportRow(t, verifierOf(t.domain), chat !== undefined));
      }
      // OpenRLHF grades a single-domain arm's eval set through the same domain route: its own domain only
      const evalSet =
        engine === "openrlhf" && arm.kind === "single"
          ? allEval.filter((r) => r.domain === arm.domain)
          : allEval;
      const maxPrompt =
        o.maxPromptLength !== undefined
          ? { tokens: o.maxPromptLength, source: "--max-prompt-length" }
          : await maxPromptTokens([...train, ...evalSet], chat, modelFolder);
      const job: JobInput = {
        armId: arm.id,
        armKind: arm.kind === "single" ? "single" : "mix",
        domains: ids,
        config: trainer,
        evaluation: config.evaluation,
        experiment: { name: config.name, file: resolve(file), seed },
        train,
        eval: evalSet,
        plan: planFile,
        gpus: o.gpus,
        nodes: o.nodes,
        maxPrompt,
        chat: { template: chat !== undefined, variables: chat?.variables ?? {} },
        start,
        serve: serveCommand(config, loaded.baseDir, Object.keys(config.domains)),
      };
      const dir = join(seedRunDir(out, seed, seeds), armFolder(arm.id));
      if (existsSync(dir) && o.force !== true)
        throw new ExportInputError(`${dir} exists: give --force to replace it, or another --out`);
      const manifest =
        engine === "verl"
          ? await writeVerlJob(job, dir, o.force === true)
          : await writeOpenRlhfJob(job, dir, o.force === true);
      jobs.push({ arm: arm.id, seed, dir, manifest });
      const changing = manifest.dropped.filter((d) => d.changesTraining).length;
      log(
        `${arm.id}${seeds.length > 1 ? ` (seed ${seed})` : ""} → ${dir}: ${train.length} train / ${evalSet.length} eval rows, ` +
          `${manifest.mapping.length} options mapped, ${manifest.dropped.length} dropped (${changing} change training)`,
      );
    }
  }
  for (const s of skipped) log(`${s.arm}: not exported: ${s.reason}`);
  await mkdir(out, { recursive: true });
  const keys = engineKeys(engine);
  await writeFile(
    join(out, "manifest.json"),
    `${JSON.stringify(
      {
        format: "m2rl-export/1",
        engine: { name: engine, revision: ENGINE_REVISIONS[engine], commit: keys.commit },
        experiment: { name: config.name, file: resolve(file), seeds },
        jobs: jobs.map((j) => ({
          arm: j.arm,
          seed: j.seed,
          dir: j.dir,
          dropped: j.manifest.dropped.map((d) => d.option),
        })),
        skipped,
      },
      null,
      2,
    )}\n`,
  );
  return { jobs, skipped };
}

/** `m2rl export`: 0 when every arm asked for was written, 2 on bad input, 1 when writing failed. */
export async function exportCommand(file: string, o: ExportOptions): Promise<number> {
  const log = o.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const fail = (line: string) => {
    process.stderr.write(`${line}\n`);
    return 2;
  };
  if (o.engine !== "verl" && o.engine !== "openrlhf")
    return fail(`--engine must be verl or openrlhf, got '${o.engine}'`);
  for (const [k, v] of [
    ["--gpus", o.gpus],
    ["--nodes", o.nodes],
  ] as const)
    if (!Number.isInteger(v) || v < 1) return fail(`${k} must be an integer >= 1, got ${v}`);
  const loaded = await loadExperimentFile(file);
  for (const note of loaded.notes) process.stderr.write(`warning: ${note}\n`);
  for (const p of loaded.problems)
    (p.severity === "error" ? process.stderr : process.stdout).write(`${formatProblem(p)}\n`);
  if (!loaded.config) return 2;
  if (o.arm) {
    const ids = new Set(planExperiment(loaded.config).nodes.map((n) => n.id));
    const unknown = o.arm.filter((a) => !ids.has(a));
    if (unknown.length)
      return fail(`--arm: no arm ${unknown.join(", ")} in ${file} (arms: ${[...ids].join(", ")})`);
  }
  try {
    const summary = await exportJobs(loaded.config, loaded, file, o.engine, { ...o, log });
    if (summary.jobs.length === 0) {
      process.stderr.write("no RL arm to export\n");
      return 2;
    }
    log(
      `wrote ${summary.jobs.length} job folder(s) to ${resolve(o.out)} (manifest.json lists them): each one's ` +
        "README.md says how to serve the rewards, launch, convert and import it",
    );
    return 0;
  } catch (err) {
    if (err instanceof ExportInputError) {
      process.stderr.write(`m2rl export: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`m2rl export: ${(err as Error).message}\n`);
    return 1;
  }
}
