import { readFile } from "node:fs/promises";
import { ConfigError } from "@m2rl/core/errors";
import { type MethodLookup, parseMergeConfig } from "./config/mergekit.ts";
import { planMerge } from "./engine/plan.ts";
import { type MergeReport, type RunOptions, runMerge } from "./engine/run.ts";

/** Reads a mergekit YAML file, plans (pre-flight) and runs the merge. */
export async function mergeFromFile(
  configPath: string,
  options: RunOptions & { lookup?: MethodLookup },
): Promise<MergeReport> {
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch {
    throw new ConfigError("cannot read the merge config", { file: configPath });
  }
  const config = parseMergeConfig(text, configPath, options.lookup);
  const plan = await planMerge(config, { outDir: options.outDir, overwrite: options.overwrite });
  return runMerge(plan, options);
}
