import type { Command } from "commander";
import type { ExportOptions } from "../export/command.ts";
import { onAction } from "./action.ts";

/** The options of `m2rl export` as commander parses them (the export's own, without its log sink). */
export type ExportCommandOptions = Omit<ExportOptions, "log">;

const positive = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 1)
    throw new Error(`not a positive integer: ${v}`);
  return n;
};

/** `m2rl export <experiment> --engine verl|openrlhf --out DIR`: the RL arms as jobs for a distributed engine. */
export function register(program: Command): void {
  const command = program
    .command("export")
    .description(
      "write each RL arm (single:<d>, mix) as a job folder for verl or OpenRLHF: its data in the engine's format and M2RL's order, launch.sh with the mapped options, the reward shim, manifest.json and README.md",
    )
    .argument("<experiment>", "experiment YAML file")
    .requiredOption("--engine <name>", "verl | openrlhf")
    .requiredOption(
      "--out <dir>",
      "folder of the job folders (one per arm, <out>/seed-<s>/ per seed with several)",
    )
    .option("--gpus <n>", "GPUs per node", positive, 8)
    .option("--nodes <n>", "nodes", positive, 1)
    .option(
      "--model <path>",
      "Hugging Face model (folder or hub id) the arms start from: launch.sh's default MODEL_PATH, and the tokenizer that measures the prompts",
    )
    .option("--arm <id...>", "export only these arms")
    .option(
      "--max-prompt-length <n>",
      "the engine's prompt length limit in tokens (default: measured)",
      positive,
    )
    .option("--force", "replace existing job folders");
  onAction(command, async (file: string, o: ExportCommandOptions) =>
    (await import("./export-impl.ts")).exportExperiment(file, o),
  );
}
