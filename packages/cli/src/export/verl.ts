/**
 * A verl job folder (verl b178a3cd): data/train.parquet and data/eval.parquet (verl rows, snappy), m2rl_reward.py
 * (the stdlib reward shim that posts to `m2rl serve`), for an adaptive mix the curriculum sampler and its plan,
 * launch.sh (`python3 -m verl.trainer.main_ppo` with every mapped option; its keys are checked against verl's
 * composed config before the folder is written), manifest.json and README.md.
 */
import { chmod, copyFile, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { atomicDirectory } from "@m2rl/io-node";
import type { JobInput } from "./job.ts";
import { exportPythonDir, launchVariables, rewardShimFile } from "./job.ts";
import { checkLaunchScript, ENGINE_REVISIONS, engineKeys } from "./keys.ts";
import { JOB_DIR, renderLaunch } from "./launch.ts";
import { importSnippet, type JobManifest, renderReadme } from "./manifest.ts";
import { batchWarnings, type ExportContext } from "./options.ts";
import { verlParquet } from "./parquet.ts";
import { mapVerlOptions, renderVerlArg } from "./verl-options.ts";

export const VERL_SAMPLER = "m2rl_curriculum_sampler.py";

export async function writeVerlJob(job: JobInput, dir: string, overwrite: boolean): Promise<JobManifest> {
  const keys = engineKeys("verl");
  const finalDir = resolve(dir);
  const c = job.config;
  const ctx: ExportContext = {
    armId: job.armId,
    armKind: job.armKind,
    experiment: job.experiment.name,
    config: c,
    evaluation: job.evaluation,
    seed: c.seed,
    gpus: job.gpus,
    nodes: job.nodes,
    maxPromptLength: job.maxPrompt.tokens,
    maxPromptLengthSource: job.maxPrompt.source,
    chat: job.chat,
    mixing: job.plan ? { kind: "sampler", plan: `${JOB_DIR}/mix_plan.json` } : { kind: "order" },
    rows: { train: job.train.length, eval: job.eval.length },
    files: { train: `${JOB_DIR}/data/train.parquet`, eval: `${JOB_DIR}/data/eval.parquet` },
    reward: `${JOB_DIR}/m2rl_reward.py`,
  };
  const m = mapVerlOptions(ctx);
  const script = renderLaunch({
    header: [
      `M2RL arm ${job.armId} of experiment '${job.experiment.name}' as a verl job (verl ${ENGINE_REVISIONS.verl}, ` +
        `${keys.commit}). Written by m2rl export; see README.md and manifest.json.`,
      "Start `m2rl serve` first (README.md, step 1). Extra Hydra overrides may follow: ./launch.sh trainer.logger=[console,wandb]",
    ],
    variables: launchVariables(job),
    prelude: ["export M2RL_REWARD_URL"],
    command: keys.launch,
    lines: m.args.map((a) => [renderVerlArg(a)]),
  });
  const check = checkLaunchScript("verl", script);
  if (check.problems.length)
    throw new Error(`internal: the verl launch script has invalid keys:\n${check.problems.join("\n")}`);

  const lastStep = `outputs/checkpoints/global_step_${c.steps}/actor`;
  const manifest: JobManifest = {
    format: "m2rl-export/1",
    engine: {
      name: "verl",
      revision: ENGINE_REVISIONS.verl,
      commit: keys.commit,
      launch: keys.launch,
      keyList: `packages/cli/src/export/keys/verl-${ENGINE_REVISIONS.verl}.json`,
    },
    experiment: job.experiment,
    arm: {
      id: job.armId,
      kind: job.armKind,
      domains: job.domains,
      seed: c.seed,
      ...(job.armKind === "mix"
        ? { scheduler: { name: c.scheduler.name, options: c.scheduler.options } }
        : {}),
      startsFrom: job.start,
    },
    cluster: { gpusPerNode: job.gpus, nodes: job.nodes },
    data: {
      train: {
        file: "data/train.parquet",
        rows: job.train.length,
        order: job.plan
          ? "each domain's train tasks in the order M2RL's trainer loads them (mix_plan.json gives the rows); the " +
            "sampler draws from them"
          : `M2RL's draw order: ${c.steps} steps × ${c.promptsPerStep} prompts, read in file order (data.shuffle=False)`,
      },
      eval: {
        file: "data/eval.parquet",
        rows: job.eval.length,
        order: "every domain's eval split as m2rl run evaluates each arm (eval seed 0)",
      },
      maxPromptLength: job.maxPrompt.tokens,
      maxPromptLengthSource: job.maxPrompt.source,
      ...(job.plan ? { plan: "mix_plan.json" } : {}),
    },
    reward: {
      serve: job.serve.command,
      engine: "m2rl_reward.py (custom_reward_function)",
      domains: job.serve.domains,
    },
    mapping: m.mapped,
    dropped: m.dropped,
    settings: m.settings,
    outputs: {
      checkpoints: "outputs/checkpoints/global_step_N/actor",
      validation: "outputs/validation/<step>.jsonl (validation generations: input, output, gts, score)",
      hf: "outputs/hf (after the conversion step)",
    },
    run: {
      serve: job.serve.command,
      launch: `MODEL_PATH=<HF model> bash ${join(finalDir, "launch.sh")}`,
      convert:
        `python3 -m verl.model_merger merge --backend fsdp --local_dir ${join(finalDir, lastStep)} ` +
        `--target_dir ${join(finalDir, "outputs/hf")}`,
      import: importSnippet(job.armId, join(finalDir, "outputs/hf")),
    },
    warnings: [...job.serve.warnings, ...batchWarnings(c, job.gpus, job.nodes)],
  };

  await atomicDirectory(
    finalDir,
    async (tmp) => {
      await mkdir(join(tmp, "data"), { recursive: true });
      await writeFile(join(tmp, "data", "train.parquet"), verlParquet(job.train, "train"));
      await writeFile(join(tmp, "data", "eval.parquet"), verlParquet(job.eval, "test"));
      await copyFile(rewardShimFile(), join(tmp, "m2rl_reward.py"));
      if (job.plan) {
        await copyFile(join(exportPythonDir(), VERL_SAMPLER), join(tmp, VERL_SAMPLER));
        await writeFile(join(tmp, "mix_plan.json"), `${JSON.stringify(job.plan, null, 2)}\n`);
      }
      await writeFile(join(tmp, "launch.sh"), script);
      await chmod(join(tmp, "launch.sh"), 0o755);
      await writeFile(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
      await writeFile(join(tmp, "README.md"), renderReadme(manifest));
    },
    { overwrite, durable: false },
  );
  return manifest;
}
