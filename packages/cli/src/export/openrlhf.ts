/**
 * An OpenRLHF job folder (OpenRLHF v0.11.0): data/train.jsonl and data/eval.jsonl (`prompt`: the text, or the
 * chat list when the experiment renders prompts with the model's chat template; `label`: the ground truth;
 * `datasource`: the domain), launch.sh (`python3 -m openrlhf.cli.train_ppo_ray` with every mapped option, its flags
 * checked against the launcher's argparse parser), for a mixed arm the reward function that tells `m2rl serve`
 * each item's domain, manifest.json and README.md.
 */
import { chmod, copyFile, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { atomicDirectory } from "@m2rl/io-node";
import type { ExportRow } from "./arm-data.ts";
import type { JobInput } from "./job.ts";
import { exportPythonDir, launchVariables } from "./job.ts";
import { checkLaunchScript, ENGINE_REVISIONS, engineKeys } from "./keys.ts";
import { JOB_DIR, renderLaunch, shellVar } from "./launch.ts";
import { importSnippet, type JobManifest, renderReadme } from "./manifest.ts";
import { mapOpenRlhfOptions } from "./openrlhf-options.ts";
import { batchWarnings, type ExportContext } from "./options.ts";

export const OPENRLHF_REWARD = "m2rl_openrlhf_reward.py";

/** One JSONL line. A mixed arm's label carries the domain (OpenRLHF posts only query, prompt and label). */
export function openRlhfLine(row: ExportRow, chat: boolean, mixed: boolean): string {
  const label = mixed
    ? JSON.stringify({ domain: row.verifier, ground_truth: row.groundTruth })
    : row.groundTruth;
  return JSON.stringify({ prompt: chat ? row.messages : row.text, label, datasource: row.domain });
}

export async function writeOpenRlhfJob(job: JobInput, dir: string, overwrite: boolean): Promise<JobManifest> {
  if (job.plan) throw new Error("internal: OpenRLHF has no sampler hook for a reward-dependent scheduler");
  const keys = engineKeys("openrlhf");
  const finalDir = resolve(dir);
  const c = job.config;
  const mixed = job.armKind === "mix";
  const verifier = job.serve.domains[job.domains[0]];
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
    mixing: { kind: "order" },
    rows: { train: job.train.length, eval: job.eval.length },
    files: { train: `${JOB_DIR}/data/train.jsonl`, eval: `${JOB_DIR}/data/eval.jsonl` },
    reward: mixed ? `${JOB_DIR}/${OPENRLHF_REWARD}` : `${shellVar("M2RL_REWARD_URL")}/reward/${verifier}`,
  };
  const m = mapOpenRlhfOptions(ctx);
  const script = renderLaunch({
    header: [
      `M2RL arm ${job.armId} of experiment '${job.experiment.name}' as an OpenRLHF job (OpenRLHF ` +
        `${ENGINE_REVISIONS.openrlhf}, ${keys.commit}). Written by m2rl export; see README.md and manifest.json.`,
      "Start `m2rl serve` first (README.md, step 1). Extra flags may follow: ./launch.sh --logger.wandb.key ...",
    ],
    variables: launchVariables(job),
    prelude: ["export M2RL_REWARD_URL"],
    command: keys.launch,
    lines: m.args.map((a) => [a.flag, ...a.values]),
  });
  const check = checkLaunchScript("openrlhf", script);
  if (check.problems.length)
    throw new Error(`internal: the OpenRLHF launch script has invalid flags:\n${check.problems.join("\n")}`);

  const manifest: JobManifest = {
    format: "m2rl-export/1",
    engine: {
      name: "openrlhf",
      revision: ENGINE_REVISIONS.openrlhf,
      commit: keys.commit,
      launch: keys.launch,
      keyList: `packages/cli/src/export/keys/openrlhf-${ENGINE_REVISIONS.openrlhf}.json`,
    },
    experiment: job.experiment,
    arm: {
      id: job.armId,
      kind: job.armKind,
      domains: job.domains,
      seed: c.seed,
      ...(mixed ? { scheduler: { name: c.scheduler.name, options: c.scheduler.options } } : {}),
      startsFrom: job.start,
    },
    cluster: { gpusPerNode: job.gpus, nodes: job.nodes },
    data: {
      train: {
        file: "data/train.jsonl",
        rows: job.train.length,
        order:
          `the prompts M2RL's trainer draws (${c.steps} steps × ${c.promptsPerStep}), written in its order; ` +
          "OpenRLHF shuffles them",
      },
      eval: {
        file: "data/eval.jsonl",
        rows: job.eval.length,
        order: "every domain's eval split as m2rl run evaluates each arm (eval seed 0)",
      },
      maxPromptLength: job.maxPrompt.tokens,
      maxPromptLengthSource: job.maxPrompt.source,
    },
    reward: {
      serve: job.serve.command,
      engine: mixed
        ? `${OPENRLHF_REWARD} (reward_func → POST /reward with each item's domain)`
        : `POST /reward/${verifier} (--reward.remote_url)`,
      domains: job.serve.domains,
    },
    mapping: m.mapped,
    dropped: m.dropped,
    settings: m.settings,
    outputs: {
      hf: "outputs/hf (the final Hugging Face model, --ckpt.output_dir)",
      checkpoints: "outputs/checkpoints (DeepSpeed checkpoints and their HF copies)",
    },
    run: {
      serve: job.serve.command,
      launch: `MODEL_PATH=<HF model> bash ${join(finalDir, "launch.sh")}`,
      convert: `nothing to convert: OpenRLHF writes the Hugging Face model to ${join(finalDir, "outputs/hf")}`,
      import: importSnippet(job.armId, join(finalDir, "outputs/hf")),
    },
    warnings: [
      ...job.serve.warnings,
      ...batchWarnings(c, job.gpus, job.nodes),
      ...(job.nodes > 1 && !mixed
        ? [
            "OpenRLHF posts rewards without a bearer token: run `m2rl serve` on loopback on every node (each " +
              "node's vLLM engines call their own), or export the mixed-arm reward function, which sends " +
              "M2RL_REWARD_TOKEN",
          ]
        : []),
    ],
  };

  await atomicDirectory(
    finalDir,
    async (tmp) => {
      await mkdir(join(tmp, "data"), { recursive: true });
      const lines = (rows: readonly ExportRow[]) =>
        rows.map((r) => `${openRlhfLine(r, job.chat.template, mixed)}\n`).join("");
      await writeFile(join(tmp, "data", "train.jsonl"), lines(job.train));
      await writeFile(join(tmp, "data", "eval.jsonl"), lines(job.eval));
      if (mixed) await copyFile(join(exportPythonDir(), OPENRLHF_REWARD), join(tmp, OPENRLHF_REWARD));
      await writeFile(join(tmp, "launch.sh"), script);
      await chmod(join(tmp, "launch.sh"), 0o755);
      await writeFile(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
      await writeFile(join(tmp, "README.md"), renderReadme(manifest));
    },
    { overwrite, durable: false },
  );
  return manifest;
}
