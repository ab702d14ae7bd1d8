import type { Command } from "commander";
import { onAction } from "./action.ts";

export interface MergeOptions {
  out: string;
  workers?: string;
  overwrite?: boolean;
  progress: boolean;
  fsync: boolean;
  json?: boolean;
  dryRun?: boolean;
  analyze?: boolean;
  /** `--allow-nonfinite`: merge NaN / ±Inf weights (one warning per tensor) instead of failing on the first. */
  allowNonfinite?: boolean;
  /** `--plugin`, in order (repeatable). */
  plugin: string[];
  /** `--memory-budget <size>`: the most the merge's buffers may hold ("512MB", "2GB", bytes). */
  memoryBudget?: string;
}

/**
 * `m2rl merge <config.yaml> --out <dir>`: mergekit-compatible merge, streaming, atomic output. Declares the options
 * only; the implementation (../merge/command.ts) is imported when the command runs and resolves to the exit code:
 * 0, 1 when the merge failed, 2 for a bad config or option.
 */
export function register(program: Command): void {
  const command = program
    .command("merge")
    .description(
      "merge models with a mergekit YAML config (one tensor at a time, sharded safetensors output)",
    )
    .argument(
      "<config>",
      "mergekit YAML: models, base_model, merge_method, parameters, dtype, tokenizer_source",
    )
    .requiredOption(
      "--out <dir>",
      "output folder (written to a temp folder, renamed into place when complete)",
    )
    .option(
      "--workers <n>",
      "worker threads (0 = inline; default 0 with the native merge kernels, else min(4, cores))",
    )
    .option("--overwrite", "replace an existing output folder")
    .option(
      "--memory-budget <size>",
      "the most the merge's buffers may hold at once, e.g. 512MB, 2GB (default 512MB): large tensors are merged in chunks that fit; a tensor that cannot fit is refused before any weight is read",
    )
    .option(
      "--analyze",
      "first print per-tensor update density and sign agreement of the task vectors (needs a base)",
    )
    .option("--dry-run", "pre-flight only: validate the config and the checkpoints' headers, print the plan")
    .option("--no-progress", "no progress bar")
    .option(
      "--no-fsync",
      "skip fsyncs (faster; the folder still appears only when complete, but an OS crash may leave missing data)",
    )
    .option("--json", "print the merge report as JSON")
    .option(
      "--allow-nonfinite",
      "merge NaN / Inf weights as they are, with one warning per tensor (default: the first one fails the merge, naming the file, tensor and index)",
    )
    .option(
      "--plugin <module-or-path>",
      "load a plugin that registers merge methods (repeatable; a path relative to the current folder, or a module name)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
  onAction(command, async (configPath: string, opts: MergeOptions) =>
    (await import("../merge/command.ts")).merge(configPath, opts),
  );
}
