/**
 * The run folder: `runs/<name>/` holds the resolved config, one folder per arm and the report. An arm is finished
 * when its `arm.json` exists with the hash of its inputs; it is written last and atomically (temp + rename), so a
 * crash at any point leaves either a finished arm or one that will be redone (its trainer resumes from `work/`).
 *
 * With several seeds (`seeds:` / `--seeds`) each seed's run has that layout in `runs/<name>/seed-<s>/` (its own
 * config.yaml, run.json, arms/ and report), and `runs/<name>/` holds the experiment's config.yaml, run.json and
 * the report over every seed. One seed is the single-run layout above.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { armFolder } from "./plan.ts";

/** Folder of one seed's run: the output folder itself when `seeds` has one seed, else `<outDir>/seed-<s>`. */
export function seedRunDir(outDir: string, seed: number, seeds: readonly number[]): string {
  return seeds.length > 1 ? join(outDir, `seed-${seed}`) : outDir;
}

/** What a finished arm records about itself. */
export interface ArmRecord {
  id: string;
  kind: string;
  /** Hash of everything the arm's result depends on (its config, the shared config, its deps' hashes). */
  hash: string;
  /** Seconds of wall time spent producing the arm (training or merging), without evaluation. */
  wallSeconds: number;
  /** Seconds spent evaluating it. */
  evalSeconds: number;
  tokensGenerated: number;
  tokensTrained: number;
  flops: number;
  /** Mean reward per domain on the eval split (accuracy for binary rewards). */
  scores: Record<string, number>;
  finishedAt: string;
}

export class RunStore {
  constructor(readonly dir: string) {}

  armDir(id: string): string {
    return join(this.dir, "arms", armFolder(id));
  }

  /** Folder of the arm's policy checkpoint (a Hugging Face-style folder). */
  checkpointDir(id: string): string {
    return join(this.armDir(id), "checkpoint");
  }

  /** Folder where an unfinished arm keeps its resumable state. */
  workDir(id: string): string {
    return join(this.armDir(id), "work");
  }

  async readRecord(id: string): Promise<ArmRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.armDir(id), "arm.json"), "utf8")) as ArmRecord;
    } catch {
      return undefined;
    }
  }

  async writeRecord(record: ArmRecord): Promise<void> {
    await this.writeFileAtomic(
      join(this.armDir(record.id), "arm.json"),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }

  /** Removes an arm's outputs (not its resumable `work/` unless `all`). */
  async clearArm(id: string, all = false): Promise<void> {
    const dir = this.armDir(id);
    await rm(join(dir, "arm.json"), { force: true });
    await rm(join(dir, "checkpoint"), { recursive: true, force: true });
    await rm(join(dir, "eval.json"), { force: true });
    if (all) await rm(dir, { recursive: true, force: true });
  }

  async writeFileAtomic(path: string, text: string): Promise<void> {
    await mkdir(join(path, ".."), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, text);
    await rename(tmp, path);
  }
}
