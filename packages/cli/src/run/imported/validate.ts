/**
 * The file checks of imported arms and generations, run by `m2rl validate` and `m2rl run` with the other file
 * checks (core takes no fs): each imported checkpoint is a readable model folder whose config.json and safetensors
 * headers match the policy's architecture; each generations file exists and every line reads in its format.
 * Problems are placed at the key that names the folder or file.
 */
import { resolve } from "node:path";
import type { ArmConfig, ExperimentConfig, PathSegment, Problem } from "@m2rl/core";
import { architectureMismatch, checkpointKeyPath, importedCheckpoint } from "./checkpoint.ts";

/** Where an arm's `generations` is written: `arms.single.generations.<d>` or `arms.<id>.generations`. */
export function generationsKeyPath(arm: ArmConfig): PathSegment[] {
  return arm.kind === "single" && arm.source.length === 2 && arm.source[1] === "single"
    ? [...arm.source, "generations", arm.domain]
    : [...arm.source, "generations"];
}

/** True when the experiment imports a checkpoint or generations anywhere. */
export function importsAnything(config: ExperimentConfig): boolean {
  return config.arms.some((a) => importedCheckpoint(a) !== undefined || a.generations !== undefined);
}

/**
 * Problems of the experiment's imported folders and files. `unreadableModelFolder` is the CLI's model folder check
 * (config.json, safetensors files and headers), the one `policy.path` gets.
 */
export async function importProblems(
  config: ExperimentConfig,
  baseDir: string,
  unreadableModelFolder: (dir: string) => Promise<string | undefined>,
): Promise<Problem[]> {
  if (!importsAnything(config)) return [];
  const out: Problem[] = [];
  const policyDir = config.policy.source === "path" ? resolve(baseDir, config.policy.path) : undefined;
  const policyOk = policyDir !== undefined && (await unreadableModelFolder(policyDir)) === undefined;
  for (const arm of config.arms) {
    const cp = importedCheckpoint(arm);
    if (cp !== undefined) {
      const dir = resolve(baseDir, cp);
      const path = checkpointKeyPath(arm);
      const unreadable = await unreadableModelFolder(dir);
      if (unreadable) out.push({ path, message: `imported checkpoint: ${unreadable}` });
      else if (policyOk) {
        const mismatch = await architectureMismatch(dir, policyDir!);
        if (mismatch)
          out.push({
            path,
            message: `imported checkpoint ${cp} is not a fine-tune of the policy: ${mismatch}`,
          });
      }
    }
    if (arm.generations) {
      // the line readers (the verifiers' data helpers) only when the experiment imports generations
      const { readGenerationsFile } = await import("./generations.ts");
      const at = generationsKeyPath(arm);
      const many = arm.generations.files.length > 1;
      for (const [i, file] of arm.generations.files.entries())
        try {
          await readGenerationsFile(file, baseDir, arm.generations.format);
        } catch (e) {
          out.push({ path: many ? [...at, "file", i] : [...at, "file"], message: (e as Error).message });
        }
    }
  }
  return out;
}
