import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { onAction } from "./action.ts";

export const PRESETS = ["smoke", "default", "paper"] as const;

/** The shipped experiment file of a preset. */
export function presetFile(preset: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/commands or dist/commands → package root/experiments
  return resolve(here, "..", "..", "experiments", `${preset}.yaml`);
}

/** Largest seed (seeds are 32-bit unsigned, as in the experiment schema). */
const MAX_SEED = 4294967295;

/**
 * The seeds of `--seeds 0,1,2`: distinct integers in [0, 2^32 - 1], comma-separated (spaces allowed); a message
 * instead when the list is not that.
 */
export function parseSeeds(text: string): number[] | string {
  const seeds: number[] = [];
  for (const item of text.split(",").map((s) => s.trim())) {
    if (!/^\d+$/.test(item) || Number(item) > MAX_SEED)
      return `--seeds: '${item}' is not a seed (an integer from 0 to ${MAX_SEED}); give a comma-separated list such as 0,1,2`;
    const seed = Number(item);
    if (seeds.includes(seed)) return `--seeds: seed ${seed} is given twice; the seeds must be distinct`;
    seeds.push(seed);
  }
  return seeds;
}

export interface RunOptions {
  preset?: string;
  seeds?: string;
  force?: string[];
  dryRun?: boolean;
  out?: string;
  model?: string;
}

/** `m2rl run [experiment.yaml]`: runs every arm in dependency order, cached and resumable, then the report. */
export function register(program: Command): void {
  const command = program
    .command("run")
    .description(
      "run an experiment end to end (arms in dependency order, cached under runs/<name>/, resumable), then analyse and report; without a file: the built-in experiment",
    )
    .argument("[experiment]", "experiment YAML file (default: the built-in experiment of --preset)")
    .option("--preset <name>", `built-in experiment size: ${PRESETS.join(" | ")}`, "default")
    .option(
      "--model <dir>",
      "model folder for --preset paper (a Hugging Face-style folder, e.g. Qwen2.5-0.5B)",
    )
    .option(
      "--seeds <list>",
      "comma-separated seeds, e.g. 0,1,2: run every arm once per seed (in <out>/seed-<s>/) and report over all of them; overrides the file's seed / seeds",
    )
    .option("--force <arm...>", "redo these arms (and every arm that depends on them)")
    .option("--dry-run", "print the plan (arms, dependencies, cached or not, estimated cost) and exit")
    .option("--out <dir>", "output folder (default: the experiment's `output`, else runs/<name>)");
  onAction(command, async (file: string | undefined, opts: RunOptions) =>
    (await import("./run-impl.ts")).runCommand(file, opts),
  );
}
